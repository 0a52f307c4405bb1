#include "worker/exit_classifier.h"

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/syscall_arguments.h"
#include "worker_protocol.h"

namespace cordon {
namespace {

// The last report line the worker wrote ("cordon-worker: KIND rest"), or "".
std::string reportLine(const std::string& stderrTail, const std::string& kind) {
  const std::string prefix = std::string(protocol::kReportPrefix) + kind;
  auto at = stderrTail.rfind(prefix);
  if (at == std::string::npos) return "";
  auto end = stderrTail.find('\n', at);
  return stderrTail.substr(at + prefix.size(),
                           end == std::string::npos ? std::string::npos : end - at - prefix.size());
}

std::string field(const std::string& line, const std::string& key) {
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
  }
  return "";
}

WorkerFault fault(WorkerFault::Kind kind, ErrorCategory category, std::string message) {
  WorkerFault made;
  made.kind = kind;
  made.error = makeError(category, std::move(message));
  return made;
}

WorkerFault resourceLimit(const char* limit, std::string message) {
  WorkerFault made =
      fault(WorkerFault::Kind::kResourceLimit, ErrorCategory::kResourceLimit, std::move(message));
  made.limit = limit;
  return made;
}

// What the supervisor's own kill says, if it killed the worker.
std::optional<WorkerFault> hostKillFault(const HostKill& killed, const PluginPolicy& policy) {
  if (const auto* timeout = std::get_if<KilledForTimeout>(&killed)) {
    const auto limit = timeout->limit.count() > 0 ? timeout->limit : policy.callTimeout;
    return fault(WorkerFault::Kind::kTimeout, ErrorCategory::kTimeout,
                 "no answer within " + std::to_string(limit.count()) + " ms (" +
                     (timeout->stepsOwn ? "what was left of the step's timeout_ms"
                                        : "the policy's timeout_ms") +
                     "); the worker was killed");
  }
  if (const auto* syscall = std::get_if<KilledForSyscall>(&killed)) {
    WorkerFault made = fault(WorkerFault::Kind::kSandboxViolation, ErrorCategory::kSandboxViolation,
                             "the plugin called " + syscall->violation.name +
                                 ", which its policy does not allow; the worker was stopped");
    made.syscall = syscall->violation.name;
    uint64_t args[6];
    std::copy(syscall->violation.args.begin(), syscall->violation.args.end(), args);
    made.args = syscallArgumentsText(args);
    made.path = syscall->violation.target.path;
    made.address = syscall->violation.target.address;
    return made;
  }
  if (const auto* code = std::get_if<KilledForCode>(&killed)) {
    WorkerFault made =
        fault(WorkerFault::Kind::kSandboxViolation, ErrorCategory::kSandboxViolation,
              "after loading, the worker holds code that was not mapped from a file or is writable "
              "(W^X): " +
                  code->mapping);
    made.mapping = code->mapping;
    return made;
  }
  return std::nullopt;
}

// What the exit status says, given the phase it came in.
WorkerFault exitFault(const WorkerEnding& ending, const PluginPolicy& policy) {
  const WorkerExit& exit = ending.exit;
  if (exit.signaled && exit.code == SIGSYS) {
    // Only a foreign architecture's syscall ends a worker this way (SECCOMP_RET_KILL_PROCESS).
    return fault(WorkerFault::Kind::kSandboxViolation, ErrorCategory::kSandboxViolation,
                 "killed by the seccomp filter (a syscall of a foreign architecture)");
  }
  if (exit.signaled && exit.code == SIGKILL && ending.oomKilled) {
    // Killed by the kernel at memory.max (only with a delegated cgroup v2 tree).
    return resourceLimit("memory.max", "the worker reached its cgroup memory.max (" +
                                           std::to_string(policy.limits.memoryBytes >> 20) +
                                           " MiB) and the kernel's cgroup OOM killer stopped it (" +
                                           policy.fieldPath("limits.memory_mb") + ")");
  }
  if (!exit.signaled && exit.code == protocol::kExitMemoryLimit) {
    // The report line is the plugin process's to write: take a number from it, nothing else.
    std::string requested = field(reportLine(exit.stderrTail, "memory-limit"), "requested");
    if (requested.size() > 20 || requested.find_first_not_of("0123456789") != std::string::npos)
      requested.clear();
    return resourceLimit(
        "memory", "memory limit of " + std::to_string(policy.limits.memoryBytes >> 20) +
                      " MiB reached (an allocation of " + (requested.empty() ? "?" : requested) +
                      " bytes failed; " + policy.fieldPath("limits.memory_mb") + ")");
  }
  if (exit.signaled &&
      (exit.code == SIGXCPU ||
       (exit.code == SIGKILL &&
        exit.cpuSeconds + 0.05 >= static_cast<double>(policy.limits.cpuSeconds)))) {
    return resourceLimit("cpu", "CPU limit of " + std::to_string(policy.limits.cpuSeconds) +
                                    " s reached (" + policy.fieldPath("limits.cpu_seconds") + ")");
  }
  if (exit.signaled && exit.code == SIGXFSZ)
    return resourceLimit("file_size",
                         "file size limit of " + std::to_string(policy.limits.fileSizeBytes >> 20) +
                             " MiB reached (" + policy.fieldPath("limits.file_size_mb") + ")");
  if (!exit.signaled && exit.code == protocol::kExitSetupFailed &&
      ending.phase == WorkerPhase::kSettingUp) {
    return fault(WorkerFault::Kind::kSetupFailed, ErrorCategory::kInternal,
                 "the sandbox could not be set up" + reportLine(exit.stderrTail, "setup-failed"));
  }
  if (!exit.signaled && exit.code == protocol::kExitPluginRejected &&
      ending.phase != WorkerPhase::kServing) {
    return fault(WorkerFault::Kind::kPluginRejected, ErrorCategory::kBadInput,
                 "the plugin could not be loaded" + reportLine(exit.stderrTail, "plugin-rejected"));
  }
  WorkerFault crash =
      fault(WorkerFault::Kind::kCrash, ErrorCategory::kCrash,
            std::string(ending.phase == WorkerPhase::kServing ? "the worker died mid-call ("
                                                              : "the worker died while loading (") +
                exit.describe() + ")");
  if (exit.signaled) {
    const char* name = sigabbrev_np(exit.code);
    crash.signal = name ? std::string("SIG") + name : std::to_string(exit.code);
  }
  crash.phase = ending.phase == WorkerPhase::kSettingUp ? "setting_up"
                : ending.phase == WorkerPhase::kLoading ? "loading"
                                                        : "serving";
  return crash;
}

}  // namespace

std::optional<WorkerFault> classifyWorkerExit(const WorkerEnding& ending,
                                              const PluginPolicy& policy) {
  if (auto killed = hostKillFault(ending.killed, policy)) return killed;
  if (ending.call == CallEnding::kNone) return std::nullopt;  // stopped between calls, in order
  // kj reports a message it could not parse as a lost connection too, so a dropped connection
  // alone does not say who broke it. A worker that crashed or was stopped by the sandbox is gone
  // within milliseconds; one still there after the grace period lost its connection because the
  // supervisor dropped it for a protocol violation, and one that exits cleanly mid-call broke
  // the contract as well.
  const bool cleanExit = !ending.exit.signaled && ending.exit.code == 0;
  if (ending.call == CallEnding::kRejected || ending.lingered || cleanExit) {
    return fault(WorkerFault::Kind::kProtocolError, ErrorCategory::kProtocolError,
                 "the worker broke the RPC contract: " + ending.rpcCause);
  }
  return exitFault(ending, policy);
}

}  // namespace cordon
