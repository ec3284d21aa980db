#!/usr/bin/env bash
# `make fuzz`: each fuzz target (fuzz/, nightly, cargo-fuzz) for FUZZ_SECONDS over raw bytes,
# seeded with events/ and the kept corpus; then the property tests with PROPTEST_SCALE times
# their default cases (over a million in all by default). Prints executions, rates, findings
# and cases; exits non-zero if any target crashed or any property failed.
#
# Inputs that reached new code are merged into fuzz/corpus/<target>/, keeping the JSON objects
# only (review and commit them: `make test` replays that corpus). A crash is left in fuzz/artifacts/<target>/: turn it into
# an event with its expected answer under events/ (and a regression input under
# fuzz/regressions/<target>/), then fix it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-600}
PROPTEST_SCALE=${PROPTEST_SCALE:-400}
NIGHTLY=${NIGHTLY:-+nightly}
PROPS_PROFILE=${PROPS_PROFILE:-props}
export PATH="$PWD/.tools/bin:$PATH"

targets=(pre_signup:pre-signup post_confirmation:post-confirmation pre_token_generation:pre-token-generation)
logs=target/fuzz/logs
mkdir -p "$logs"
python3 scripts/fuzz_dict.py >target/fuzz/json.dict

stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

crashed=()
rows=()
for t in "${targets[@]}"; do
  target=${t%%:*}
  function=${t##*:}
  work=target/fuzz/corpus/$target
  mkdir -p "$work" "fuzz/corpus/$target"
  echo "==> fuzzing $target for ${FUZZ_SECONDS} s (log: $logs/$target.log)"
  status=held
  # -s none: the code is safe Rust, so AddressSanitizer would only slow it down; -a: debug
  # assertions (integer overflow) on.
  if ! cargo "$NIGHTLY" fuzz run -s none -a "$target" "$work" "fuzz/corpus/$target" "events/$function" -- \
      -max_total_time="$FUZZ_SECONDS" -dict=target/fuzz/json.dict -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 >"$logs/$target.log" 2>&1; then
    status=CRASHED
    crashed+=("$target")
    grep -E "Test unit written to|panicked at|ERROR" "$logs/$target.log" | head -5 || true
  fi
  before=$(find "fuzz/corpus/$target" -type f | wc -l)
  cargo "$NIGHTLY" fuzz run -s none -a "$target" "fuzz/corpus/$target" "$work" -- -merge=1 \
    >"$logs/$target.merge.log" 2>&1 || true
  python3 scripts/fuzz_prune.py "fuzz/corpus/$target"
  after=$(find "fuzz/corpus/$target" -type f | wc -l)
  rows+=("$(printf '%-22s %6s s %12s %10s/s %8s %8s  %s' "$target" "$FUZZ_SECONDS" \
    "$(stat number_of_executed_units "$logs/$target.log")" \
    "$(stat average_exec_per_sec "$logs/$target.log")" \
    "$(stat new_units_added "$logs/$target.log")" "+$((after - before))" "$status")")
done

echo "==> property tests, ${PROPTEST_SCALE}x their default cases (profile $PROPS_PROFILE)"
PROPTEST_SCALE=$PROPTEST_SCALE cargo test --profile "$PROPS_PROFILE" -p tenant-lookup --test properties \
  -- --nocapture 2>&1 | tee "$logs/properties.log" | grep -E "cases held|failed|panicked" || true
props_ok=$(grep -c "^test result: ok" "$logs/properties.log" || true)

echo
echo "fuzz targets (raw bytes; executions, rate, units the fuzzer kept, added to fuzz/corpus):"
printf '  %-22s %8s %12s %12s %8s %8s  %s\n' target time executions rate units corpus result
for r in "${rows[@]}"; do echo "  $r"; done
echo
echo "property tests:"
sed -n 's/^property \(.*\): \([0-9]*\) cases held.*/  \2  \1/p' "$logs/properties.log"
total=$(sed -n 's/^property .*: \([0-9]*\) cases held.*/\1/p' "$logs/properties.log" | awk '{s += $1} END {print s}')
echo "  ${total:-0}  cases in all"

if ((${#crashed[@]})); then
  echo "crashes in: ${crashed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
if [[ $props_ok != 1 ]]; then
  echo "a property failed: see $logs/properties.log" >&2
  exit 1
fi
