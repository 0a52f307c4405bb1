// Turns how a worker died into an Error with the right category (docs/errors.md). A seccomp
// violation comes from the kernel (user notification), never from the worker; the memory-limit
// report line on stderr is believed only when the exit code says the worker code wrote it.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"
#include "policy/policy.h"
#include "worker/worker_process.h"

namespace cordon {

struct ExitVerdict {
  Error error;
  std::string auditEvent;  // "sandbox.violation", "plugin.crash", "resource.limit", ...
  nlohmann::json auditFields;
};

// A syscall the filter sent to the supervisor and the gate refused; the worker was killed.
struct SyscallViolation {
  int number = -1;
  std::string name;
  std::array<uint64_t, 6> args{};
};

// How far the worker had come, as the supervisor saw it (not as the worker says): the worker
// sends its seccomp listener over the control socket only after its sandbox is complete, and
// answers `describe` only after the plugin is loaded. Exit codes that claim a setup or load
// failure are believed only in the phase where the worker's own code alone could have chosen them.
enum class WorkerPhase {
  kSettingUp,  // no listener yet: no plugin code has run
  kLoading,    // listener received, no describe answer: dlopen (plugin constructors) under way
  kServing,    // the plugin is loaded: every exit is the plugin's
};

// `killedForTimeout`: the supervisor killed it because a call ran out of time.
// `violation`: the supervisor killed it for this syscall.
ExitVerdict classifyWorkerExit(const WorkerExit& exit, const PluginPolicy& policy,
                               bool killedForTimeout,
                               const std::optional<SyscallViolation>& violation, WorkerPhase phase);

}  // namespace cordon
