// What a worker tells the supervisor outside of RPC: its file descriptors, its exit codes and
// the report lines it writes to stderr. Part of the contract, like cordon.capnp.
#pragma once

#include <cstdint>

namespace cordon::protocol {

// File descriptors a worker starts with; every other descriptor is closed before plugin code runs.
inline constexpr int kReportFd = 2;   // stderr: report lines below, then anything the plugin prints
inline constexpr int kRpcFd = 3;      // Cap'n Proto RPC (Unix stream socket)
inline constexpr int kSpecFd = 4;     // SandboxSpec message; read and closed during setup
inline constexpr int kControlFd = 5;  // Unix socket: the seccomp listener goes to the supervisor
                                      // here (SCM_RIGHTS, with one byte and a SetupTimes), then
                                      // one u64 once the plugin is loaded (its CLOCK_MONOTONIC
                                      // ns); the supervisor sends memfds the other way
                                      // (SCM_RIGHTS, with the 8-byte token of the Host reply
                                      // they belong to)
inline constexpr int kPluginFd = 6;   // sealed memfd: the plugin's verified bytes, which the
                                      // worker copies into its root and loads; closed after
inline constexpr int kCoverageFd = 7;  // coverage builds only (meson -Dcoverage=true): a file
                                       // of kCoverageDumpBytes the worker maps (and closes) first
                                       // thing, then fills with its gcov counters as it exits

// When the worker passed each step of its setup, in CLOCK_MONOTONIC nanoseconds (the worker
// shares the supervisor's clock: it gets no time namespace). Sent with the seccomp listener,
// before any plugin code has run; the supervisor splits a worker's start into phases with it.
struct SetupTimes {
  uint64_t entered = 0;         // main() began: the process exists and the binary is loaded
  uint64_t namespaces = 0;      // namespaces entered
  uint64_t rootFilesystem = 0;  // in its empty root, rlimits set, privileges dropped
  uint64_t filtered = 0;        // seccomp filter installed
};

// A coverage dump (sandbox-worker/coverage_flush.h): the file is this long (sparse) when the
// worker gets it, since RLIMIT_FSIZE (file_size_mb: 0) refuses write() but not stores through a
// shared mapping. It holds kCoverageMagic, records (u32 name length, name, u32 .gcda length,
// .gcda bytes), a u32 0, then a u32 status; unwritten bytes stay zero. The magic is stored
// last, so a dump whose writer was killed midway still starts with zeros.
inline constexpr uint32_t kCoverageDumpBytes = 1u << 20;
inline constexpr char kCoverageMagic[] = "cordon-gcov 1\n";
inline constexpr uint32_t kCoverageComplete = 1;  // every unit is in the dump
inline constexpr uint32_t kCoverageCutShort = 2;  // the dump was full: later units are missing

// Exit codes. Anything else (or a signal) is a crash.
inline constexpr int kExitClean = 0;
inline constexpr int kExitSetupFailed = 70;     // the sandbox could not be built; nothing ran
inline constexpr int kExitPluginRejected = 71;  // the plugin did not load or has a wrong ABI
inline constexpr int kExitMemoryLimit = 160;    // an allocation failed at the memory limit

// Report lines start with this prefix and are one line each. They are written by worker code
// (the SIGSYS handler, the allocator), but a plugin can write to stderr too, so the supervisor
// believes a report only when the exit code agrees with it.
inline constexpr char kReportPrefix[] = "cordon-worker: ";

// The most one Host.readInput answer carries; larger requests are served this much. Bounds the
// size of any message the supervisor builds for a plugin, whatever the plugin asks.
inline constexpr uint32_t kMaxReadChunkBytes = 1u << 20;

// A host call the gate denied fails with an exception whose description starts with this.
inline constexpr char kDeniedMarker[] = "policy denial: ";
// A host call that would exceed a budget the policy sets (bytes, calls) fails with this.
inline constexpr char kBudgetMarker[] = "budget exhausted: ";
// A host call naming an input the step does not have fails with this.
inline constexpr char kNotFoundMarker[] = "not found: ";

}  // namespace cordon::protocol
