// Coverage builds only (meson -Dcoverage=true): the worker's gcov counters leave the sandbox.
//
// A sandboxed worker cannot write its own .gcda files: its root is an empty tmpfs and its
// seccomp filter refuses open(). So the worker is compiled with -fprofile-info-section (no
// exit-time write is registered) and, as it exits, serializes its counters in the .gcda format
// into protocol::kCoverageFd, a fresh file the supervisor made for it, through a shared mapping
// (RLIMIT_FSIZE refuses write(), not stores). tools/coverage/ merges
// those files into the build tree's .gcda files before gcovr reads them (docs/quality.md).
#pragma once

namespace cordon::worker {

#if CORDON_COVERAGE
// Maps the dump file the supervisor passed on kCoverageFd and closes the descriptor. Called
// first thing in main, so the mapping exists before containment closes stray descriptors and
// before a memory limit could refuse it.
void prepareCoverage() noexcept;
// Stores every translation unit's counters into the mapping; once per process, a no-op without
// a mapping. No allocation and no syscall but munmap, so it is safe on any exit path after
// prepareCoverage, the memory-limit one included.
void flushCoverage() noexcept;
// Adds the units of a plugin built for coverage (the example plugins: plugins/coverage_units.c)
// to what flushCoverage writes; other plugins export nothing and add nothing.
void addPluginCoverage(void* dlHandle) noexcept;
#else
inline void prepareCoverage() noexcept {}
inline void flushCoverage() noexcept {}
inline void addPluginCoverage(void* /*dlHandle*/) noexcept {}
#endif

}  // namespace cordon::worker
