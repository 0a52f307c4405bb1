#!/usr/bin/env bash
# The suites again as an unprivileged user (nobody): the sandbox must build itself from user
# namespaces alone, without root's capabilities. Skipped (and said so) when not run as root,
# since then the normal test run already was unprivileged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="$(cd "${BUILD:-build}" && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "unprivileged: already not root; the normal test run covered it"
  exit 0
fi

# nobody needs to traverse every directory above the build (a clone in a mktemp dir is 0700).
# Grant search (o+x, not listing) where it is missing, say so, and put the modes back on exit.
restore=()
dir="$BUILD"
while [ "$dir" != "/" ]; do
  if ! runuser -u nobody -- test -x "$dir"; then
    restore+=("$(stat -c %a "$dir"):$dir")
    chmod o+x "$dir"
    echo "unprivileged: granting search permission on $dir for this check"
  fi
  dir="$(dirname "$dir")"
done
restore_modes() {
  local entry
  for entry in "${restore[@]+"${restore[@]}"}"; do chmod "${entry%%:*}" "${entry#*:}"; done
}
trap restore_modes EXIT

status=0
for suite in unit-tests integration-tests hostile-tests cli-tests; do
  if ! (cd /tmp && runuser -u nobody -- "$BUILD/tests/$suite" --minimal); then
    echo "unprivileged: $suite failed as nobody" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "unprivileged: all suites pass as nobody"
exit "$status"
