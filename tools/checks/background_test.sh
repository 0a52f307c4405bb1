#!/usr/bin/env bash
# The check's background job (tools/checks/background.sh), against real processes: a step's
# log and exit status reach the foreground, a failed step fails its await, the job runs in the
# idle scheduling class, and stopping it kills what it started, so a later step reports that
# it never ran instead of waiting forever.
set -euo pipefail
ROOT="$1"
# shellcheck disable=SC1091  # sourced from the tree under test
source "$ROOT/tools/checks/common.sh"
# shellcheck disable=SC1091
source "$ROOT/tools/checks/background.sh"
export BACKGROUND_POLL_SECONDS=0.1

work="$(mktemp -d)"
trap 'stop_background; rm -rf "$work"' EXIT
failures=0
expect() {  # expect DESCRIPTION COMMAND...: the command must succeed
  local what="$1"
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; failures=$((failures + 1)); fi
}

steps() {
  run_recorded "$BACKGROUND" passes sh -c 'echo built'
  run_recorded "$BACKGROUND" fails sh -c 'echo "error: the build broke"; exit 3'
  run_recorded "$BACKGROUND" policy sh -c 'chrt -p $$'
  # shellcheck disable=SC2016  # $$ and $0 are the step's own
  run_recorded "$BACKGROUND" slow sh -c 'echo $$ > "$0"; exec sleep 60' "$work/slow.pid"
  run_recorded "$BACKGROUND" never-reached true
}
start_background "$work/job" steps

rc=0
out="$(await_background passes)" || rc=$?
expect "a step that passed passes its await" [ "$rc" -eq 0 ]
expect "its log is printed" grep -q built <<<"$out"

rc=0
out="$(await_background fails)" || rc=$?
expect "a step that failed fails its await" [ "$rc" -ne 0 ]
expect "its log is printed" grep -q "the build broke" <<<"$out"

out="$(await_background policy)"
expect "the job's steps run in the idle scheduling class" grep -q SCHED_IDLE <<<"$out"

until [ -s "$work/slow.pid" ]; do sleep 0.1; done
slow_pid="$(cat "$work/slow.pid")"
stop_background
for _ in $(seq 50); do kill -0 "$slow_pid" 2>/dev/null || break; sleep 0.1; done
expect "stopping the job kills the step it was running" bash -c "! kill -0 $slow_pid 2>/dev/null"

rc=0
out="$(await_background never-reached 2>&1)" || rc=$?
expect "a step the stopped job never ran fails its await" [ "$rc" -ne 0 ]
expect "and says it never ran" grep -q "ended before it ran" <<<"$out"

[ "$failures" -eq 0 ]
