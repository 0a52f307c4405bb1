#include "namespaces.h"

#include <unistd.h>

#include "setup_error.h"

namespace cordon::worker {

void configureNamespaces() {
  // The supervisor cloned us into new user, PID, mount, network, IPC, UTS and cgroup namespaces
  // and mapped our ids. Being PID 1 is the check that it did: a worker started any other way
  // refuses to go on rather than run a plugin half-contained.
  if (getpid() != 1) throw SetupError("not started in a new PID namespace (pid is not 1)");
  static const char kHostname[] = "cordon";
  checkSys(sethostname(kHostname, sizeof kHostname - 1), "sethostname");
}

}  // namespace cordon::worker
