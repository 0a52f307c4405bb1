#include "contain.h"

#include <fcntl.h>
#include <unistd.h>

#include "namespaces.h"
#include "privileges.h"
#include "resource_limits.h"
#include "root_filesystem.h"
#include "seccomp_install.h"
#include "setup_error.h"
#include "violation_report.h"
#include "worker_protocol.h"

namespace cordon::worker {
namespace {

// stdin and stdout become /dev/null; stderr (the report pipe) and the RPC socket stay; every
// other inherited descriptor, the spec's included, is closed.
void keepOnlyProtocolFds() {
  int devNull = open("/dev/null", O_RDWR | O_CLOEXEC);
  checkSys(devNull, "open /dev/null");
  checkSys(dup2(devNull, STDIN_FILENO), "dup2 stdin");
  checkSys(dup2(devNull, STDOUT_FILENO), "dup2 stdout");
  checkSys(close_range(protocol::kRpcFd + 1, ~0U, 0), "close_range");
}

}  // namespace

std::string containProcess(const SandboxSpec& spec) {
  keepOnlyProtocolFds();
  configureNamespaces();
  std::string pluginPath = enterEmptyRoot(spec.pluginPath, spec.pluginName);
  applyResourceLimits(spec.limits);
  dropPrivileges();
  return pluginPath;
}

void enterLoaderFilter(const SandboxSpec& spec) {
  installViolationHandler();
  armMemoryLimitReports();
  installSeccompFilter(spec.loaderFilter, "loader");
}

void enterRuntimeFilter(const SandboxSpec& spec) {
  installSeccompFilter(spec.runtimeFilter, "runtime");
}

}  // namespace cordon::worker
