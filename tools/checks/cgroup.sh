#!/usr/bin/env bash
# Resource limits on a real cgroup v2 kernel: these machines hold memory, pids and cpu in cgroup
# v1 hierarchies, so the cgroup v2 path (a delegated tree, a cgroup per worker, OOM from
# memory.events) cannot run on them directly. cgroup2-vm boots Debian's own kernel under QEMU
# with a pure cgroup v2 hierarchy and this machine's root shared read-only, and runs there
# tests/cgroup (limits, OOM, CPU share, cleanup, concurrent runs, a subtree delegated to
# nobody), then the integration suite with every worker in its own cgroup. Needs root (QEMU's
# root share, chown of the delegated subtree); skipped, and said so, otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/checks/common.sh
BUILD="$(cd "${BUILD:-build}" && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "cgroup: skipped: booting the cgroup v2 VM needs root"
  exit 0
fi
# The guest's nobody reads the build through the same directories as the host's.
grant_search_to_nobody "$BUILD"
trap restore_search_modes EXIT
# Software emulation runs 5-10 times slower than the host: one suite at a time, and a limit
# well above what they need (about 2 minutes in all here). The one integration test that
# times a 1 s call deadline is left to the host: emulation alone made it miss (once in four).
timed='*timeout runs from when the call starts*'
bash tools/checks/cgroup2-vm -m 2048 -t 900 -- \
  "cd /var/tmp && $BUILD/tests/cgroup-tests --minimal && $BUILD/tests/integration-tests --minimal --test-case-exclude='$timed' && echo 'cgroup: limits proven on a cgroup v2 kernel'"
