// Everything `cordon validate` checks and `cordon run` checks before starting a worker: the
// workflow parses and forms a graph, the policy parses, every plugin is found and has a policy
// section, and each section compiles to a seccomp filter.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "plugins/plugin_locator.h"
#include "policy/policy.h"
#include "workflow/graph.h"
#include "workflow/workflow.h"

namespace cordon {

struct Preflight {
  std::unique_ptr<Workflow> workflow;  // stable address: the graph points into it
  WorkflowGraph graph;
  Policy policy;
};

Outcome<std::shared_ptr<Preflight>> preflight(const std::string& workflowPath,
                                              const std::string& policyPath,
                                              const PluginLocator& locator);

}  // namespace cordon
