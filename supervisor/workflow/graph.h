// The workflow as a graph: one node per step, an edge from each step to the steps whose outputs
// it reads. Validation (every reference resolves, no cycles) happens here, once; the scheduler
// trusts a WorkflowGraph.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "workflow/workflow.h"

namespace cordon {

struct GraphNode {
  const Step* step;
  std::vector<size_t> dependsOn;  // indexes into WorkflowGraph::nodes
};

struct WorkflowGraph {
  const Workflow* workflow = nullptr;
  std::vector<GraphNode> nodes;  // in the workflow's order
  std::vector<size_t> order;     // a topological order: dependencies first, ties by position

  // Errors are kBadInput and name the file, line and field.
  static Outcome<WorkflowGraph> build(const Workflow& workflow);
};

}  // namespace cordon
