#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy) over the project's own C and C++ sources, in parallel, with
# the compile commands of the build (BUILD, default ./build): any finding fails. A unity build's
# commands name the merged files, not the sources; then a companion configuration (TIDY_BUILD,
# default BUILD-tidy) gives one command per source, and only the generated headers are built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="${BUILD:-build}"
if grep -q -E 'meson-generated_[^"]*-unity[0-9]+\.c' "$BUILD/compile_commands.json"; then
  TIDY_BUILD="${TIDY_BUILD:-$BUILD-tidy}"
  [ -f "$TIDY_BUILD/build.ninja" ] || meson setup "$TIDY_BUILD" . -Dunity=off >/dev/null
  ninja -C "$TIDY_BUILD" ipc-schema/cordon.capnp.h >/dev/null
  BUILD="$TIDY_BUILD"
fi
mapfile -t files < <(git ls-files -co --exclude-standard 'supervisor/*.cpp' 'sandbox-worker/*.cpp' \
  'tools/*.cpp' 'plugins/*.c' 'plugins/*.cpp' 'tests/*.cpp' | grep -v -E '^tests/fuzz/|/fixtures/')
# Files whose code exists only in coverage builds (docs/quality.md) are checked below, as those
# builds compile them.
coverage_only=(sandbox-worker/coverage_flush.cpp supervisor/worker/coverage_sink.cpp
               plugins/coverage_units.c)
mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -v -x -F -e sandbox-worker/coverage_flush.cpp \
  -e plugins/coverage_units.c)
# Longest first, so the last file to finish is a short one and both cores stay busy: those
# that include CLI11 (the analyzer walks all of it), then the rest by size.
mapfile -t files < <({ grep -l -F '<CLI/CLI.hpp>' "${files[@]}" || true
                       ls -S "${files[@]}"; } | awk '!seen[$0]++')
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# The build compiles with GCC; clang-tidy need not know GCC-only warning flags.
printf '%s\n' "${files[@]}" | xargs -n 1 -P "$(nproc)" \
  clang-tidy -p "$BUILD" --quiet --extra-arg=-Wno-unknown-warning-option >"$log" 2>&1 || true
# The coverage-only files with that build's define (coverage_sink.cpp again: its other half);
# GCC's own include directory, searched last, provides its gcov.h.
clang-tidy -p "$BUILD" --quiet --extra-arg=-Wno-unknown-warning-option \
  --extra-arg=-DCORDON_COVERAGE=1 --extra-arg=-idirafter --extra-arg="$(gcc -print-file-name=include)" \
  --extra-arg=-I"$PWD/ipc-schema" "${coverage_only[@]}" >>"$log" 2>&1 || true
if grep -q -E '(error|warning): ' "$log"; then
  grep -E -A3 '(error|warning): ' "$log" >&2
  echo "clang-tidy: $(grep -c -E '(error|warning): ' "$log") finding(s)" >&2
  exit 1
fi
echo "clang-tidy: ${#files[@]} files (and ${#coverage_only[@]} as coverage builds compile them), no findings"
