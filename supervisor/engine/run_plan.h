// A run's plan, built once before anything runs and only read afterwards: the graph with each
// step's dependents, every plugin's policy section, verified bytes and sandbox spec (its
// seccomp programs compiled once, by preflight), how many workers it may have, and the
// workflow's inputs. The scheduler decides only what runs when.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"
#include "policy/seccomp_compiler.h"
#include "run/artifacts.h"
#include "trust/plugin_verifier.h"
#include "trust/version_ledger.h"
#include "worker/sandbox_spec_builder.h"
#include "workflow/graph.h"

namespace cordon {

struct PlannedPlugin {
  std::string name;
  const PluginPolicy* section = nullptr;     // nullptr: the policy does not let it run
  const VerifiedPlugin* verified = nullptr;  // nullptr: preflight did not verify it
  std::vector<unsigned char> sandboxSpec;    // empty when it cannot run
  std::optional<Error> unrunnable;           // why its steps fail, when it cannot run
  unsigned maxWorkers = 1;
};

struct PlannedStep {
  const Step* step = nullptr;
  size_t plugin = 0;               // index into RunPlan::plugins
  std::vector<size_t> dependsOn;   // indexes into RunPlan::steps (= graph.nodes)
  std::vector<size_t> dependents;  // the steps that read this one's outputs
};

struct RunPlan {
  const WorkflowGraph* graph = nullptr;
  const Policy* policy = nullptr;
  std::vector<PlannedStep> steps;           // graph.nodes' order, which is the workflow's
  std::map<std::string, size_t> stepIndex;  // by step name
  std::vector<PlannedPlugin> plugins;
  Outcome<ArtifactMap> inputs = ArtifactMap{};
  std::string workerBinary;
  VersionLedger* ledger = nullptr;  // raised for each plugin that starts; may be null
};

struct PlanSources {
  const WorkflowGraph* graph = nullptr;
  const Policy* policy = nullptr;
  const std::map<std::string, VerifiedPlugin>* plugins = nullptr;   // preflight's
  const std::map<std::string, SeccompPrograms>* seccomp = nullptr;  // preflight's; may be null
  VersionLedger* ledger = nullptr;
  std::string workerBinary;
  MemoryLimitBy memoryLimit = MemoryLimitBy::kAddressSpace;
};

RunPlan buildRunPlan(const PlanSources& sources, Outcome<ArtifactMap> inputs);

inline constexpr uint64_t kDefaultMaxInputBytes = 1ull << 30;  // 1 GiB (--max-input-mb)

// Opens a workflow's inputs (files relative to the workflow file, or literal values); a file is
// read only when a plugin asks for its bytes. A file input must be a regular file of at most
// maxInputBytes; anything else is bad_input.
Outcome<ArtifactMap> loadWorkflowInputs(const Workflow& workflow,
                                        const std::map<std::string, std::string>& fileOverrides,
                                        uint64_t maxInputBytes = kDefaultMaxInputBytes);

}  // namespace cordon
