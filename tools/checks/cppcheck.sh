#!/usr/bin/env bash
# cppcheck over the project's own sources (warnings, performance, portability): no findings.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="${BUILD:-build}"
cppcheck --quiet --enable=warning,performance,portability --std=c++20 --inline-suppr \
  --error-exitcode=1 --suppress=missingIncludeSystem --suppress=toomanyconfigs \
  -I supervisor -I ipc-schema -I plugins/sdk/include -I sandbox-worker -I "$BUILD/ipc-schema" \
  supervisor sandbox-worker plugins tools tests
echo "cppcheck: no findings"
