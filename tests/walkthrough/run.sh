#!/usr/bin/env bash
# Runs docs/plugin-interface.md's first-plugin walk-through exactly as written: between its
# walkthrough markers, a fenced block after a line "File `PATH`:" is written to PATH, every
# `sh` block is run, in order, and every line of the last `text` block must appear in what the
# commands printed. Usage: run.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
source_root="$1"
build_root="$2"
doc="$source_root/docs/plugin-interface.md"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The doc's commands start from the repository after `./tools/dev build`; here the build tree
# is wherever meson put it, so the first block's PATH points at it instead.
awk -v out="$work" '
  /<!-- walkthrough:begin -->/ { inside = 1; next }
  /<!-- walkthrough:end -->/ { inside = 0 }
  !inside { next }
  /^File `[^`]+`:$/ { file = $0; sub(/^File `/, "", file); sub(/`:$/, "", file); next }
  /^```/ {
    if (!fence) {
      fence = 1; lang = substr($0, 4); n++
      if (file != "") { target = out "/files/" file; print file > (out "/files.list") }
      else if (lang == "sh") target = out "/script.sh"
      else if (lang == "text") { target = out "/expected.txt"; printf "" > target }
      else target = "/dev/null"
      next
    }
    fence = 0; file = ""; close(target); next
  }
  fence && target != "" {
    if (target ~ /\/files\//) { dir = target; sub(/\/[^\/]*$/, "", dir); system("mkdir -p \"" dir "\"") }
    print >> target
  }
' "$doc"
[ -s "$work/script.sh" ] || { echo "walkthrough: no sh blocks found in $doc" >&2; exit 1; }
[ -s "$work/expected.txt" ] || { echo "walkthrough: no expected output in $doc" >&2; exit 1; }

# Files are written where the walk-through's directory is when the next command runs: the
# doc creates /tmp/first-plugin first; here that is a private directory.
site="$work/site"
sed -i "s|/tmp/first-plugin|$site|g" "$work/script.sh"
sed -i "s|\$PWD/build/|$build_root/|g; s|\$PWD/plugins/sdk/include|$source_root/plugins/sdk/include|g" \
  "$work/script.sh"
# Each file block is put in place right before the first command that follows it in the doc:
# simplest faithful order is all files after the first block (which makes the directory).
first_block_end=$(grep -n -m1 '^mkdir -p' "$work/script.sh" | cut -d: -f1)
{
  head -n "$first_block_end" "$work/script.sh"
  while IFS= read -r file; do
    echo "mkdir -p \"\$(dirname '$file')\" && cp '$work/files/$file' '$file'"
  done <"$work/files.list"
  tail -n +"$((first_block_end + 1))" "$work/script.sh"
} >"$work/run.sh"

echo "walkthrough: running $(grep -c . "$work/run.sh") lines from $doc"
if ! output="$(cd "$work" && bash -euo pipefail "$work/run.sh" 2>&1)"; then
  echo "$output"
  echo "walkthrough: a command of the walk-through failed" >&2
  exit 1
fi
echo "$output"
status=0
while IFS= read -r line; do
  [ -z "$line" ] && continue
  grep -qF -- "$line" <<<"$output" || { echo "walkthrough: expected '$line' in the output" >&2; status=1; }
done <"$work/expected.txt"
[ "$status" -eq 0 ] && echo "walkthrough: docs/plugin-interface.md runs as written"
exit "$status"
