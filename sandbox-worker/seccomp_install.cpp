#include "seccomp_install.h"

#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "setup_error.h"
#include "worker_protocol.h"

namespace cordon::worker {
namespace {

void sendListener(int listener) {
  char byte = 'L';
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &listener, sizeof(int));
  checkSys(sendmsg(protocol::kControlFd, &message, MSG_NOSIGNAL), "send seccomp listener");
}

}  // namespace

void installSeccompFilter(const std::vector<sock_filter>& program) {
  sock_fprog prog{static_cast<unsigned short>(program.size()),
                  const_cast<sock_filter*>(program.data())};
  long listener =
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  checkSys(listener, "seccomp filter");
  // From here on the worker is under the filter: close and sendmsg are in its runtime set.
  sendListener(static_cast<int>(listener));
  close(static_cast<int>(listener));
  // kControlFd stays open: the supervisor sends the memfds of mapInput and createOutput on it.
}

}  // namespace cordon::worker
