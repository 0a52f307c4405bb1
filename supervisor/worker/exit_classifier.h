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

// `killedForTimeout`: the supervisor killed it because a call ran out of time.
// `violation`: the supervisor killed it for this syscall.
ExitVerdict classifyWorkerExit(const WorkerExit& exit, const PluginPolicy& policy,
                               bool killedForTimeout,
                               const std::optional<SyscallViolation>& violation);

}  // namespace cordon
