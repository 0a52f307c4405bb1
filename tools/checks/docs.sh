#!/usr/bin/env bash
# Docs health: relative links resolve, and every cordon / tools/dev command the docs show exists
# and answers --help. Needs a build (BUILD, default ./build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="${BUILD:-build}"
status=0
fail() { echo "docs: $*" >&2; status=1; }
docs=(README.md docs/*.md)

for doc in "${docs[@]}"; do
  dir=$(dirname "$doc")
  while IFS= read -r target; do
    path="${target%%#*}"
    [ -z "$path" ] && continue
    [ -e "$dir/$path" ] || fail "$doc: link to $target does not resolve"
  done < <(grep -o -E '\]\([^)]+\)' "$doc" | sed -E 's/^\]\((.*)\)$/\1/' | grep -v -E '^(https?:|mailto:|#)' || true)
done

cordon="$BUILD/supervisor/cordon"
"$cordon" --help >/dev/null || fail "cordon --help fails"
subcommands=$("$cordon" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}')
for sub in $(grep -h -o -E '\bcordon (run|validate|audit|[a-z]+) ?[a-z]*' "${docs[@]}" |
             awk '{print $2}' | sort -u); do
  case "$sub" in
    is|has|itself|sees|holds|reads|must|the|a|and|supervisor|runs|will) continue ;;  # prose
  esac
  if ! grep -qx "$sub" <<<"$subcommands"; then fail "docs mention 'cordon $sub', which is no subcommand"; continue; fi
  "$cordon" "$sub" --help >/dev/null || fail "cordon $sub --help fails"
done
"$cordon" audit verify --help >/dev/null || fail "cordon audit verify --help fails"

dev_commands=$(./tools/dev help | awk '/^Commands:/ {on=1; next} /^Environment:/ {on=0} on && NF {print $1}')
for cmd in $(grep -h -o -E 'tools/dev [a-z]+' "${docs[@]}" | awk '{print $2}' | sort -u); do
  grep -qx "$cmd" <<<"$dev_commands" || fail "docs mention 'tools/dev $cmd', which is no command"
done

[ "$status" -eq 0 ] && echo "docs: links and commands ok"
exit "$status"
