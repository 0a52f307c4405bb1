#!/usr/bin/env bash
# Line coverage of supervisor/, sandbox-worker/, tools/ and the SDK (plugins/sdk/), at least
# COVERAGE_MIN_LINES percent (default 80). Run after a test suite in a coverage build
# (BUILD_COV, configured with -Dcoverage=true) whose workers wrote their counters to DUMPS (the
# CORDON_WORKER_COVERAGE_DIR of that run): merges those into the build's .gcda files
# (tools/coverage/merge_worker_dumps.py), prints gcovr's table and writes an HTML report to
# BUILD_COV/coverage/index.html.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${BUILD_COV:?name the coverage build directory}" "${DUMPS:?name the worker dump directory}"
MIN="${COVERAGE_MIN_LINES:-80}"

status=0
python3 tools/coverage/merge_worker_dumps.py --build "$BUILD_COV" "$DUMPS" || status=1

mkdir -p "$BUILD_COV/coverage"
# The SDK is plugins/sdk/include/cordon/: its C++ layer is header-only, counted where the
# instrumented code includes it; plugins themselves are not instrumented (docs/quality.md).
if ! gcovr --root . --object-directory "$BUILD_COV" -j "$(nproc)" \
     --filter 'supervisor/' --filter 'sandbox-worker/' --filter 'tools/' --filter 'plugins/sdk/' \
     --txt --print-summary --fail-under-line "$MIN" \
     --html-details "$BUILD_COV/coverage/index.html"; then
  echo "coverage: line coverage is under $MIN % (or gcovr failed); report in $BUILD_COV/coverage/" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "coverage: at least $MIN % of lines; report in $BUILD_COV/coverage/index.html"
exit "$status"
