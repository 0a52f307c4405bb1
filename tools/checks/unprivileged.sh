#!/usr/bin/env bash
# The suites again as an unprivileged user (nobody): the sandbox must build itself from user
# namespaces alone, without root's capabilities. Skipped (and said so) when not run as root,
# since then the normal test run already was unprivileged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/checks/common.sh
BUILD="$(cd "${BUILD:-build}" && pwd)"
if [ "$(id -u)" -ne 0 ]; then
  echo "unprivileged: already not root; the normal test run covered it"
  exit 0
fi

grant_search_to_nobody "$BUILD"
trap restore_search_modes EXIT

# Two halves side by side, split where the time is (trust_test.cpp is scrypt at minisign's own
# cost); the exclude and the include name the same file, so every test runs in one half.
slow=(--source-file='*security/trust_test.cpp')
rest=(--source-file-exclude='*security/trust_test.cpp')
out="$(mktemp -d)"
trap 'restore_search_modes; rm -rf "$out"' EXIT
as_nobody() {  # SUITE ARGS...
  local suite="$1"
  shift
  (cd /tmp && runuser -u nobody -- "$BUILD/tests/$suite" --minimal "$@")
}
run_recorded "$out" trust as_nobody hostile-tests "${slow[@]}" &
for suite in unit-tests integration-tests hostile-tests cli-tests; do
  if [ "$suite" = hostile-tests ]; then run_recorded "$out" "$suite" as_nobody "$suite" "${rest[@]}"
  else run_recorded "$out" "$suite" as_nobody "$suite"; fi
done
wait

status=0
for label in unit-tests integration-tests hostile-tests trust cli-tests; do
  cat "$out/$label.log"
  if ! recorded_ok "$out" "$label"; then
    echo "unprivileged: $label failed as nobody" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "unprivileged: all suites pass as nobody"
exit "$status"
