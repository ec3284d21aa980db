#!/usr/bin/env bash
# Local end-to-end demo (run by `make demo`, which first installs .venv and builds the binaries):
#   moto_server (DynamoDB stand-in) on a free loopback port
#   -> tenantctl create-table + import events/seed.json
#   -> cargo lambda watch (the three functions, on a free loopback invoke port)
#   -> cargo lambda invoke for every events/<function>/<event>.json, with a short summary
#      per event, compared with <event>.expected.json, why it got that answer (tenantctl
#      explain: the sources consulted and the rule that decided), and the directory changes.
# Everything started here is stopped on exit. Logs: .demo/ (gitignored).
#
# Environment (all optional): TENANT_TABLE, CACHE_TTL_SECONDS, GROUPS_MODE, NO_TENANT_POLICY,
# RUST_LOG (passed to the functions); DEMO_EVENTS_DIR (default events/);
# DEMO_RESET=event (default: every event starts from events/seed.json, as the golden
# .expected.json files assume) or never (one cumulative run: later events see earlier writes);
# DEMO_READY_TIMEOUT (s, default 60), DEMO_INVOKE_TIMEOUT (s per invocation, default 30),
# DEMO_WATCH_LOG (cargo lambda's own log filter, default warn),
# DEMO_STRICT=1 (exit 1 when an answer differs from its .expected.json or a function fails).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV=${VENV:-$ROOT/.venv}
DEMO_DIR=$ROOT/.demo
EVENTS_DIR=${DEMO_EVENTS_DIR:-$ROOT/events}
SEED=$EVENTS_DIR/seed.json
RESET=${DEMO_RESET:-event}
[[ $RESET == event || $RESET == never ]] || { echo "demo: DEMO_RESET must be event or never" >&2; exit 2; }
READY_TIMEOUT=${DEMO_READY_TIMEOUT:-60}
INVOKE_TIMEOUT=${DEMO_INVOKE_TIMEOUT:-30}
HELP_PY=(python3 "$ROOT/scripts/waitfor.py")
SUM_PY=(python3 "$ROOT/scripts/summarize.py")
# Lifecycle order first; any other function folder afterwards, alphabetically.
ORDER=(pre-signup post-confirmation pre-token-generation)

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

MOTO_PID=""
WATCH_PID=""
INVOKE_PID=""

# stop_tree PID NAME: TERM (then KILL) one process we started and whatever it started.
# shellcheck source=scripts/proc.sh
source "$ROOT/scripts/proc.sh"

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  stop_tree "$INVOKE_PID" "cargo lambda invoke"
  stop_tree "$WATCH_PID" "cargo lambda watch"
  stop_tree "$MOTO_PID" "moto_server"
  say ""
  say "Logs: ${DEMO_DIR#"$ROOT"/}/ (watch.log: the functions' logs; functions.env; moto.log; tenantctl.log;"
  say "      invoke/<function>/<event>.json answers, .stderr.log, .diff; directory-*.json exports)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ prerequisites
[[ -x $VENV/bin/moto_server && -x $VENV/bin/cargo-lambda ]] \
  || die "$VENV lacks moto_server/cargo-lambda: run 'make venv' (or 'make demo')"
[[ -f $SEED ]] || die "no seed directory document at ${SEED#"$ROOT"/}"
command -v timeout >/dev/null || die "coreutils 'timeout' is required"
export PATH="$VENV/bin:$PATH" # `cargo lambda` = .venv/bin/cargo-lambda

# `make demo` has built them already; this makes the script work on its own too (a no-op
# when up to date), and spares the first invocations a compile inside `cargo lambda watch`.
cargo build --workspace --bins --quiet || die "cargo build failed"
META=$(cargo metadata --no-deps --format-version 1) || die "cargo metadata failed"
TARGET_DIR=$("${SUM_PY[@]}" target-dir <<<"$META")
mapfile -t BINS < <("${SUM_PY[@]}" bins <<<"$META")
TENANTCTL=$TARGET_DIR/debug/tenantctl
[[ -x $TENANTCTL ]] || die "no $TENANTCTL: run 'make build' (or 'make demo')"

has_bin() {
  local b
  for b in "${BINS[@]}"; do [[ $b == "$1" ]] && return 0; done
  return 1
}

rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR/invoke"
TALLY=$DEMO_DIR/tally.tsv
: >"$TALLY"

