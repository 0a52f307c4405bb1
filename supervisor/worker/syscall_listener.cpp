#include "worker/syscall_listener.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "policy/seccomp_compiler.h"
#include "worker/worker_memory.h"

namespace cordon {
SyscallListener::SyscallListener(kj::UnixEventPort& port, kj::AutoCloseFd listener, Context context)
    : listener_(kj::mv(listener)),
      observer_(port, listener_.get(), kj::UnixEventPort::FdObserver::OBSERVE_READ),
      context_(std::move(context)) {}

kj::Promise<void> SyscallListener::watch() {
  // The observer is edge-triggered: drain what is pending before waiting for more.
  for (;;) {
    struct pollfd probe {
      listener_.get(), POLLIN, 0
    };
    if (poll(&probe, 1, 0) != 1) break;
    if ((probe.revents & POLLIN) == 0) return kj::READY_NOW;  // hung up: the worker is gone
    answer();
  }
  return observer_.whenBecomesReadable().then([this]() { return watch(); });
}

void SyscallListener::answer() {
  struct seccomp_notif request {};
  if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) return;  // it died
  const int number = request.data.nr;
  CallScope outsideAnyCall(context_.plugin, "", PluginMethod::kDescribe);
  CallScope* current = context_.currentCall();
  CallScope& scope = current != nullptr ? *current : outsideAnyCall;
  uint64_t args[6];
  std::copy(std::begin(request.data.args), std::end(request.data.args), std::begin(args));
  const SyscallTarget target = readSyscallTarget(context_.pid, number, args);
  auto decision = context_.gate->admitSyscall(scope, context_.loading(), number, args, target);
  using Kind = Gate::SyscallDecision::Kind;
  if (decision.kind == Kind::kOpenOnHost) {
    openOnHost(request, scope);
    return;
  }
  if (decision.kind != Kind::kStopWorker) {
    struct seccomp_notif_resp response {};
    response.id = request.id;
    if (decision.kind == Kind::kAllow) {
      response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      response.error = -decision.error;
    }
    ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response);
    return;
  }
  // Refused: unanswered, the worker stays blocked in the syscall until it is killed.
  SyscallViolation violation{number, syscallName(number), {}, target};
  std::copy(std::begin(request.data.args), std::end(request.data.args), violation.args.begin());
  context_.refuse(violation);
}

void SyscallListener::openOnHost(const seccomp_notif& request, CallScope& scope) {
  struct seccomp_notif_resp response {};
  response.id = request.id;
  const int dirfd = static_cast<int>(request.data.args[0]);
  std::string path = readWorkerString(context_.pid, request.data.args[1]);
  // The worker's working directory is the root of its own tree; other directory descriptors
  // cannot be resolved from here.
  if (!path.empty() && path[0] != '/') path = dirfd == AT_FDCWD ? "/" + path : "";
  // The worker could have changed the string since; the answer is only for a call still waiting.
  uint64_t id = request.id;
  if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return;
  auto decision = context_.gate->learnOpen(scope, path, request.data.args[2]);
  if (decision.kind == Gate::SyscallDecision::Kind::kOpenOnHost) {
    const auto flags = static_cast<int>(request.data.args[2]);
    kj::AutoCloseFd file(
        open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & O_DIRECTORY)));
    if (file.get() >= 0) {
      struct seccomp_notif_addfd addfd {};
      addfd.id = request.id;
      addfd.flags = SECCOMP_ADDFD_FLAG_SEND;  // installs it and completes the openat with it
      addfd.srcfd = static_cast<uint32_t>(file.get());
      addfd.newfd_flags = static_cast<uint32_t>(flags & O_CLOEXEC);
      if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0) return;
    }
    decision = {Gate::SyscallDecision::Kind::kFailWithErrno, errno};
  }
  response.error = -decision.error;
  ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response);
}

}  // namespace cordon
