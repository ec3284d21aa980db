# Process helpers shared by scripts/demo.sh and scripts/pool.sh (sourced; needs bash).
#
#   stop_tree PID NAME   stop one process we started, and whatever it started: its
#                        descendants are collected first (so that nothing is orphaned),
#                        then TERM, a bounded wait, KILL if need be, and the same for them.

_PROC_WAITFOR=${_PROC_WAITFOR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/waitfor.py}

_proc_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }

stop_tree() {
  local pid=$1 name=$2 kids k i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kids=$(python3 "$_PROC_WAITFOR" descendants "$pid" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    # A zombie still answers kill -0: reap it if it is ours and has exited.
    [[ $(_proc_state "$pid") == Z ]] && break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null && [[ $(_proc_state "$pid") != Z ]]; then
    printf '%s did not stop on TERM; killing it\n' "$name" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for k in $kids; do
    if kill -0 "$k" 2>/dev/null; then
      kill -TERM "$k" 2>/dev/null || true
      sleep 0.2
      kill -KILL "$k" 2>/dev/null || true
    fi
  done
}