read -r MOTO_PORT INVOKE_PORT < <("${HELP_PY[@]}" free-ports 2)
[[ -n ${INVOKE_PORT:-} ]] || die "could not find free loopback ports"

# ------------------------------------------------------------------ environment
# Local only: dummy credentials, no instance metadata lookups, DynamoDB on loopback.
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=demo
export AWS_SECRET_ACCESS_KEY=demo
unset AWS_SESSION_TOKEN AWS_PROFILE
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$MOTO_PORT
export TENANT_TABLE=${TENANT_TABLE:-tenant-directory-demo}
export CACHE_TTL_SECONDS=${CACHE_TTL_SECONDS:-60}
export GROUPS_MODE=${GROUPS_MODE:-replace}
export NO_TENANT_POLICY=${NO_TENANT_POLICY:-deny}
export RUST_LOG=${RUST_LOG:-info}

# ------------------------------------------------------------------ DynamoDB (moto)
say "==> moto_server on 127.0.0.1:$MOTO_PORT"
# One request at a time: moto's transactions are otherwise not isolated (scripts/moto_server.py).
"$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$MOTO_PORT" >"$DEMO_DIR/moto.log" 2>&1 &
MOTO_PID=$!
"${HELP_PY[@]}" http "http://127.0.0.1:$MOTO_PORT/moto-api/data.json" "$READY_TIMEOUT" "$MOTO_PID" \
  || { tail -n 20 "$DEMO_DIR/moto.log" >&2; die "moto_server not ready within ${READY_TIMEOUT}s"; }

tenantctl() {
  say "\$ tenantctl $*" >>"$DEMO_DIR/tenantctl.log"
  "$TENANTCTL" "$@" 2>>"$DEMO_DIR/tenantctl.log"
}

seed_directory() {
  if ! tenantctl create-table >>"$DEMO_DIR/tenantctl.log" \
    || ! tenantctl import "$SEED" >>"$DEMO_DIR/tenantctl.log"; then
    tail -n 20 "$DEMO_DIR/tenantctl.log" >&2
    die "tenantctl create-table/import failed"
  fi
}

# Back to the seed: moto forgets everything (POST /moto-api/reset), then create + import.
reseed_directory() {
  say "\$ (moto reset)" >>"$DEMO_DIR/tenantctl.log"
  "${HELP_PY[@]}" post "http://127.0.0.1:$MOTO_PORT/moto-api/reset" || die "moto reset failed"
  seed_directory
}

SNAP=0
SNAP_FILE=""
snapshot() { # export the directory to the next numbered file, named in SNAP_FILE
  SNAP_FILE=$(printf '%s/directory-%02d-%s.json' "$DEMO_DIR" "$SNAP" "$1")
  SNAP=$((SNAP + 1))
  tenantctl export --with-counts >"$SNAP_FILE" || say "demo: tenantctl export failed (see tenantctl.log)" >&2
}

say "==> tenantctl create-table ($TENANT_TABLE) and import ${SEED#"$ROOT"/}"
seed_directory
snapshot seeded
SEEDED=$SNAP_FILE
LAST=$SEEDED
WRITES=$DEMO_DIR/writes.tsv
: >"$WRITES"

