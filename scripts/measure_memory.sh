#!/usr/bin/env bash
# Peak memory of one function process: the release build under `cargo lambda watch --release`,
# against moto with events/seed.json, after init and one invocation (then after 20 more).
# Prints VmHWM (peak resident set) from /proc. Called by `make bench`; needs `make venv`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FUNCTION=${1:-pre-token-generation}
EVENT=${2:-events/pre-token-generation/v2-authentication-member.json}
VENV=$ROOT/.venv
WAIT=(python3 "$ROOT/scripts/waitfor.py")
LOG_DIR=$(mktemp -d)
read -r MOTO_PORT INVOKE_PORT < <("${WAIT[@]}" free-ports 2)

export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$MOTO_PORT TENANT_TABLE=memory-measure
unset AWS_PROFILE AWS_SESSION_TOKEN

MOTO_PID="" WATCH_PID="" FN_PID=""
cleanup() {
  set +e
  [[ -n $WATCH_PID ]] && kill -TERM "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
  [[ -n $FN_PID ]] && kill -TERM "$FN_PID" 2>/dev/null
  [[ -n $MOTO_PID ]] && kill -TERM "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
  rm -rf "$LOG_DIR"
}
trap cleanup EXIT

"$VENV/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$MOTO_PORT" >"$LOG_DIR/moto.log" 2>&1 &
MOTO_PID=$!
"${WAIT[@]}" http "http://127.0.0.1:$MOTO_PORT/moto-api/data.json" 60 "$MOTO_PID"
cargo build -q --release --bin tenantctl --bin "$FUNCTION"
target/release/tenantctl create-table >/dev/null 2>&1
target/release/tenantctl import events/seed.json >/dev/null 2>&1

RUST_LOG=warn "$VENV/bin/cargo-lambda" lambda watch --release --ignore-changes --quiet \
  --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --timeout 30 >"$LOG_DIR/watch.log" 2>&1 &
WATCH_PID=$!
"${WAIT[@]}" tcp 127.0.0.1 "$INVOKE_PORT" 120 "$WATCH_PID"

invoke() {
  "$VENV/bin/cargo-lambda" lambda invoke "$FUNCTION" --invoke-address 127.0.0.1 \
    --invoke-port "$INVOKE_PORT" --data-file "$EVENT" -o json >/dev/null
}
invoke
FN_PID=$(pgrep -f "target/release/$FUNCTION\$" | head -n 1 || true)
[[ -n $FN_PID ]] || { echo "measure_memory: no $FUNCTION process found" >&2; exit 1; }
first=$(awk '/VmHWM/ {print $2}' "/proc/$FN_PID/status")
for _ in $(seq 20); do invoke; done
after=$(awk '/VmHWM/ {print $2}' "/proc/$FN_PID/status")
printf '  %-24s peak RSS (VmHWM): %s kB after init + 1 invocation, %s kB after 21\n' \
  "$FUNCTION" "$first" "$after"
