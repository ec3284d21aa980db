#!/usr/bin/env bash
# A local user pool wired to the three functions (run by `make pool`, which first installs
# .venv and local-pool/node_modules and builds the binaries):
#   moto_server (DynamoDB) -> tenantctl create-table
#   -> cargo lambda watch (the three functions)
#   -> local-pool/lambda-adapter.js (Lambda's Invoke API: function errors as Lambda answers them)
#   -> cognito-local (the Cognito emulator) calling the triggers through the adapter
#   -> localpool create: a user pool + app clients from local-pool/pool.template.json
#   -> tenantctl import of that pool's directory
# then prints what was created and how to use it, and runs until Ctrl-C; everything started
# here is stopped on exit. Files and logs: .pool/ (gitignored), rebuilt on every run.
#
# Environment (all optional): POOL_PORT (the emulator's port, default 9229), POOL_TEMPLATE
# (default local-pool/pool.template.json), TENANT_TABLE, CACHE_TTL_SECONDS (default 5, so that
# a suspension shows quickly), GROUPS_MODE, NO_TENANT_POLICY, RUST_LOG (for the functions),
# POOL_READY_TIMEOUT (s, default 120), NODE (default node).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
POOL_DIR=$ROOT/.pool
EMULATOR_DIR=$POOL_DIR/emulator
TEMPLATE=${POOL_TEMPLATE:-$ROOT/local-pool/pool.template.json}
POOL_PORT=${POOL_PORT:-9229}
READY_TIMEOUT=${POOL_READY_TIMEOUT:-120}
NODE=${NODE:-node}
WAIT_PY=(python3 "$ROOT/scripts/waitfor.py")
SUM_PY=(python3 "$ROOT/scripts/summarize.py")
EMULATOR_JS=$ROOT/local-pool/node_modules/cognito-local/lib/bin/start.js

