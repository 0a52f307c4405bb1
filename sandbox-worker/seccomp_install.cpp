#include "seccomp_install.h"

#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "setup_error.h"
#include "worker_protocol.h"

namespace cordon::worker {
namespace {

void sendListener(int listener, const protocol::SetupTimes& times) {
  char byte = 'L';
  iovec data[2] = {{&byte, 1}, {const_cast<protocol::SetupTimes*>(&times), sizeof times}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = data;
  message.msg_iovlen = 2;
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

uint64_t monotonicNanoseconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

void reportLoaded() {
  uint64_t loaded = monotonicNanoseconds();
  iovec data{&loaded, sizeof loaded};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  // Only a timing: a worker whose supervisor stopped listening goes on to find out by RPC.
  (void)sendmsg(protocol::kControlFd, &message, MSG_NOSIGNAL);
}

void installSeccompFilter(const std::vector<sock_filter>& program, protocol::SetupTimes times) {
  sock_fprog prog{static_cast<unsigned short>(program.size()),
                  const_cast<sock_filter*>(program.data())};
  long listener =
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  checkSys(listener, "seccomp filter");
  // From here on the worker is under the filter: close and sendmsg are in its runtime set.
  times.filtered = monotonicNanoseconds();
  sendListener(static_cast<int>(listener), times);
  close(static_cast<int>(listener));
  // kControlFd stays open: the supervisor sends the memfds of mapInput and createOutput on it.
}

}  // namespace cordon::worker
