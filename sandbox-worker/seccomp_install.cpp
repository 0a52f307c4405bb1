#include "seccomp_install.h"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "setup_error.h"

namespace cordon::worker {

void installSeccompFilter(const std::vector<sock_filter>& program, const char* stage) {
  sock_fprog prog{static_cast<unsigned short>(program.size()),
                  const_cast<sock_filter*>(program.data())};
  checkSys(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog),
           std::string("seccomp ") + stage + " filter");
}

}  // namespace cordon::worker