say() { printf '%s\n' "$*"; }
die() { printf 'pool: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/proc.sh
source "$ROOT/scripts/proc.sh"

MOTO_PID="" WATCH_PID="" ADAPTER_PID="" EMULATOR_PID=""
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  say ""
  say "==> stopping"
  stop_tree "$EMULATOR_PID" "cognito-local"
  stop_tree "$ADAPTER_PID" "lambda-adapter"
  stop_tree "$WATCH_PID" "cargo lambda watch"
  stop_tree "$MOTO_PID" "moto_server"
  say "Logs: .pool/ (emulator.log: cognito-local, with the codes it sends; adapter.log and"
  say "      journal.jsonl: each trigger invocation and the function's answer; watch.log: the"
  say "      functions' logs; moto.log; tenantctl.log)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
# Each service runs in a session of its own (setsid), so that Ctrl-C reaches this script
# only, whose cleanup then stops them in order, rather than all of them at once.

# ------------------------------------------------------------------ prerequisites
[[ -x $VENV/bin/moto_server && -x $VENV/bin/cargo-lambda ]] \
  || die "$VENV lacks moto_server/cargo-lambda: run 'make venv' (or 'make pool')"
command -v "$NODE" >/dev/null || die "Node.js is required (node): the emulator, cognito-local, runs on it"
[[ -f $EMULATOR_JS ]] || die "no cognito-local in local-pool/node_modules: run 'make pool-deps' (or 'make pool')"
[[ -f $TEMPLATE ]] || die "no pool template at $TEMPLATE"
export PATH="$VENV/bin:$PATH"

cargo build --workspace --bins --quiet || die "cargo build failed"
META=$(cargo metadata --no-deps --format-version 1) || die "cargo metadata failed"
BIN_DIR=$("${SUM_PY[@]}" target-dir <<<"$META")/debug
for b in tenantctl localpool pre-signup post-confirmation pre-token-generation; do
  [[ -x $BIN_DIR/$b ]] || die "no $BIN_DIR/$b: run 'make build'"
done
TENANTCTL=$BIN_DIR/tenantctl
LOCALPOOL=$BIN_DIR/localpool

# Free unless something listens there (connections of an earlier run in TIME_WAIT do not count).
python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
except OSError:
    sys.exit(1)' "$POOL_PORT" \
  || die "port $POOL_PORT is taken (another make pool?): set POOL_PORT to a free port"
read -r MOTO_PORT INVOKE_PORT ADAPTER_PORT < <("${WAIT_PY[@]}" free-ports 3)
[[ -n ${ADAPTER_PORT:-} ]] || die "could not find free loopback ports"

rm -rf "$POOL_DIR"
mkdir -p "$EMULATOR_DIR"

# ------------------------------------------------------------------ environment
# Local only: dummy credentials, no instance metadata lookups, DynamoDB on loopback.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$MOTO_PORT
export TENANT_TABLE=${TENANT_TABLE:-tenant-directory-local}
export CACHE_TTL_SECONDS=${CACHE_TTL_SECONDS:-5}
export GROUPS_MODE=${GROUPS_MODE:-replace}
export NO_TENANT_POLICY=${NO_TENANT_POLICY:-deny}
export RUST_LOG=${RUST_LOG:-info}
ENDPOINT=http://127.0.0.1:$POOL_PORT

# ------------------------------------------------------------------ DynamoDB (moto)
say "==> moto_server (DynamoDB) on 127.0.0.1:$MOTO_PORT"
setsid "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" >"$POOL_DIR/moto.log" 2>&1 &
MOTO_PID=$!
"${WAIT_PY[@]}" http "http://127.0.0.1:$MOTO_PORT/moto-api/data.json" "$READY_TIMEOUT" "$MOTO_PID" \
  || { tail -n 20 "$POOL_DIR/moto.log" >&2; die "moto_server not ready within ${READY_TIMEOUT}s"; }
"$TENANTCTL" create-table >>"$POOL_DIR/tenantctl.log" 2>&1 \
  || { tail -n 20 "$POOL_DIR/tenantctl.log" >&2; die "tenantctl create-table failed"; }

# ------------------------------------------------------------------ the functions
say "==> cargo lambda watch (pre-signup, post-confirmation, pre-token-generation) on 127.0.0.1:$INVOKE_PORT"
# The functions' environment, in a file (cargo lambda splits --env-var at commas).
FN_ENV=$POOL_DIR/functions.env
for v in TENANT_TABLE CACHE_TTL_SECONDS GROUPS_MODE NO_TENANT_POLICY RUST_LOG AWS_REGION \
  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED AWS_ENDPOINT_URL_DYNAMODB \
  AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE; do
  val=${!v//\\/\\\\}
  printf '%s="%s"\n' "$v" "${val//\"/\\\"}"
done >"$FN_ENV"
RUST_LOG=warn setsid cargo lambda watch --ignore-changes --quiet --env-file "$FN_ENV" \
  --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" >"$POOL_DIR/watch.log" 2>&1 &
WATCH_PID=$!
"${WAIT_PY[@]}" tcp 127.0.0.1 "$INVOKE_PORT" "$READY_TIMEOUT" "$WATCH_PID" \
  || { tail -n 20 "$POOL_DIR/watch.log" >&2; die "cargo lambda watch not ready within ${READY_TIMEOUT}s"; }
# Start each function now (an empty event is refused as INVALID_EVENT), so that the first
# sign-up does not wait for one.
for f in pre-signup post-confirmation pre-token-generation; do
  timeout "$READY_TIMEOUT" cargo lambda invoke "$f" --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
    --data-ascii '{}' >/dev/null 2>&1 || true
done

# ------------------------------------------------------------------ the Lambda adapter
say "==> lambda-adapter (Lambda's Invoke API in front of cargo lambda watch) on 127.0.0.1:$ADAPTER_PORT"
setsid "$NODE" "$ROOT/local-pool/lambda-adapter.js" --upstream "http://127.0.0.1:$INVOKE_PORT" \
  --listen "127.0.0.1:$ADAPTER_PORT" --journal "$POOL_DIR/journal.jsonl" >"$POOL_DIR/adapter.log" 2>&1 &
ADAPTER_PID=$!
"${WAIT_PY[@]}" tcp 127.0.0.1 "$ADAPTER_PORT" "$READY_TIMEOUT" "$ADAPTER_PID" \
  || { tail -n 20 "$POOL_DIR/adapter.log" >&2; die "lambda-adapter not ready"; }

# ------------------------------------------------------------------ the emulator
say "==> cognito-local (the Cognito emulator) on $ENDPOINT"
"$LOCALPOOL" emulator-config --emulator-dir "$EMULATOR_DIR" \
  --lambda-endpoint "http://127.0.0.1:$ADAPTER_PORT" --endpoint "$ENDPOINT" >/dev/null
(cd "$EMULATOR_DIR" && exec setsid env HOST=127.0.0.1 PORT="$POOL_PORT" AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1 \
  "$NODE" "$EMULATOR_JS") >"$POOL_DIR/emulator.log" 2>&1 &
EMULATOR_PID=$!
"${WAIT_PY[@]}" http "$ENDPOINT/health" "$READY_TIMEOUT" "$EMULATOR_PID" \
  || { tail -n 20 "$POOL_DIR/emulator.log" >&2; die "cognito-local not ready within ${READY_TIMEOUT}s"; }

# ------------------------------------------------------------------ the pool and its directory
say "==> user pool and app clients (${TEMPLATE#"$ROOT"/}), and its directory (tenantctl import)"
say ""
export LOCALPOOL_STATE=$POOL_DIR/pool.json
"$LOCALPOOL" create --endpoint "$ENDPOINT" --emulator-dir "$EMULATOR_DIR" \
  --template "$TEMPLATE" --directory-out "$POOL_DIR/directory.json" \
  || die "localpool create failed (see .pool/emulator.log)"
if ! "$TENANTCTL" import "$POOL_DIR/directory.json" >>"$POOL_DIR/tenantctl.log" 2>&1; then
  tail -n 20 "$POOL_DIR/tenantctl.log" >&2
  die "tenantctl import failed"
fi
say ""
say "directory imported (.pool/directory.json):"
"${SUM_PY[@]}" directory "$POOL_DIR/directory.json" "$POOL_DIR/pool.json"

# For the other shell: the binaries on PATH, the pool's state, tenantctl's table.
cat >"$POOL_DIR/env.sh" <<EOF
# source .pool/env.sh: localpool and tenantctl against the pool of \`make pool\`
export PATH="$BIN_DIR:\$PATH"
export LOCALPOOL_STATE="$POOL_DIR/pool.json"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ENDPOINT_URL_DYNAMODB="$AWS_ENDPOINT_URL_DYNAMODB" TENANT_TABLE="$TENANT_TABLE"
EOF

cat <<EOF

The pool is up (functions: CACHE_TTL_SECONDS=$CACHE_TTL_SECONDS, GROUPS_MODE=$GROUPS_MODE). In another shell:

  source .pool/env.sh
  localpool sign-up jane@acme.example --password 'Passw0rd!' -a name=Jane   # domain route: acme
  localpool confirm jane@acme.example          # the code the emulator emailed
  localpool sign-in jane@acme.example --password 'Passw0rd!'   # verified tokens, claims shown
  localpool refresh jane@acme.example
  localpool sign-up pat@example.net --password 'Passw0rd!' --client initech-web   # suspended tenant

Or point an app at it: Cognito endpoint $ENDPOINT, region us-east-1, the pool and app
client ids above. Invocations and the functions' answers: tail -f .pool/adapter.log
(walk-through: README.md, "A local user pool").

Running until Ctrl-C.
EOF

# Until Ctrl-C, or until one of them stops by itself.
set +e
wait -n "$MOTO_PID" "$WATCH_PID" "$ADAPTER_PID" "$EMULATOR_PID"
rc=$?
set -e
for p in MOTO_PID WATCH_PID ADAPTER_PID EMULATOR_PID; do
  if ! kill -0 "${!p}" 2>/dev/null || [[ $(awk '{print $3}' "/proc/${!p}/stat" 2>/dev/null) == Z ]]; then
    say "pool: ${p%_PID} stopped by itself (exit $rc); see .pool/" >&2
  fi
done
exit 1
