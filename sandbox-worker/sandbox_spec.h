// The worker's instructions from the supervisor, read once from fd 4 before anything else.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cordon::worker {

struct ResourceLimits {
  uint64_t addressSpaceBytes = 0;
  uint64_t cpuSeconds = 0;
  uint64_t openFiles = 0;
  uint64_t processes = 0;
  uint64_t fileSizeBytes = 0;
};

struct SandboxSpec {
  std::string pluginPath;  // where the supervisor read it on the host (for messages only)
  std::string pluginName;
  ResourceLimits limits;
  std::vector<sock_filter> filter;          // seccomp, installed with a listener before dlopen
  std::vector<std::string> readOnlyPaths;   // host paths, bound read-only at the same place
  std::vector<std::string> readWritePaths;  // host paths, bound read-write at the same place
  uint64_t scratchBytes = 0;                // a private tmpfs at /scratch, 0 = none
  bool mountProc = false;                   // /proc of the worker's PID namespace, read-only
  bool devices = false;                     // /dev/null, /dev/zero, /dev/urandom
  uint64_t maxRpcMessageWords = 0;
};

// Reads and validates the spec; throws std::runtime_error naming what is wrong.
SandboxSpec readSandboxSpec(int fd);

}  // namespace cordon::worker
