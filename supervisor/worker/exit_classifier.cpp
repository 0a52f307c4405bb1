#include "worker/exit_classifier.h"

#include <signal.h>

#include <cstdio>
#include <cstring>
#include <sstream>

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

ExitVerdict verdict(ErrorCategory category, std::string message, std::string event,
                    nlohmann::json fields) {
  fields["category"] = categoryName(category);
  fields["detail"] = message;
  return {makeError(category, std::move(message)), std::move(event), std::move(fields)};
}

}  // namespace

ExitVerdict classifyWorkerExit(const WorkerExit& exit, const PluginPolicy& policy,
                               bool killedForTimeout,
                               const std::optional<SyscallViolation>& violation,
                               WorkerPhase phase) {
  nlohmann::json fields = {
      {"exit", exit.describe()}, {"max_rss_kib", exit.maxRssKib}, {"cpu_seconds", exit.cpuSeconds}};
  if (killedForTimeout) {
    return verdict(ErrorCategory::kTimeout,
                   "no answer within " + std::to_string(policy.callTimeout.count()) +
                       " ms; the worker was killed",
                   "plugin.timeout", fields);
  }
  if (violation) {
    std::string args;
    for (uint64_t arg : violation->args) {
      char hex[24];
      std::snprintf(hex, sizeof hex, "%s0x%llx", args.empty() ? "" : ",",
                    static_cast<unsigned long long>(arg));
      args += hex;
    }
    fields["syscall"] = violation->name;
    fields["args"] = args;
    return verdict(ErrorCategory::kSandboxViolation,
                   "the plugin called " + violation->name +
                       ", which its policy does not allow; the worker was stopped",
                   "sandbox.violation", fields);
  }
  if (exit.signaled && exit.code == SIGSYS) {
    // Only a foreign architecture's syscall ends a worker this way (SECCOMP_RET_KILL_PROCESS).
    return verdict(ErrorCategory::kSandboxViolation,
                   "killed by the seccomp filter (a syscall of a foreign architecture)",
                   "sandbox.violation", fields);
  }
  if (!exit.signaled && exit.code == protocol::kExitMemoryLimit) {
    // The report line is the plugin process's to write: take a number from it, nothing else.
    std::string requested = field(reportLine(exit.stderrTail, "memory-limit"), "requested");
    if (requested.size() > 20 || requested.find_first_not_of("0123456789") != std::string::npos)
      requested.clear();
    fields["limit"] = "memory";
    return verdict(ErrorCategory::kResourceLimit,
                   "memory limit of " + std::to_string(policy.limits.memoryBytes >> 20) +
                       " MiB reached (an allocation of " + (requested.empty() ? "?" : requested) +
                       " bytes failed)",
                   "resource.limit", fields);
  }
  if (exit.signaled &&
      (exit.code == SIGXCPU ||
       (exit.code == SIGKILL &&
        exit.cpuSeconds + 0.05 >= static_cast<double>(policy.limits.cpuSeconds)))) {
    fields["limit"] = "cpu";
    return verdict(ErrorCategory::kResourceLimit,
                   "CPU limit of " + std::to_string(policy.limits.cpuSeconds) + " s reached",
                   "resource.limit", fields);
  }
  if (exit.signaled && exit.code == SIGXFSZ) {
    fields["limit"] = "file_size";
    return verdict(ErrorCategory::kResourceLimit, "file size limit reached", "resource.limit",
                   fields);
  }
  if (!exit.signaled && exit.code == protocol::kExitSetupFailed &&
      phase == WorkerPhase::kSettingUp) {
    return verdict(ErrorCategory::kInternal,
                   "the sandbox could not be set up" + reportLine(exit.stderrTail, "setup-failed"),
                   "sandbox.setup_failed", fields);
  }
  if (!exit.signaled && exit.code == protocol::kExitPluginRejected &&
      phase != WorkerPhase::kServing) {
    return verdict(
        ErrorCategory::kBadInput,
        "the plugin could not be loaded" + reportLine(exit.stderrTail, "plugin-rejected"),
        "plugin.rejected", fields);
  }
  if (exit.signaled) {
    const char* name = sigabbrev_np(exit.code);
    fields["signal"] = name ? std::string("SIG") + name : std::to_string(exit.code);
  }
  fields["phase"] = phase == WorkerPhase::kSettingUp ? "setting_up"
                    : phase == WorkerPhase::kLoading ? "loading"
                                                     : "serving";
  return verdict(ErrorCategory::kCrash,
                 std::string(phase == WorkerPhase::kServing ? "the worker died mid-call ("
                                                            : "the worker died while loading (") +
                     exit.describe() + ")",
                 "plugin.crash", fields);
}

}  // namespace cordon
