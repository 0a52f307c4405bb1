#include "workflow/graph.h"

#include <algorithm>
#include <map>
#include <set>

namespace cordon {
namespace {

Error badInput(const Workflow& workflow, int line, int column, const std::string& field,
               const std::string& why) {
  return makeError(ErrorCategory::kBadInput, workflow.path + ":" + std::to_string(line) + ":" +
                                                 std::to_string(column) + ": field '" + field +
                                                 "': " + why);
}

Error badRef(const Workflow& workflow, const ArtifactRef& ref, const std::string& field,
             const std::string& why) {
  return badInput(workflow, ref.line, ref.column, field, "'" + ref.text() + "' " + why);
}

std::string stepField(size_t index, const std::string& rest) {
  return "steps[" + std::to_string(index) + "]" + rest;
}

// One cycle among the steps Kahn's algorithm could not order, as "a -> b -> a".
std::string findCycle(const WorkflowGraph& graph, const std::vector<size_t>& remaining,
                      size_t& first) {
  // Every unordered step has an unordered dependency, so walking them must revisit one.
  size_t at = 0;
  while (remaining[at] == 0) ++at;
  std::vector<size_t> path;
  std::map<size_t, size_t> seenAt;
  while (seenAt.count(at) == 0) {
    seenAt[at] = path.size();
    path.push_back(at);
    for (size_t dep : graph.nodes[at].dependsOn) {
      if (remaining[dep] != 0) {
        at = dep;
        break;
      }
    }
  }
  // The path follows "depends on"; the cycle reads better in the direction data flows.
  std::vector<size_t> cycle(path.begin() + static_cast<long>(seenAt[at]), path.end());
  std::reverse(cycle.begin(), cycle.end());
  first = *std::min_element(cycle.begin(), cycle.end());
  std::rotate(cycle.begin(), std::find(cycle.begin(), cycle.end(), first), cycle.end());
  std::string text;
  for (size_t index : cycle) text += graph.nodes[index].step->name + " -> ";
  return text + graph.nodes[first].step->name;
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
    graph.nodes.push_back({&workflow.steps[i], {}, {}});
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
    GraphNode& node = graph.nodes[i];
    auto readData = [&](const ArtifactRef& ref, const std::string& field) -> std::optional<Error> {
      auto dep = resolve(ref, field);
      if (!dep.ok()) return dep.error();
      if (dep.value() == i) return badRef(workflow, ref, field, "is the step's own output");
      if (dep.value() != SIZE_MAX) node.dataFrom.push_back(dep.value());
      return std::nullopt;
    };
    for (const auto& input : step.inputs) {
      if (auto error = readData(input.from, stepField(i, ".inputs." + input.name))) return *error;
    }
    if (step.forEach && step.forEach->items) {
      if (auto error = readData(*step.forEach->items, stepField(i, ".for_each.items")))
        return *error;
    }
    node.dependsOn = node.dataFrom;
    for (size_t n = 0; n < step.needs.size(); ++n) {
      const ArtifactRef& need = step.needs[n];
      const std::string field = stepField(i, ".needs[" + std::to_string(n) + "]");
      auto it = indexOf.find(need.source);
      if (it == indexOf.end())
        return badInput(workflow, need.line, need.column, field,
                        "'" + need.source + "' names no step");
      if (it->second == i)
        return badInput(workflow, need.line, need.column, field, "a step cannot need itself");
      node.dependsOn.push_back(it->second);
    }
    if (step.condition) {
      ConditionNames names;
      names.isInput = [&](const std::string& name) { return workflowInputs.count(name) != 0; };
      names.isStep = [&](const std::string& name) { return indexOf.count(name) != 0; };
      auto checked = step.condition->check(names);
      if (auto* error = std::get_if<ConditionError>(&checked)) {
        return makeError(ErrorCategory::kBadInput,
                         workflow.path + ":" + std::to_string(step.conditionLine) + ":" +
                             std::to_string(step.conditionColumn + error->offset) + ": field '" +
                             stepField(i, ".if") + "': " + error->message);
      }
      // A step its condition reads is one it depends on: its status must be known first.
      for (const std::string& name : std::get<std::vector<std::string>>(checked)) {
        if (indexOf.at(name) == i)
          return badInput(workflow, step.conditionLine, step.conditionColumn, stepField(i, ".if"),
                          "a step's condition cannot read the step itself");
        node.dependsOn.push_back(indexOf.at(name));
      }
    }
    std::set<size_t> unique(node.dependsOn.begin(), node.dependsOn.end());
    node.dependsOn.assign(unique.begin(), unique.end());
    std::set<size_t> data(node.dataFrom.begin(), node.dataFrom.end());
    node.dataFrom.assign(data.begin(), data.end());
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
    remaining[i] = graph.nodes[i].dependsOn.size();
    for (size_t dep : graph.nodes[i].dependsOn) dependents[dep].push_back(i);
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
    size_t first = 0;
    const std::string cycle = findCycle(graph, remaining, first);
    return badInput(workflow, workflow.steps[first].line, workflow.steps[first].column,
                    stepField(first, ""), "the steps form a cycle: " + cycle);
  }

  // A step whose condition is never true is a mistake in the file (`if: false`, `failure()`
  // with nothing to fail): refused before anything runs. Its dependents are then never reached.
  for (size_t index : graph.order) {
    const GraphNode& node = graph.nodes[index];
    const Step& step = *node.step;
    ConditionNames names;
    names.hasDependencies = !node.dependsOn.empty();
    if (step.condition && !step.condition->canHold(names)) {
      return badInput(workflow, step.conditionLine, step.conditionColumn, stepField(index, ".if"),
                      "step '" + step.name + "' can never run: '" + step.condition->text() +
                          "' is never true" +
                          (names.hasDependencies ? "" : " (the step depends on no step)"));
    }
  }
  return graph;
}

}  // namespace cordon
