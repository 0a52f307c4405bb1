// A cordon-worker child process: spawned with exactly the descriptors of worker_protocol.h and an
// empty environment, watched through a pidfd, reaped once with its resource usage.
#pragma once

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/io.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "worker_protocol.h"

namespace cordon {

struct WorkerExit {
  bool signaled = false;
  int code = 0;  // exit code, or the signal number when signaled
  uint64_t maxRssKib = 0;
  double cpuSeconds = 0;
  std::string stderrTail;        // the last few KiB the worker wrote to fd 2
  std::string describe() const;  // "exit code 3" / "signal SIGSEGV"
};

class WorkerProcess {
 public:
  // `spec` is the serialized SandboxSpec message handed over on fd 4; `pluginFd` the sealed
  // memfd of the verified plugin, handed over on fd 6.
  static Outcome<std::unique_ptr<WorkerProcess>> spawn(kj::AsyncIoContext& io,
                                                       const std::string& workerBinary,
                                                       const std::vector<unsigned char>& spec,
                                                       int pluginFd, int cgroupFd = -1);
  ~WorkerProcess();

  pid_t pid() const { return pid_; }
  // Sends a descriptor to the worker on its control socket (SCM_RIGHTS, with `token` as the
  // 8 data bytes) without blocking: a worker that does not take its descriptors finds the
  // socket full, and its host call fails.
  Outcome<Done> sendDescriptor(int fd, uint64_t token);
  kj::Own<kj::AsyncIoStream> takeRpcStream() { return kj::mv(rpcStream_); }

  // SIGKILL; harmless after the worker is gone (the pidfd never names another process).
  void kill();

  // The worker's seccomp listener, sent once it has installed its filter (before the plugin is
  // loaded). Fails if the worker dies first. Call once.
  kj::Promise<kj::AutoCloseFd> receiveSeccompListener();
  // Whether the worker sent its listener, i.e. finished its sandbox before any plugin code ran.
  // Plugin code cannot fake this: the control socket is closed before the plugin is loaded.
  bool sandboxComplete() const;
  // When the worker passed each step of its setup, as it sent them with its listener (zeros
  // until then, or when it sent none).
  const protocol::SetupTimes& setupTimes() const { return setupTimes_; }
  // When the worker said its plugin was loaded (CLOCK_MONOTONIC ns), if that has arrived. The
  // plugin's constructors ran before it, so it is the plugin's word: use it as a timing only.
  std::optional<uint64_t> takeLoadedTime();

  // Resolves once the worker has exited and its stderr is drained. May be called many times.
  kj::Promise<WorkerExit> exited() { return exit_.addBranch(); }
  bool hasExited() const { return reaped_; }

 private:
  WorkerProcess(kj::AsyncIoContext& io, pid_t pid, int pidfd, kj::Own<kj::AsyncIoStream> rpc,
                kj::Own<kj::AsyncInputStream> stderrPipe,
                kj::Own<kj::AsyncCapabilityStream> control);
  kj::Promise<void> drainStderr();
  kj::Promise<void> awaitExit();
  WorkerExit reap();

  pid_t pid_;
  kj::AutoCloseFd pidfd_;  // declared before pidObserver_: closed only after it is gone
  bool reaped_ = false;
  kj::Own<kj::AsyncIoStream> rpcStream_;
  kj::Own<kj::AsyncInputStream> stderr_;
  kj::Own<kj::AsyncCapabilityStream> control_;
  int controlFd_ = -1;  // control_'s descriptor, owned by it
  bool sandboxComplete_ = false;
  protocol::SetupTimes setupTimes_;
  std::string stderrTail_;
  char readBuffer_[4096] = {};
  kj::UnixEventPort::FdObserver pidObserver_;
  kj::ForkedPromise<WorkerExit> exit_;
};

}  // namespace cordon
