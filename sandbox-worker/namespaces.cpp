#include "namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <string>

#include "setup_error.h"

namespace cordon::worker {
namespace {

void writeProcFile(const char* path, const std::string& content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  checkSys(fd, std::string("open ") + path);
  ssize_t written = write(fd, content.data(), content.size());
  close(fd);
  if (written != static_cast<ssize_t>(content.size())) {
    checkSys(-1, std::string("write ") + path);
  }
}

}  // namespace

void enterNamespaces() {
  uid_t uid = getuid();
  gid_t gid = getgid();
  checkSys(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                   CLONE_NEWCGROUP),
           "unshare namespaces");
  // setgroups must be denied before an unprivileged process may write gid_map.
  writeProcFile("/proc/self/setgroups", "deny");
  writeProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
  writeProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
  static const char kHostname[] = "cordon";
  checkSys(sethostname(kHostname, sizeof kHostname - 1), "sethostname");
}

}  // namespace cordon::worker
