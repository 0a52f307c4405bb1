#include "workflow/graph.h"

#include <map>
#include <set>

namespace cordon {
namespace {

Error badRef(const Workflow& workflow, const ArtifactRef& ref, const std::string& field,
             const std::string& why) {
  return makeError(ErrorCategory::kBadInput, workflow.path + ":" + std::to_string(ref.line) +
                                                 ": field '" + field + "': '" + ref.text() + "' " +
                                                 why);
}

}  // namespace

Outcome<WorkflowGraph> WorkflowGraph::build(const Workflow& workflow) {
  WorkflowGraph graph;
  graph.workflow = &workflow;
  std::map<std::string, size_t> indexOf;
  std::set<std::string> workflowInputs;
  for (const auto& input : workflow.inputs) workflowInputs.insert(input.name);
  for (size_t i = 0; i < workflow.steps.size(); ++i) {
    indexOf[workflow.steps[i].name] = i;
    graph.nodes.push_back({&workflow.steps[i], {}});
  }

  auto resolve = [&](const ArtifactRef& ref, const std::string& field) -> Outcome<size_t> {
    if (ref.isWorkflowInput()) {
      if (workflowInputs.count(ref.name) == 0)
        return badRef(workflow, ref, field, "names no workflow input");
      return SIZE_MAX;
    }
    auto it = indexOf.find(ref.source);
    if (it == indexOf.end()) return badRef(workflow, ref, field, "names no step");
    return it->second;
  };

  for (size_t i = 0; i < workflow.steps.size(); ++i) {
    const Step& step = workflow.steps[i];
    for (const auto& input : step.inputs) {
      auto dep = resolve(input.from, "steps[" + std::to_string(i) + "].inputs." + input.name);
      if (!dep.ok()) return dep.error();
      if (dep.value() == i)
        return badRef(workflow, input.from, "steps[" + std::to_string(i) + "].inputs." + input.name,
                      "is the step's own output");
      if (dep.value() != SIZE_MAX) graph.nodes[i].dependsOn.push_back(dep.value());
    }
  }
  for (const auto& output : workflow.outputs) {
    auto dep = resolve(output.from, "outputs." + output.name);
    if (!dep.ok()) return dep.error();
  }

  // Kahn's algorithm; among ready nodes the earliest-listed goes first, so a workflow whose
  // references all point backwards runs exactly in its written order.
  std::vector<size_t> remaining(graph.nodes.size());
  std::vector<std::vector<size_t>> dependents(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    std::set<size_t> unique(graph.nodes[i].dependsOn.begin(), graph.nodes[i].dependsOn.end());
    graph.nodes[i].dependsOn.assign(unique.begin(), unique.end());
    remaining[i] = unique.size();
    for (size_t dep : unique) dependents[dep].push_back(i);
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < remaining.size(); ++i) {
    if (remaining[i] == 0) ready.insert(i);
  }
  while (!ready.empty()) {
    size_t next = *ready.begin();
    ready.erase(ready.begin());
    graph.order.push_back(next);
    for (size_t dependent : dependents[next]) {
      if (--remaining[dependent] == 0) ready.insert(dependent);
    }
  }
  if (graph.order.size() != graph.nodes.size()) {
    std::string cycle;
    for (size_t i = 0; i < remaining.size(); ++i) {
      if (remaining[i] != 0) cycle += (cycle.empty() ? "" : ", ") + workflow.steps[i].name;
    }
    for (size_t i = 0; i < remaining.size(); ++i) {
      if (remaining[i] != 0) {
        return makeError(ErrorCategory::kBadInput,
                         workflow.path + ":" + std::to_string(workflow.steps[i].line) +
                             ": field 'steps[" + std::to_string(i) +
                             "].inputs': the steps form a cycle: " + cycle);
      }
    }
  }
  return graph;
}

}  // namespace cordon
