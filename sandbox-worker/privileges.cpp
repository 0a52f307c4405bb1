#include "privileges.h"

#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "setup_error.h"

namespace cordon::worker {

void dropPrivileges() {
  // A new session detaches from the operator's terminal: no TIOCSTI into the shell.
  checkSys(setsid(), "setsid");
  checkSys(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "PR_SET_DUMPABLE");
  // Die with the supervisor (set at clone time already; asserted again before plugin code).
  checkSys(prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "PR_SET_PDEATHSIG");
  checkSys(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient caps");
  for (int cap = 0;; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      checkSys(-1, "PR_CAPBSET_DROP " + std::to_string(cap));
    }
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  checkSys(syscall(SYS_capset, &header, data), "capset");
  checkSys(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS");
}

}  // namespace cordon::worker
