// Runs a validated workflow graph: one worker per plugin, kept for every step that uses it;
// steps in topological order. A failed step fails the run and skips every step that depends on
// it; steps that do not depend on it still run.
#pragma once

#include <kj/async-io.h>

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
  ArtifactMap outputs;         // the workflow's declared outputs
  std::optional<Error> error;  // the first failure; empty when the run succeeded
  bool ok() const { return !error.has_value(); }
};

struct SchedulerConfig {
  std::string workerBinary;
  std::map<std::string, VerifiedPlugin> plugins;  // by name, from preflight: what may run
  VersionLedger* ledger = nullptr;                // raised for each plugin that starts
};

class Scheduler {
 public:
  Scheduler(kj::AsyncIoContext& io, AuditLog& audit, RunObserver& observer, SchedulerConfig config);

  // Reads the workflow's input files, then runs the graph. Never throws for what a plugin does.
  RunReport run(const WorkflowGraph& graph, const Policy& policy,
                const std::map<std::string, std::string>& inputFileOverrides = {});

 private:
  kj::AsyncIoContext& io_;
  AuditLog& audit_;
  RunObserver& observer_;
  SchedulerConfig config_;
};

// Reads a workflow's inputs (files relative to the workflow file, or literal values).
Outcome<ArtifactMap> loadWorkflowInputs(const Workflow& workflow,
                                        const std::map<std::string, std::string>& fileOverrides);

}  // namespace cordon
