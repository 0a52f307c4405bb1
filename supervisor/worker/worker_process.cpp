#include "worker/worker_process.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "worker/coverage_sink.h"
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
  int fds[9] = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
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

// The worker gets its namespaces at birth: a PID namespace can only be entered by a new process,
// and a user namespace made here lets the child map its ids before it execs (after the exec it
// would hold no capability to do so). The worker configures the rest (docs/architecture.md).
constexpr uint64_t kWorkerNamespaces = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                                       CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

// Everything the child needs, prepared before the clone: between clone and exec it may only make
// async-signal-safe calls (no allocation: the parent's heap locks may be held).
struct SpawnPlan {
  const char* binary;
  int errWrite;
  int rpcChild;
  int spec;
  int control;
  int controlParent;  // the supervisor's end, which the child's copy of the fd table holds too
  int plugin;
  int coverage;  // -1 but in coverage builds (worker/coverage_sink.h)
  char uidMap[32];
  char gidMap[32];
};

bool writeProcFile(const char* path, const char* text) {
  int file = open(path, O_WRONLY | O_CLOEXEC);
  if (file < 0) return false;
  ssize_t length = static_cast<ssize_t>(std::strlen(text));
  bool ok = write(file, text, static_cast<size_t>(length)) == length;
  close(file);
  return ok;
}

[[noreturn]] void execWorker(const SpawnPlan& plan) {
  // The child: map uid and gid (setgroups must be denied first), wire fds 2 to 6 (and 7 in
  // coverage builds), exec.
  // The worker dies with the supervisor, even a SIGKILLed one, even busy in plugin code: set
  // here, before anything else, it holds across execve and through the worker's own setup.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A supervisor that died before that prctl sent no signal. Its end of the control socket
  // closed with it: with this copy of that end gone, a hang-up now means it is dead, so go.
  // (getppid() cannot tell: in a new PID namespace it is 0 either way.)
  close(plan.controlParent);
  struct pollfd supervisorEnd {
    plan.control, POLLRDHUP, 0
  };
  if (poll(&supervisorEnd, 1, 0) > 0 && (supervisorEnd.revents & (POLLRDHUP | POLLHUP)) != 0)
    _exit(protocol::kExitSetupFailed);
  // The supervisor blocks SIGINT and SIGTERM to receive them on its event loop; the worker
  // starts with nothing blocked.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Without a coverage sink nothing stray may sit on fd 7, where coverage builds look for one.
  if (plan.coverage < 0) close(protocol::kCoverageFd);
  bool mapped = writeProcFile("/proc/self/setgroups", "deny") &&
                writeProcFile("/proc/self/uid_map", plan.uidMap) &&
                writeProcFile("/proc/self/gid_map", plan.gidMap);
  if (mapped && dup2(plan.errWrite, protocol::kReportFd) >= 0 &&
      dup2(plan.rpcChild, protocol::kRpcFd) >= 0 && dup2(plan.spec, protocol::kSpecFd) >= 0 &&
      dup2(plan.control, protocol::kControlFd) >= 0 &&
      dup2(plan.plugin, protocol::kPluginFd) >= 0 &&
      (plan.coverage < 0 || dup2(plan.coverage, protocol::kCoverageFd) >= 0)) {
    char* argv[] = {const_cast<char*>(plan.binary), nullptr};
    char* envp[] = {nullptr};  // the worker starts with an empty environment
    execve(plan.binary, argv, envp);
  }
  static const char kFailed[] = "cordon-worker: setup-failed: cannot map ids or exec the worker\n";
  if (write(plan.errWrite, kFailed, sizeof kFailed - 1) < 0) _exit(protocol::kExitSetupFailed);
  _exit(protocol::kExitSetupFailed);
}

}  // namespace

std::string WorkerExit::describe() const {
  if (!signaled) return "exit code " + std::to_string(code);
  const char* name = sigabbrev_np(code);
  return std::string("signal ") + (name ? std::string("SIG") + name : std::to_string(code));
}

