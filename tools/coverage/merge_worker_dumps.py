#!/usr/bin/env python3
"""Merge the gcov counters sandboxed workers wrote into a coverage build's .gcda files.

A worker in a coverage build (meson -Dcoverage=true) cannot open its .gcda files from inside
its sandbox; as it exits it stores them, serialized, into a file the supervisor made for it in
$CORDON_WORKER_COVERAGE_DIR (sandbox-worker/coverage_flush.h, ipc-schema/worker_protocol.h):

    b"cordon-gcov 1\n", records (u32 name length, name, u32 .gcda length, .gcda bytes),
    u32 0, u32 status (1 complete, 2 cut short: the dump was full), then zeros

(u32 in host byte order; the name is the absolute path of the .gcda file). The worker stores
the magic last, so a file that starts with zeros is a worker that never finished its dump
(killed, crashed, refused, or killed while it wrote). This tool checks every
dump, lays each one out as a directory tree, folds them together with GCC's own
`gcov-tool merge` (which adds the counters) and installs the result in the build tree, where
gcovr reads it. The counters come from a process that ran plugin code, so a dump is data, not
instructions: a record naming anything but a .gcda file of this build tree, a malformed dump
and one gcov-tool refuses are reported and left out, never written.

Exit codes: 0 merged (or nothing to merge), 1 a dump was left out, 2 usage or gcov-tool missing.
"""

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

MAGIC = b"cordon-gcov 1\n"
U32 = struct.Struct("=I")


class MalformedDump(Exception):
    pass


COMPLETE, CUT_SHORT = 1, 2  # ipc-schema/worker_protocol.h: kCoverageComplete, kCoverageCutShort


def parse_dump(data, build_dir):
    """Returns ([(gcda path, bytes)], cut short?) of one dump; raises MalformedDump."""
    if not data.startswith(MAGIC):
        raise MalformedDump("does not start with the coverage magic")
    records, offset = [], len(MAGIC)

    def take(count, what):
        nonlocal offset
        if offset + count > len(data):
            raise MalformedDump(f"truncated in {what} at byte {offset}")
        chunk = data[offset:offset + count]
        offset += count
        return chunk

    while True:
        (name_length,) = U32.unpack(take(U32.size, "a name length"))
        if name_length == 0:
            break
        name = take(name_length, "a name").decode("utf-8", "replace")
        (data_length,) = U32.unpack(take(U32.size, "a .gcda length"))
        image = take(data_length, f"the .gcda of {name}")
        path = os.path.realpath(name)
        if not (path.startswith(build_dir + os.sep) and path.endswith(".gcda")):
            raise MalformedDump(f"names {name!r}, not a .gcda file of {build_dir}")
        if not image:
            raise MalformedDump(f"the .gcda of {name} is empty")
        records.append((path, image))
    (status,) = U32.unpack(take(U32.size, "the status"))
    if status not in (COMPLETE, CUT_SHORT):
        raise MalformedDump(f"status {status}: the worker did not finish writing it")
    if any(data[offset:]):
        raise MalformedDump(f"bytes after the end, at byte {offset}")
    return records, status == CUT_SHORT


def lay_out(records, directory, build_dir):
    for path, image in records:
        target = os.path.join(directory, os.path.relpath(path, build_dir))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(image)


def fold_into(total, addition, gcov_tool, scratch):
    """Adds the counters under `addition` to those under `total` (None: nothing yet).

    Returns the new total directory, or raises MalformedDump with gcov-tool's complaint."""
    folded = tempfile.mkdtemp(dir=scratch)
    # The first dump is rewritten rather than taken as it is, so gcov-tool reads it too.
    command = ["rewrite", "-o", folded, addition] if total is None else \
        ["merge", "-o", folded, total, addition]
    result = subprocess.run([gcov_tool] + command, capture_output=True, text=True)
    if result.returncode != 0 or result.stderr.strip():
        shutil.rmtree(folded)
        raise MalformedDump(f"gcov-tool refused it: {result.stderr.strip() or result.returncode}")
    for directory in (total, addition):
        if directory is not None:
            shutil.rmtree(directory)
    return folded


def gcda_files(root):
    for parent, _, files in os.walk(root):
        yield from (os.path.join(parent, f) for f in files if f.endswith(".gcda"))


def main():
    parser = argparse.ArgumentParser(
        description="Merge sandboxed workers' coverage dumps into a coverage build's .gcda files.")
    parser.add_argument("--build", required=True, help="the coverage build directory")
    parser.add_argument("dumps", help="the directory CORDON_WORKER_COVERAGE_DIR named")
    parser.add_argument("--gcov-tool", default="gcov-tool",
                        help="GCC's gcov-tool, of the compiler that built --build")
    args = parser.parse_args()

    build_dir = os.path.realpath(args.build)
    if shutil.which(args.gcov_tool) is None:
        print(f"merge-worker-dumps: {args.gcov_tool} not found", file=sys.stderr)
        return 2
    if not os.path.isdir(args.dumps):
        print(f"merge-worker-dumps: {args.dumps}: not a directory", file=sys.stderr)
        return 2

    merged, empty, left_out, cut_short = 0, 0, 0, 0
    with tempfile.TemporaryDirectory(prefix="cordon-coverage-") as scratch:
        total = None
        for name in sorted(os.listdir(args.dumps)):
            dump_path = os.path.join(args.dumps, name)
            with open(dump_path, "rb") as dump:
                data = dump.read()
            if not any(data[:len(MAGIC)]):
                empty += 1  # killed, crashed or refused before it finished: nothing to merge
                continue
            try:
                records, incomplete = parse_dump(data, build_dir)
                staged = tempfile.mkdtemp(dir=scratch)
                lay_out(records, staged, build_dir)
                total = fold_into(total, staged, args.gcov_tool, scratch)
            except MalformedDump as problem:
                print(f"merge-worker-dumps: {dump_path}: {problem}; left out", file=sys.stderr)
                left_out += 1
                continue
            if incomplete:
                print(f"merge-worker-dumps: {dump_path}: the worker's dump was full, its later "
                      "units are missing (raise kCoverageDumpBytes)", file=sys.stderr)
                cut_short += 1
            merged += 1

        if total is not None:
            # The worker's units get .gcda files only from here; an earlier merge's counters add up.
            merged_units = {os.path.relpath(p, total) for p in gcda_files(total)}
            earlier = tempfile.mkdtemp(dir=scratch)
            for path in gcda_files(build_dir):
                unit = os.path.relpath(path, build_dir)
                if unit in merged_units:
                    os.makedirs(os.path.dirname(os.path.join(earlier, unit)), exist_ok=True)
                    shutil.copyfile(path, os.path.join(earlier, unit))
            if any(gcda_files(earlier)):
                try:
                    total = fold_into(total, earlier, args.gcov_tool, scratch)
                except MalformedDump as problem:
                    print(f"merge-worker-dumps: the build tree's own counters: {problem}",
                          file=sys.stderr)
                    return 1
            for unit in merged_units:
                shutil.copyfile(os.path.join(total, unit), os.path.join(build_dir, unit))

    print(f"merge-worker-dumps: {merged} worker dumps merged ({cut_short} cut short), {empty} "
          f"empty (the worker was killed before it finished its dump), {left_out} left out")
    return 1 if left_out or cut_short else 0


if __name__ == "__main__":
    sys.exit(main())
