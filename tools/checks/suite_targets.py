#!/usr/bin/env python3
"""Prints the ninja targets `meson test --suite S` would build for the named suites of a
configured build directory: each selected test's executable and `depends`, read from meson's
own introspection files. tools/dev check builds them ahead of the suite run (build-tsan/)."""
import json
import os
import sys


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: suite_targets.py BUILD_DIR SUITE...", file=sys.stderr)
        return 2
    build, suites = sys.argv[1], set(sys.argv[2:])
    info = os.path.join(build, "meson-info")
    with open(os.path.join(info, "intro-targets.json"), encoding="utf-8") as f:
        files_of = {t["id"]: t["filename"] for t in json.load(f)}
    with open(os.path.join(info, "intro-tests.json"), encoding="utf-8") as f:
        tests = json.load(f)
    wanted = set()
    for test in tests:
        # meson names a suite "project:suite"; either spelling selects it.
        if not any(s in suites or s.split(":")[-1] in suites for s in test["suite"]):
            continue
        for target in test["depends"]:
            wanted.update(os.path.relpath(path, build) for path in files_of[target])
    if not wanted:
        print(f"suite_targets.py: no test of {build} is in {sorted(suites)}", file=sys.stderr)
        return 1
    print("\n".join(sorted(wanted)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