Outcome<std::unique_ptr<WorkerProcess>> WorkerProcess::spawn(kj::AsyncIoContext& io,
                                                             const std::string& workerBinary,
                                                             const std::vector<unsigned char>& spec,
                                                             int pluginFd, int cgroupFd) {
  enum {
    kRpcParent,
    kRpcChild,
    kErrRead,
    kErrWrite,
    kSpec,
    kControlParent,
    kControlChild,
    kPlugin,
    kCoverage
  };
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
  int controlPair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, controlPair) != 0) {
    return spawnError("socketpair");
  }
  fd.fds[kControlParent] = controlPair[0];
  fd.fds[kControlChild] = controlPair[1];
  fd.fds[kSpec] = memfd_create("cordon-sandbox-spec", MFD_CLOEXEC);
  if (fd.fds[kSpec] < 0) return spawnError("memfd_create");
  if (write(fd.fds[kSpec], spec.data(), spec.size()) != static_cast<ssize_t>(spec.size()) ||
      lseek(fd.fds[kSpec], 0, SEEK_SET) != 0) {
    return spawnError("write sandbox spec");
  }
  // A duplicate of the caller's sealed plugin memfd: it shares the (sealed) file, not the
  // offset's owner, and the caller keeps its own descriptor for the next worker.
  fd.fds[kPlugin] = fcntl(pluginFd, F_DUPFD_CLOEXEC, 10);
  if (fd.fds[kPlugin] < 0) return spawnError("dup plugin memfd");
  fd.fds[kCoverage] = openWorkerCoverageSink();

  // Every source descriptor moves above the protocol's numbers first, so the child's dup2 calls
  // can never overwrite one another.
  for (int index : {kErrWrite, kRpcChild, kSpec, kControlChild, kPlugin, kCoverage}) {
    if (fd.fds[index] < 0) continue;  // no coverage sink
    int moved = fcntl(fd.fds[index], F_DUPFD_CLOEXEC, 10);
    if (moved < 0) return spawnError("fcntl F_DUPFD_CLOEXEC");
    close(fd.fds[index]);
    fd.fds[index] = moved;
  }
  SpawnPlan plan{workerBinary.c_str(),
                 fd.fds[kErrWrite],
                 fd.fds[kRpcChild],
                 fd.fds[kSpec],
                 fd.fds[kControlChild],
                 fd.fds[kControlParent],
                 fd.fds[kPlugin],
                 fd.fds[kCoverage],
                 {},
                 {}};
  std::snprintf(plan.uidMap, sizeof plan.uidMap, "0 %u 1", static_cast<unsigned>(geteuid()));
  std::snprintf(plan.gidMap, sizeof plan.gidMap, "0 %u 1", static_cast<unsigned>(getegid()));

  int pidfd = -1;
  struct clone_args args {};
  args.flags = CLONE_PIDFD | kWorkerNamespaces;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroupFd >= 0) {
    // Born into its cgroup: its limits hold from the first instruction (cgroup_limits.h).
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroupFd);
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return spawnError("clone3 with new namespaces");
  if (pid == 0) execWorker(plan);  // never returns
  auto rpc = io.lowLevelProvider->wrapSocketFd(fd.release(kRpcParent),
                                               kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  auto err = io.lowLevelProvider->wrapInputFd(fd.release(kErrRead),
                                              kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  const int controlFd = fd.release(kControlParent);
  auto control =
      io.lowLevelProvider->wrapUnixSocketFd(controlFd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  auto process = std::unique_ptr<WorkerProcess>(new WorkerProcess(
      io, static_cast<pid_t>(pid), pidfd, kj::mv(rpc), kj::mv(err), kj::mv(control)));
  process->controlFd_ = controlFd;
  return process;
}

WorkerProcess::WorkerProcess(kj::AsyncIoContext& io, pid_t pid, int pidfd,
                             kj::Own<kj::AsyncIoStream> rpc,
                             kj::Own<kj::AsyncInputStream> stderrPipe,
                             kj::Own<kj::AsyncCapabilityStream> control)
    : pid_(pid),
      pidfd_(pidfd),
      rpcStream_(kj::mv(rpc)),
      stderr_(kj::mv(stderrPipe)),
      control_(kj::mv(control)),
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

Outcome<Done> WorkerProcess::sendDescriptor(int fd, uint64_t token) {
  iovec data{&token, sizeof token};
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
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  ssize_t sent = -1;
  do {
    sent = sendmsg(controlFd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(sizeof token)) {
    return makeError(ErrorCategory::kResourceLimit,
                     errno == EAGAIN ? "the worker does not take the descriptors it asked for"
                                     : std::string("cannot send a descriptor to the worker: ") +
                                           std::strerror(errno));
  }
  return Done{};
}

kj::Promise<kj::AutoCloseFd> WorkerProcess::receiveSeccompListener() {
  return control_->receiveFd().then([this](kj::AutoCloseFd listener) {
    sandboxComplete_ = true;
    // Sent in the same message as the listener, so already here.
    protocol::SetupTimes times;
    if (recv(controlFd_, &times, sizeof times, MSG_DONTWAIT) == sizeof times) setupTimes_ = times;
    return listener;
  });
}

std::optional<uint64_t> WorkerProcess::takeLoadedTime() {
  uint64_t loaded = 0;
  if (controlFd_ < 0 || recv(controlFd_, &loaded, sizeof loaded, MSG_DONTWAIT) != sizeof loaded)
    return std::nullopt;
  return loaded;
}

bool WorkerProcess::sandboxComplete() const {
  if (sandboxComplete_) return true;
  // Sent but not yet taken by the event loop: the message is waiting on the socket.
  char byte = 0;
  return controlFd_ >= 0 && recv(controlFd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
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
