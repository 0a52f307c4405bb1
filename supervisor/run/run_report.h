// What a run produced: each step's state, times and worker, the workflow's outputs and the
// first failure. Built by the engine, read by the CLI (--json), learn mode and the tests.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "run/artifacts.h"

namespace cordon {

enum class StepState { kSucceeded, kFailed, kSkipped };

const char* stepStateName(StepState state);

struct StepReport {
  std::string name;
  std::string plugin;
  StepState state = StepState::kSkipped;
  std::optional<Error> error;
  double milliseconds = 0;
  // From the run's start, in milliseconds; both 0 for a skipped step.
  double startedMs = 0;
  double endedMs = 0;
  pid_t workerPid = 0;    // the worker that ran its last attempt; 0 when none did
  unsigned attempts = 0;  // every attempt, of every item of a for_each
  size_t items = 0;       // a for_each step's items
  std::map<std::string, uint64_t> outputSizes;
};

// How often the gate refused one method of one step (gate.deny records, with those past the
// per-call record cap that gate.deny_suppressed summed up, whose method is the call's).
struct DenialCount {
  std::string step;
  std::string direction;  // supervisor->plugin, plugin->host, plugin->kernel, ...; "" when summed
  std::string method;
  std::optional<ErrorCategory> category;
  uint64_t count = 0;
};

struct RunReport {
  std::string workflow;
  std::string runId;
  std::vector<StepReport> steps;     // in the workflow's order
  ArtifactMap outputs;               // the workflow's declared outputs
  std::optional<Error> error;        // the first failure; empty when the run succeeded
  std::optional<int> cancelledBy;    // SIGINT or SIGTERM, when the operator stopped the run
  std::vector<DenialCount> denials;  // every refusal of the run, a run that succeeded included
  uint64_t denialTotal() const;
  bool ok() const { return !error.has_value(); }
  const char* status() const;  // "succeeded", "failed" or "cancelled"
};

}  // namespace cordon
