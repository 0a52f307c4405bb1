# Shared by tools/dev and the gates in this folder; sourced, not run.

# The check builds (sanitizers, coverage, fuzzing) are unity builds, sixteen files to a compiler
# run, with line tables only, and reports still name file and line. Each compiler run compiles
# the kj, Cap'n Proto and JSON templates its files use once, so fewer, larger runs do less work:
# CI's plain build took 319 s at eight files a run, 233 s at sixteen (2026-12-07, two cores).
# CI's plain build uses them too (CORDON_ONE_SHOT_BUILD=1); a developer's stays one file per
# run, and clang-tidy always reads one command per source (clang-tidy.sh).
CHECK_BUILD_OPTIONS=(-Dunity=on -Dunity_size=16 -Dcpp_args=-g1 -Dc_args=-g1)

# run_recorded DIR LABEL COMMAND...: runs COMMAND with its output in DIR/LABEL.log and its exit
# status in DIR/LABEL.rc, for jobs started in the background and judged after `wait`.
run_recorded() {
  local dir="$1" label="$2" rc=0
  shift 2
  "$@" >"$dir/$label.log" 2>&1 || rc=$?
  echo "$rc" >"$dir/$label.rc"
}

# recorded_ok DIR LABEL: whether that job ran and exited 0.
recorded_ok() { [ "$(cat "$1/$2.rc" 2>/dev/null)" = 0 ]; }

# grant_search_to_nobody DIR: nobody needs to traverse every directory above DIR (a clone in a
# mktemp dir is 0700). Grants search (o+x, not listing) where it is missing, says so, and
# restore_search_modes (for an EXIT trap) puts the modes back.
search_modes_to_restore=()
grant_search_to_nobody() {
  local dir="$1"
  while [ "$dir" != "/" ]; do
    if ! runuser -u nobody -- test -x "$dir"; then
      search_modes_to_restore+=("$(stat -c %a "$dir"):$dir")
      chmod o+x "$dir"
      echo "granting search permission on $dir to nobody for this check"
    fi
    dir="$(dirname "$dir")"
  done
}
restore_search_modes() {
  local entry
  for entry in "${search_modes_to_restore[@]+"${search_modes_to_restore[@]}"}"; do
    chmod "${entry%%:*}" "${entry#*:}"
  done
}
