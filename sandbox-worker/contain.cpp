#include "contain.h"

#include <fcntl.h>
#include <unistd.h>

#include "memory_limit_report.h"
#include "namespaces.h"
#include "privileges.h"
#include "resource_limits.h"
#include "root_filesystem.h"
#include "seccomp_install.h"
#include "setup_error.h"
#include "worker_protocol.h"

namespace cordon::worker {
namespace {

// stdin and stdout become /dev/null; stderr (the report pipe), the RPC socket, the control
// socket (until the seccomp listener is sent) and the plugin memfd (until it is copied) stay;
// every other inherited descriptor, the spec's included, is closed.
void keepOnlyProtocolFds() {
  int devNull = open("/dev/null", O_RDWR | O_CLOEXEC);
  checkSys(devNull, "open /dev/null");
  checkSys(dup2(devNull, STDIN_FILENO), "dup2 stdin");
  checkSys(dup2(devNull, STDOUT_FILENO), "dup2 stdout");
  checkSys(close(protocol::kSpecFd), "close spec");
  checkSys(close_range(protocol::kPluginFd + 1, ~0U, 0), "close_range");
}

}  // namespace

std::string containProcess(const SandboxSpec& spec, protocol::SetupTimes& times) {
  keepOnlyProtocolFds();
  configureNamespaces();
  times.namespaces = monotonicNanoseconds();
  std::string pluginPath = enterEmptyRoot(protocol::kPluginFd, spec);
  applyResourceLimits(spec.limits);
  dropPrivileges();
  times.rootFilesystem = monotonicNanoseconds();
  return pluginPath;
}

void enterSeccomp(const SandboxSpec& spec, const protocol::SetupTimes& times) {
  armMemoryLimitReports();
  installSeccompFilter(spec.filter, times);
}

}  // namespace cordon::worker
