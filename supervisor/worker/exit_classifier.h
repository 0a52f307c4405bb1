// The one place that decides what happened to a worker (docs/errors.md): from how it exited and
// what the supervisor itself saw and did, a typed fault (or none, for an orderly stop). A seccomp
// violation comes from the kernel (user notification), never from the worker; the memory-limit
// report line on stderr is believed only when the exit code says the worker code wrote it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "gate/syscall_target.h"
#include "policy/policy.h"
#include "run/run_events.h"
#include "worker/worker_process.h"

namespace cordon {

// A syscall the filter sent to the supervisor and the gate refused; the worker was killed.
struct SyscallViolation {
  int number = -1;
  std::string name;
  std::array<uint64_t, 6> args{};
  SyscallTarget target;  // what it named: a path, a socket address
};

// Why the supervisor killed the worker, when it did. Believed before anything the exit says.
struct KilledForTimeout {
  std::chrono::milliseconds limit{0};
  bool stepsOwn = false;  // the step's timeout_ms, lower than the policy's, ran out
};
struct KilledForSyscall {
  SyscallViolation violation;
};
struct KilledForCode {  // after loading, a mapping W^X forbids
  std::string mapping;
};
using HostKill = std::variant<std::monostate, KilledForTimeout, KilledForSyscall, KilledForCode>;

// How far the worker had come, as the supervisor saw it (not as the worker says): the worker
// sends its seccomp listener over the control socket only after its sandbox is complete, and
// answers `describe` only after the plugin is loaded. Exit codes that claim a setup or load
// failure are believed only in the phase where the worker's own code alone could have chosen them.
enum class WorkerPhase {
  kSettingUp,  // no listener yet: no plugin code has run
  kLoading,    // listener received, no describe answer: dlopen (plugin constructors) under way
  kServing,    // the plugin is loaded: every exit is the plugin's
};

// How the worker's last call ended.
enum class CallEnding {
  kNone,          // no call failed: the supervisor stopped the worker between calls
  kDisconnected,  // the connection dropped during a call
  kRejected,      // the RPC layer rejected what the worker sent (the supervisor then killed it)
};

struct WorkerEnding {
  WorkerExit exit;
  WorkerPhase phase = WorkerPhase::kServing;
  HostKill killed;
  CallEnding call = CallEnding::kNone;
  std::string rpcCause;    // the RPC layer's words, for kDisconnected and kRejected
  bool lingered = false;   // still alive after the grace period: the supervisor killed it
  bool oomKilled = false;  // its cgroup's memory.events counted an OOM kill
};

// nullopt: the worker stopped in order. After a failed call (`call` is not kNone) there is always
// a fault, a crash when nothing more particular explains the exit.
std::optional<WorkerFault> classifyWorkerExit(const WorkerEnding& ending,
                                              const PluginPolicy& policy);

}  // namespace cordon
