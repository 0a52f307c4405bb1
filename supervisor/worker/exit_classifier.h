// Turns how a worker died into an Error with the right category (docs/errors.md). The report
// line on stderr is believed only when the exit code says the worker code wrote it.
#pragma once

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "policy/policy.h"
#include "worker/worker_process.h"

namespace cordon {

struct ExitVerdict {
  Error error;
  std::string auditEvent;  // "sandbox.violation", "plugin.crash", "resource.limit", ...
  nlohmann::json auditFields;
};

// `killedForTimeout`: the supervisor killed it because a call ran out of time.
ExitVerdict classifyWorkerExit(const WorkerExit& exit, const PluginPolicy& policy,
                               bool killedForTimeout);

}  // namespace cordon
