#include "worker/worker_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "worker_protocol.h"

namespace cordon {
namespace {

constexpr size_t kStderrTailBytes = 8192;

Error spawnError(const std::string& what) {
  return makeError(ErrorCategory::kInternal,
                   "cannot start worker: " + what + ": " + std::strerror(errno));
}

// Closes descriptors on every early return of spawn().
struct FdGuard {
  int fds[6] = {-1, -1, -1, -1, -1, -1};
  ~FdGuard() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  int release(int index) {
    int fd = fds[index];
    fds[index] = -1;
    return fd;
  }
};

}  // namespace

std::string WorkerExit::describe() const {
  if (!signaled) return "exit code " + std::to_string(code);
  const char* name = sigabbrev_np(code);
  return std::string("signal ") + (name ? std::string("SIG") + name : std::to_string(code));
}

Outcome<std::unique_ptr<WorkerProcess>> WorkerProcess::spawn(
    kj::AsyncIoContext& io, const std::string& workerBinary,
    const std::vector<unsigned char>& spec) {
  enum { kRpcParent, kRpcChild, kErrRead, kErrWrite, kSpec, kPidfd };
  FdGuard fd;
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return spawnError("socketpair");
  fd.fds[kRpcParent] = pair[0];
  fd.fds[kRpcChild] = pair[1];
  int pipeFds[2];
  if (pipe2(pipeFds, O_CLOEXEC) != 0) return spawnError("pipe2");
  fd.fds[kErrRead] = pipeFds[0];
  fd.fds[kErrWrite] = pipeFds[1];
  fd.fds[kSpec] = memfd_create("cordon-sandbox-spec", MFD_CLOEXEC);
  if (fd.fds[kSpec] < 0) return spawnError("memfd_create");
  if (write(fd.fds[kSpec], spec.data(), spec.size()) != static_cast<ssize_t>(spec.size()) ||
      lseek(fd.fds[kSpec], 0, SEEK_SET) != 0) {
    return spawnError("write sandbox spec");
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd.fds[kErrWrite], protocol::kReportFd);
  posix_spawn_file_actions_adddup2(&actions, fd.fds[kRpcChild], protocol::kRpcFd);
  posix_spawn_file_actions_adddup2(&actions, fd.fds[kSpec], protocol::kSpecFd);
  char* argv[] = {const_cast<char*>(workerBinary.c_str()), nullptr};
  char* envp[] = {nullptr};  // the worker starts with an empty environment
  pid_t pid = -1;
  int rc = posix_spawn(&pid, workerBinary.c_str(), &actions, nullptr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return spawnError(workerBinary);
  }
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return spawnError("pidfd_open");
  }
  auto rpc = io.lowLevelProvider->wrapSocketFd(fd.release(kRpcParent),
                                               kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  auto err = io.lowLevelProvider->wrapInputFd(fd.release(kErrRead),
                                              kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  return std::unique_ptr<WorkerProcess>(
      new WorkerProcess(io, pid, pidfd, kj::mv(rpc), kj::mv(err)));
}

WorkerProcess::WorkerProcess(kj::AsyncIoContext& io, pid_t pid, int pidfd,
                             kj::Own<kj::AsyncIoStream> rpc, kj::Own<kj::AsyncInputStream> err)
    : pid_(pid),
      pidfd_(pidfd),
      rpcStream_(kj::mv(rpc)),
      stderr_(kj::mv(err)),
      pidObserver_(io.unixEventPort, pidfd_.get(), kj::UnixEventPort::FdObserver::OBSERVE_READ),
      exit_(drainStderr()
                .then([this]() { return awaitExit(); })
                .then([this]() { return reap(); })
                .fork()) {}

WorkerProcess::~WorkerProcess() {
  if (!reaped_) {
    kill();
    waitpid(pid_, nullptr, 0);  // the process is already dying: this does not block for long
  }
}

void WorkerProcess::kill() {
  if (!reaped_) syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
}

kj::Promise<void> WorkerProcess::drainStderr() {
  return stderr_->tryRead(readBuffer_, 1, sizeof readBuffer_)
      .then([this](size_t n) -> kj::Promise<void> {
        if (n == 0) return kj::READY_NOW;
        stderrTail_.append(readBuffer_, n);
        if (stderrTail_.size() > kStderrTailBytes) {
          stderrTail_.erase(0, stderrTail_.size() - kStderrTailBytes);
        }
        return drainStderr();
      });
}

kj::Promise<void> WorkerProcess::awaitExit() {
  // The observer is edge-triggered: an exit that happened before we started waiting would never
  // fire, so look first.
  struct pollfd probe {
    pidfd_.get(), POLLIN, 0
  };
  if (poll(&probe, 1, 0) == 1) return kj::READY_NOW;
  return pidObserver_.whenBecomesReadable().then([this]() { return awaitExit(); });
}

WorkerExit WorkerProcess::reap() {
  int status = 0;
  struct rusage usage {};
  WorkerExit exit;
  if (wait4(pid_, &status, 0, &usage) == pid_) {
    exit.signaled = WIFSIGNALED(status);
    exit.code = exit.signaled ? WTERMSIG(status) : WEXITSTATUS(status);
    exit.maxRssKib = static_cast<uint64_t>(usage.ru_maxrss);
    exit.cpuSeconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                      static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  reaped_ = true;
  exit.stderrTail = stderrTail_;
  return exit;
}

}  // namespace cordon
