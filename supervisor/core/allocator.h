// Which malloc the trusted side runs on. Release and debug builds link jemalloc (Debian's
// libjemalloc-dev): the supervisor's event loop allocates and frees many short-lived blocks a
// step (events, rows, RPC messages, SQLite's pages), and glibc's malloc took about 12% of its
// samples there, with consolidations of its free lists that jemalloc's size classes do not need
// (README, "The journal's cost (2026-12-08)"). Sanitizer builds keep the sanitizer's own
// allocator. The worker never links it: plugin code runs on glibc's malloc, under a seccomp
// filter written for it.
#pragma once

#include <string>

namespace cordon {

// "jemalloc 5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c", or "system malloc" in a build
// without jemalloc (glibc's, or the sanitizer's that replaces it): what the benchmarks print.
std::string allocatorName();

}  // namespace cordon
