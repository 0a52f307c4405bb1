#!/usr/bin/env bash
# Fails when a C/C++ source is not clang-formatted (.clang-format at the root).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
mapfile -t files < <(git ls-files -co --exclude-standard '*.c' '*.h' '*.cpp' '*.hpp')
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "format: run ./tools/dev format" >&2
  exit 1
fi
echo "format: ${#files[@]} files clean"
