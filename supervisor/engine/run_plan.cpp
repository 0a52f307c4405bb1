#include "engine/run_plan.h"

#include <filesystem>

namespace cordon {
namespace {

PlannedPlugin planPlugin(const PlanSources& sources, const std::string& name) {
  PlannedPlugin plugin;
  plugin.name = name;
  plugin.section = sources.policy->forPlugin(name);
  auto verified = sources.plugins->find(name);
  if (verified != sources.plugins->end()) plugin.verified = &verified->second;
  // A plugin the policy does not admit fails its steps when they come to run, where the gate
  // audits the refusal (admitPlugin); nothing is decided here.
  if (plugin.section == nullptr) return plugin;
  if (plugin.verified == nullptr) {
    plugin.unrunnable = makeError(ErrorCategory::kInternal,
                                  "plugin '" + name + "' was not verified before the run");
    return plugin;
  }
  plugin.maxWorkers = plugin.section->maxWorkers;
  const std::string path = plugin.verified->package.objectPath();
  const SeccompPrograms* compiled = nullptr;
  if (sources.seccomp != nullptr) {
    auto found = sources.seccomp->find(name);
    if (found != sources.seccomp->end()) compiled = &found->second;
  }
  if (compiled != nullptr) {
    plugin.sandboxSpec =
        buildSandboxSpec(name, path, *plugin.section, *compiled, sources.memoryLimit);
  } else {
    auto spec = buildSandboxSpec(name, path, *plugin.section, sources.memoryLimit);
    if (spec.ok()) {
      plugin.sandboxSpec = std::move(spec.value());
    } else {
      plugin.unrunnable = spec.error();
    }
  }
  return plugin;
}

}  // namespace

RunPlan buildRunPlan(const PlanSources& sources, Outcome<ArtifactMap> inputs) {
  RunPlan plan;
  plan.graph = sources.graph;
  plan.policy = sources.policy;
  plan.inputs = std::move(inputs);
  plan.workerBinary = sources.workerBinary;
  plan.ledger = sources.ledger;
  std::map<std::string, size_t> pluginIndex;
  for (const GraphNode& node : sources.graph->nodes) {
    const std::string& name = node.step->plugin;
    auto [it, added] = pluginIndex.emplace(name, plan.plugins.size());
    if (added) plan.plugins.push_back(planPlugin(sources, name));
    plan.stepIndex[node.step->name] = plan.steps.size();
    plan.steps.push_back({node.step, it->second, node.dependsOn, {}});
  }
  for (size_t index = 0; index < plan.steps.size(); ++index) {
    for (size_t dependency : plan.steps[index].dependsOn)
      plan.steps[dependency].dependents.push_back(index);
  }
  return plan;
}

Outcome<ArtifactMap> loadWorkflowInputs(const Workflow& workflow,
                                        const std::map<std::string, std::string>& fileOverrides,
                                        uint64_t maxInputBytes) {
  ArtifactMap inputs;
  const std::filesystem::path base = std::filesystem::path(workflow.path).parent_path();
  for (const auto& input : workflow.inputs) {
    auto override = fileOverrides.find(input.name);
    if (override != fileOverrides.end()) {
      auto opened = openInputFile(override->second, maxInputBytes);
      if (!opened.ok()) return opened.error();
      inputs[input.name] = opened.value();
    } else if (input.value) {
      inputs[input.name] = makeArtifact(*input.value);
    } else {
      auto opened = openInputFile((base / *input.file).string(), maxInputBytes);
      if (!opened.ok()) {
        return makeError(ErrorCategory::kBadInput,
                         workflow.path + ":" + std::to_string(input.line) + ":" +
                             std::to_string(input.column) + ": field 'inputs." + input.name +
                             ".file': " + opened.error().message);
      }
      inputs[input.name] = opened.value();
    }
  }
  for (const auto& [name, path] : fileOverrides) {
    if (inputs.count(name) == 0) {
      return makeError(ErrorCategory::kBadInput,
                       "--input " + name + ": the workflow has no input of that name");
    }
  }
  return inputs;
}

}  // namespace cordon
