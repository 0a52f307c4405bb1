// Runs a validated workflow graph: one worker per plugin, kept for every step that uses it;
// steps in topological order. A failed step fails the run and skips every step that depends on
// it; steps that do not depend on it still run.
#pragma once

#include <kj/async-io.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/error.h"
#include "policy/policy.h"
#include "scheduler/artifacts.h"
#include "scheduler/run_observer.h"
#include "trust/plugin_verifier.h"
#include "trust/version_ledger.h"
#include "workflow/graph.h"

namespace cordon {

enum class StepState { kSucceeded, kFailed, kSkipped };

struct StepReport {
  std::string name;
  std::string plugin;
  StepState state = StepState::kSkipped;
  std::optional<Error> error;
  double milliseconds = 0;
  std::map<std::string, uint64_t> outputSizes;
};

struct RunReport {
  std::string workflow;
  std::string runId;
  std::vector<StepReport> steps;
  ArtifactMap outputs;             // the workflow's declared outputs
  std::optional<Error> error;      // the first failure; empty when the run succeeded
  std::optional<int> cancelledBy;  // SIGINT or SIGTERM, when the operator stopped the run
  bool ok() const { return !error.has_value(); }
};

inline constexpr uint64_t kDefaultMaxInputBytes = 1ull << 30;  // 1 GiB (--max-input-mb)

struct SchedulerConfig {
  std::string workerBinary;
  std::map<std::string, VerifiedPlugin> plugins;  // by name, from preflight: what may run
  VersionLedger* ledger = nullptr;                // raised for each plugin that starts
  // SIGINT and SIGTERM cancel the run (the CLI; the caller must have captured both signals
  // with kj::UnixEventPort::captureSignal before making the event loop).
  bool cancelOnSignals = false;
  // Publishes the workflow's outputs (the CLI's --output-dir) before run.end is written, so a
  // failure to publish fails the run in the audit log too. Called only for a successful run.
  std::function<Outcome<Done>(const ArtifactMap&)> publishOutputs;
  uint64_t maxInputBytes = kDefaultMaxInputBytes;
};

class Scheduler {
 public:
  Scheduler(kj::AsyncIoContext& io, AuditLog& audit, RunObserver& observer, SchedulerConfig config);

  // Opens the workflow's input files, then runs the graph. Never throws for what a plugin does.
  RunReport run(const WorkflowGraph& graph, const Policy& policy,
                const std::map<std::string, std::string>& inputFileOverrides = {});
  // Runs the graph on inputs the caller opened (loadWorkflowInputs), each opened once per run.
  RunReport run(const WorkflowGraph& graph, const Policy& policy,
                const Outcome<ArtifactMap>& inputs);

 private:
  kj::AsyncIoContext& io_;
  AuditLog& audit_;
  RunObserver& observer_;
  SchedulerConfig config_;
};

// Opens a workflow's inputs (files relative to the workflow file, or literal values); a file is
// read only when a plugin asks for its bytes. A file input must be a regular file of at most
// maxInputBytes; anything else is bad_input.
Outcome<ArtifactMap> loadWorkflowInputs(const Workflow& workflow,
                                        const std::map<std::string, std::string>& fileOverrides,
                                        uint64_t maxInputBytes = kDefaultMaxInputBytes);

}  // namespace cordon
