#!/usr/bin/env bash
# libFuzzer: builds the targets in tests/fuzz with clang (ASan + UBSan, the supervisor library
# coverage-instrumented) in build-fuzz, then runs each for FUZZ_SECONDS (default 20) on a scratch
# copy of its seed corpus, one target per core at a time. A crash, a leak, an uncaught exception
# or a hang (over 10 s on one input) fails the check and leaves the input in the scratch
# directory it prints. `fuzz.sh build` only builds the targets (tools/dev check builds them while
# other checks run), `fuzz.sh run` builds what is missing and runs them; no argument does both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tools/checks/common.sh
BUILD_FUZZ="${BUILD_FUZZ:-build-fuzz}"
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
TARGETS=(workflow policy manifest signature oci host_calls untrusted_text dashboard_request)
step="${1:-all}"
case "$step" in build | run | all) ;; *) echo "usage: fuzz.sh [build|run]" >&2; exit 2 ;; esac

if [ ! -f "$BUILD_FUZZ/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$BUILD_FUZZ" -Dfuzzing=true \
    -Dsanitize_supervisor=address,undefined,fuzzer-no-link "${CHECK_BUILD_OPTIONS[@]}" >/dev/null
fi
ninja -C "$BUILD_FUZZ" tests/fuzz/make-host-call-seeds \
  $(printf 'tests/fuzz/fuzz-%s ' "${TARGETS[@]}") >/dev/null
[ "$step" = build ] && { echo "fuzz: ${#TARGETS[@]} targets built in $BUILD_FUZZ"; exit 0; }

work="$(mktemp -d /tmp/cordon-fuzz.XXXXXX)"
# Each target runs FUZZ_SECONDS on one core, as many side by side as there are cores.
fuzz_target() {
  local target="$1" corpus="$work/$1"
  mkdir -p "$corpus"
  cp tests/fuzz/"$target"/* "$corpus"/ 2>/dev/null || true
  [ "$target" = host_calls ] && "$BUILD_FUZZ/tests/fuzz/make-host-call-seeds" "$corpus"
  "$BUILD_FUZZ/tests/fuzz/fuzz-$target" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/$target-" "$corpus"
}
running=0
for target in "${TARGETS[@]}"; do
  if [ "$running" -ge "$(nproc)" ]; then wait -n || true; running=$((running - 1)); fi
  run_recorded "$work" "$target" fuzz_target "$target" &
  running=$((running + 1))
done
wait

status=0
for target in "${TARGETS[@]}"; do
  log="$work/$target.log"
  if recorded_ok "$work" "$target"; then
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    echo "fuzz: $target: ${runs:-?} inputs in ${FUZZ_SECONDS}s, no findings"
  else
    echo "fuzz: $target: FAILED (log and input in $work)" >&2
    tail -n 30 "$log" >&2
    status=1
  fi
done
[ "$status" -eq 0 ] && rm -rf "$work"
exit "$status"
