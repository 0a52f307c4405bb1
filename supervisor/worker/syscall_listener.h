// Answers a worker's seccomp user notifications (the syscalls its filter hands to the supervisor)
// with the gate's decisions, for as long as the worker lives. A refused syscall leaves the
// worker blocked in it; the listener reports it and the worker handle kills the worker.
#pragma once

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <linux/seccomp.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "gate/gate.h"
#include "worker/exit_classifier.h"

namespace cordon {

class SyscallListener {
 public:
  struct Context {
    Gate* gate = nullptr;
    std::string plugin;
    pid_t pid = 0;
    // The call in flight, whose syscalls these are (null between calls).
    std::function<CallScope*()> currentCall;
    // Whether the plugin is still being loaded (the dynamic loader's syscalls pass).
    std::function<bool()> loading;
    // The gate refused this syscall: the worker must not go on.
    std::function<void(const SyscallViolation&)> refuse;
  };

  SyscallListener(kj::UnixEventPort& port, kj::AutoCloseFd listener, Context context);

  // Resolves when the worker is gone (the listener hangs up).
  kj::Promise<void> watch();

 private:
  void answer();
  // Learning only: opens the file a notified openat names on the host and hands it in.
  void openOnHost(const seccomp_notif& request, CallScope& scope);

  kj::AutoCloseFd listener_;
  kj::UnixEventPort::FdObserver observer_;
  Context context_;
};

}  // namespace cordon