# ------------------------------------------------------------------ functions (cargo lambda watch)
say "==> cargo lambda watch on 127.0.0.1:$INVOKE_PORT"
# The functions' environment, in a file (quoted: cargo lambda splits --env-var at commas,
# and RUST_LOG filters have commas). RUST_LOG in the process environment is then only
# cargo lambda's own log filter.
FN_ENV=$DEMO_DIR/functions.env
for v in TENANT_TABLE CACHE_TTL_SECONDS GROUPS_MODE NO_TENANT_POLICY RUST_LOG AWS_REGION \
  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_EC2_METADATA_DISABLED AWS_ENDPOINT_URL_DYNAMODB \
  AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE; do
  val=${!v//\\/\\\\}
  printf '%s="%s"\n' "$v" "${val//\"/\\\"}"
done >"$FN_ENV"
start_ns=$(date +%s%N)
RUST_LOG=${DEMO_WATCH_LOG:-warn} cargo lambda watch --ignore-changes --quiet --env-file "$FN_ENV" \
  --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --timeout "$INVOKE_TIMEOUT" \
  >"$DEMO_DIR/watch.log" 2>&1 &
WATCH_PID=$!
"${HELP_PY[@]}" tcp 127.0.0.1 "$INVOKE_PORT" "$READY_TIMEOUT" "$WATCH_PID" \
  || { tail -n 20 "$DEMO_DIR/watch.log" >&2; die "cargo lambda watch not ready within ${READY_TIMEOUT}s"; }
say "    ready after $(( ($(date +%s%N) - start_ns) / 1000000 )) ms"

# ------------------------------------------------------------------ events
FUNCS=()
for f in "${ORDER[@]}"; do [[ -d $EVENTS_DIR/$f ]] && FUNCS+=("$f"); done
shopt -s nullglob
for d in "$EVENTS_DIR"/*/; do
  f=$(basename "$d")
  [[ " ${ORDER[*]} " == *" $f "* ]] || FUNCS+=("$f")
done
shopt -u nullglob
[[ ${#FUNCS[@]} -gt 0 ]] || say "demo: no events/<function>/ folders yet" >&2

for fn in "${FUNCS[@]+"${FUNCS[@]}"}"; do
  say ""
  if ! has_bin "$fn"; then
    say "== $fn: skipped (no binary '$fn' in the workspace yet)"
    continue
  fi
  say "== $fn"
  mkdir -p "$DEMO_DIR/invoke/$fn"
  shopt -s nullglob
  events=("$EVENTS_DIR/$fn"/*.json)
  shopt -u nullglob
  for ev in "${events[@]}"; do
    [[ $ev == *.expected.json ]] && continue
    name=$(basename "$ev" .json)
    out=$DEMO_DIR/invoke/$fn/$name.json
    err=$DEMO_DIR/invoke/$fn/$name.stderr.log
    why=$DEMO_DIR/invoke/$fn/$name.explain.json
    # Why: the function's own decision code against the directory as the event finds it,
    # writing nothing (tenantctl explain), before the event is sent.
    tenantctl explain --json --function "$fn" "$ev" >"$why" || : >"$why"
    rc=0
    # -v logs the function's error document verbatim, to stdout (the summary reads it
    # from there); RUST_LOG, meant for the functions, would override -v, hence env -u.
    # (In the background plus `wait`, so that Ctrl-C / TERM stop the demo at once.)
    timeout "$((INVOKE_TIMEOUT + 15))" env -u RUST_LOG cargo lambda invoke "$fn" -v --color never \
      --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" \
      --data-file "$ev" --output-format json >"$out" 2>"$err" &
    INVOKE_PID=$!
    wait "$INVOKE_PID" || rc=$?
    INVOKE_PID=""
    src=0
    "${SUM_PY[@]}" invoke "$fn" "$ev" "$out" "$err" "$rc" "$TALLY" "$why" || src=$?
    # What did this event write? (post confirmation provisions; pre token generation may
    # provision on a first token; pre sign-up must write nothing.)
    snapshot "$fn-$name"
    if cmp -s "$LAST" "$SNAP_FILE"; then
      rm -f "$SNAP_FILE"
      if [[ $fn == post-confirmation ]]; then "${SUM_PY[@]}" delta "$LAST" "$LAST"; fi
    else
      "${SUM_PY[@]}" delta "$LAST" "$SNAP_FILE"
      printf '%s\t%s\t%s\t%s\n' "$fn" "$name" "$LAST" "$SNAP_FILE" >>"$WRITES"
      if [[ $RESET == event ]]; then
        reseed_directory
      else
        LAST=$SNAP_FILE
      fi
    fi
    if ((src == 3)); then
      say "  (no answer from $fn: skipping its other events)"
      break
    fi
  done
done

# ------------------------------------------------------------------ directory before/after
say ""
if [[ $RESET == event ]]; then
  say "== directory writes (tenantctl export before -> after; every event started from ${SEED#"$ROOT"/})"
  if [[ ! -s $WRITES ]]; then
    say "  none"
  fi
  while IFS=$'\t' read -r wfn wname wbefore wafter; do
    say "  $wfn/$wname: ${wbefore#"$ROOT"/} -> ${wafter#"$ROOT"/}"
    "${SUM_PY[@]}" delta "$wbefore" "$wafter"
  done <"$WRITES"
  say ""
  say "  seeded directory (${SEEDED#"$ROOT"/}):"
  "${SUM_PY[@]}" overview "$SEEDED" "$SEEDED"
else
  say "== directory: seeded -> after all events (tenantctl export: ${SEEDED#"$ROOT"/} -> ${LAST#"$ROOT"/})"
  "${SUM_PY[@]}" overview "$SEEDED" "$LAST"
fi
say ""
"${SUM_PY[@]}" totals "$TALLY"
