// The workflow as a graph: one node per step, an edge from each step to the steps it reads
// outputs from, lists in `needs`, or names in its `if:`. Validation (every reference resolves,
// every condition is typed, no cycles, no step that can never run) happens here, once; the
// scheduler trusts a WorkflowGraph. `cordon validate` runs exactly these checks.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "workflow/workflow.h"

namespace cordon {

struct GraphNode {
  const Step* step;
  std::vector<size_t> dependsOn;  // indexes into WorkflowGraph::nodes, each once
  std::vector<size_t> dataFrom;   // those whose outputs it reads (inputs, for_each items)
};

struct WorkflowGraph {
  const Workflow* workflow = nullptr;
  std::vector<GraphNode> nodes;  // in the workflow's order
  std::vector<size_t> order;     // a topological order: dependencies first, ties by position

  // Errors are kBadInput and name the file, line (and column, in an expression) and field.
  static Outcome<WorkflowGraph> build(const Workflow& workflow);
};

}  // namespace cordon
