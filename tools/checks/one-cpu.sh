#!/usr/bin/env bash
# The integration and security suites again with every process on one CPU (taskset): there the
# supervisor holds back the Finish and Release messages it sends a worker until its next message
# (worker/worker_handle), a path two cores never take. Real runs, real hostile plugins.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="$(cd "${BUILD:-build}" && pwd)"
cpu="$(taskset -pc $$ | sed 's/.*: *//; s/[,-].*//')"  # the first CPU this shell may use
echo "one-cpu: running on CPU $cpu alone"
status=0
# trust_test.cpp is scrypt at minisign's own cost and never talks to a worker.
taskset -c "$cpu" "$BUILD/tests/integration-tests" --minimal || status=1
taskset -c "$cpu" "$BUILD/tests/hostile-tests" --minimal \
  --source-file-exclude='*security/trust_test.cpp' || status=1
[ "$status" = 0 ] && echo "one-cpu: ok"
exit "$status"
