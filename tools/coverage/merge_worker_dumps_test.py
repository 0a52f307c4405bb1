#!/usr/bin/env python3
"""Tests of merge_worker_dumps.py: a dump is written by a process that ran plugin code, so
everything but a well-formed dump naming this build's .gcda files must be refused. The merge of
real counters is exercised by every coverage run (tools/checks/coverage.sh)."""

import os
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merge_worker_dumps as merge  # noqa: E402

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "merge_worker_dumps.py")


def u32(value):
    return struct.pack("=I", value)


def record(name, image):
    encoded = name.encode()
    return u32(len(encoded)) + encoded + u32(len(image)) + image


def dump(*records, status=merge.COMPLETE, padding=64):
    return merge.MAGIC + b"".join(records) + u32(0) + u32(status) + b"\0" * padding


class ParseDump(unittest.TestCase):
    def setUp(self):
        self.scratch = tempfile.TemporaryDirectory()
        self.build = os.path.realpath(self.scratch.name)
        self.unit = os.path.join(self.build, "sandbox-worker", "cordon-worker.p", "main.cpp.gcda")

    def tearDown(self):
        self.scratch.cleanup()

    def test_a_complete_dump_gives_its_records(self):
        records, cut_short = merge.parse_dump(dump(record(self.unit, b"gcda")), self.build)
        self.assertEqual(records, [(self.unit, b"gcda")])
        self.assertFalse(cut_short)

    def test_a_full_dump_says_so(self):
        _, cut_short = merge.parse_dump(dump(record(self.unit, b"x"), status=merge.CUT_SHORT),
                                        self.build)
        self.assertTrue(cut_short)

    def refused(self, data, reason):
        with self.assertRaises(merge.MalformedDump) as caught:
            merge.parse_dump(data, self.build)
        self.assertIn(reason, str(caught.exception))

    def test_a_path_outside_the_build_is_refused(self):
        self.refused(dump(record("/etc/cron.d/x.gcda", b"x")), "not a .gcda file of")

    def test_a_path_that_climbs_out_is_refused(self):
        self.refused(dump(record(self.build + "/../x.gcda", b"x")), "not a .gcda file of")

    def test_a_file_that_is_no_gcda_is_refused(self):
        self.refused(dump(record(os.path.join(self.build, "build.ninja"), b"x")),
                     "not a .gcda file of")

    def test_a_wrong_magic_is_refused(self):
        self.refused(b"cordon-gcov 9\n" + dump(record(self.unit, b"x"))[len(merge.MAGIC):],
                     "magic")

    def test_a_length_past_the_end_is_refused(self):
        data = merge.MAGIC + u32(len(self.unit)) + self.unit.encode() + u32(1 << 30) + b"x"
        self.refused(data, "truncated")

    def test_a_dump_the_worker_did_not_finish_is_refused(self):
        self.refused(dump(record(self.unit, b"x"), status=0), "did not finish")

    def test_bytes_after_the_end_are_refused(self):
        self.refused(dump(record(self.unit, b"x")) + b"more", "after the end")

    def test_an_empty_image_is_refused(self):
        self.refused(dump(record(self.unit, b"")), "is empty")


class Main(unittest.TestCase):
    def run_tool(self, build, dumps):
        return subprocess.run([sys.executable, TOOL, "--build", build, dumps],
                              capture_output=True, text=True)

    def test_killed_workers_are_counted_and_malformed_dumps_fail_the_merge(self):
        with tempfile.TemporaryDirectory() as build, tempfile.TemporaryDirectory() as dumps:
            with open(os.path.join(dumps, "worker-killed"), "wb") as f:
                f.write(b"\0" * 4096)  # the supervisor's sparse file, never written
            with open(os.path.join(dumps, "worker-killed-while-writing"), "wb") as f:
                half = dump(record(os.path.join(build, "x.gcda"), b"partial"))
                f.write(b"\0" * len(merge.MAGIC) + half[len(merge.MAGIC):-70])  # magic comes last
            result = self.run_tool(build, dumps)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("0 worker dumps merged (0 cut short), 2 empty", result.stdout)

            with open(os.path.join(dumps, "worker-hostile"), "wb") as f:
                f.write(dump(record("/etc/passwd", b"root")))
            result = self.run_tool(build, dumps)
            self.assertEqual(result.returncode, 1)
            self.assertIn("worker-hostile: names '/etc/passwd'", result.stderr)
            self.assertIn("1 left out", result.stdout)
            self.assertEqual(os.listdir(build), [])  # nothing was written

    def test_a_dump_gcov_tool_cannot_read_is_left_out(self):
        with tempfile.TemporaryDirectory() as build, tempfile.TemporaryDirectory() as dumps:
            build = os.path.realpath(build)
            with open(os.path.join(dumps, "worker-junk"), "wb") as f:
                f.write(dump(record(os.path.join(build, "x.gcda"), b"not a gcda image")))
            result = self.run_tool(build, dumps)
            self.assertEqual(result.returncode, 1)
            self.assertIn("gcov-tool refused it", result.stderr)
            self.assertFalse(os.path.exists(os.path.join(build, "x.gcda")))

    def test_a_missing_dump_directory_is_a_usage_error(self):
        with tempfile.TemporaryDirectory() as build:
            result = self.run_tool(build, os.path.join(build, "nowhere"))
            self.assertEqual(result.returncode, 2)
            self.assertIn("not a directory", result.stderr)


if __name__ == "__main__":
    unittest.main()
