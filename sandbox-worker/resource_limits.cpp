#include "resource_limits.h"

#include <sys/resource.h>

#include <string>

#include "setup_error.h"

namespace cordon::worker {
namespace {

void limit(int resource, const char* name, rlim_t soft, rlim_t hard) {
  struct rlimit value {
    soft, hard
  };
  checkSys(setrlimit(resource, &value), std::string("setrlimit ") + name);
}

}  // namespace

void applyResourceLimits(const ResourceLimits& limits) {
  limit(RLIMIT_AS, "RLIMIT_AS", limits.addressSpaceBytes, limits.addressSpaceBytes);
  // The soft CPU limit sends SIGXCPU, which we report; the hard one a second later is SIGKILL.
  limit(RLIMIT_CPU, "RLIMIT_CPU", limits.cpuSeconds, limits.cpuSeconds + 1);
  limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", limits.openFiles, limits.openFiles);
  limit(RLIMIT_NPROC, "RLIMIT_NPROC", limits.processes, limits.processes);
  limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", limits.fileSizeBytes, limits.fileSizeBytes);
  limit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0);
  limit(RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", 0, 0);
}

}  // namespace cordon::worker
