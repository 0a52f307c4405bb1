# One background job of steps for `tools/dev check`; sourced, not run (with common.sh).
# The job runs in the idle scheduling class, so the timed runs in the foreground take a CPU from
# it the moment they wake. Each step leaves its log and exit status in the job's folder
# (run_recorded); the foreground awaits a step by name, and a check cut short kills the job.
# Tested by tools/checks/background_test.sh.

BACKGROUND=""
BACKGROUND_PID=""

# start_background DIR COMMAND...: runs COMMAND (which calls run_recorded "$BACKGROUND" per
# step) in a background job in the idle class, with DIR emptied for its logs.
start_background() {
  BACKGROUND="$1"
  shift
  rm -rf "$BACKGROUND"
  mkdir -p "$BACKGROUND"
  (
    chrt --idle -p 0 "$BASHPID" >/dev/null  # and so every process this job starts
    "$@"
  ) &
  BACKGROUND_PID=$!
}

kill_tree() {
  local child
  for child in $(pgrep -P "$1"); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

# stop_background: kills the job and every process it started (for an EXIT trap).
stop_background() {
  [ -n "$BACKGROUND_PID" ] && kill_tree "$BACKGROUND_PID"
  BACKGROUND_PID=""
}

# await_background STEP: waits until the background STEP has ended, prints its log and exits as
# it did; fails, saying so, if the job ended without running STEP.
await_background() {
  local step="$1"
  echo "waiting for the background step $step"
  until [ -f "$BACKGROUND/$step.rc" ]; do
    if [ -z "$BACKGROUND_PID" ] || ! kill -0 "$BACKGROUND_PID" 2>/dev/null; then
      [ -f "$BACKGROUND/$step.rc" ] && break
      echo "$step: its background job ended before it ran" >&2
      return 1
    fi
    sleep "${BACKGROUND_POLL_SECONDS:-2}"
  done
  cat "$BACKGROUND/$step.log"
  recorded_ok "$BACKGROUND" "$step"
}

# finish_background: waits for the whole job to end.
finish_background() {
  [ -n "$BACKGROUND_PID" ] && wait "$BACKGROUND_PID"
  BACKGROUND_PID=""
}
