#include "workflow/workflow_parser.h"

#include <set>

namespace cordon {
namespace {

bool isIdentifier(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  return text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

void requireIdentifier(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                       const std::string& text) {
  if (!isIdentifier(text)) {
    doc.fail(node, field, "'" + text + "' must be 1-64 characters of a-z, 0-9, '_' or '-'");
  }
}

ArtifactRef parseRef(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  std::string text = doc.scalar(node, field);
  auto dot = text.find('.');
  ArtifactRef ref{text.substr(0, dot), dot == std::string::npos ? "" : text.substr(dot + 1),
                  node.Mark().line + 1};
  if (dot == std::string::npos || !isIdentifier(ref.source) || !isIdentifier(ref.name)) {
    doc.fail(node, field, "'" + text + "' must be inputs.NAME or STEP.OUTPUT");
  }
  return ref;
}

std::vector<WorkflowInput> parseInputs(const YamlDocument& doc, const YAML::Node& node) {
  doc.requireMap(node, "inputs");
  std::vector<WorkflowInput> inputs;
  for (const auto& entry : node) {
    WorkflowInput input;
    input.name = entry.first.Scalar();
    input.line = entry.first.Mark().line + 1;
    const std::string field = "inputs." + input.name;
    requireIdentifier(doc, entry.first, field, input.name);
    doc.requireMap(entry.second, field);
    doc.rejectUnknownKeys(entry.second, field, {"file", "value"});
    if (entry.second["file"]) input.file = doc.scalar(entry.second["file"], field + ".file");
    if (entry.second["value"]) input.value = doc.scalar(entry.second["value"], field + ".value");
    if (input.file.has_value() == input.value.has_value()) {
      doc.fail(entry.second, field, "needs exactly one of 'file' or 'value'");
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

Step parseStep(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"name", "plugin", "config", "inputs"});
  Step step;
  step.line = node.Mark().line + 1;
  step.name = doc.requireString(node, "name", field + ".name");
  requireIdentifier(doc, node["name"], field + ".name", step.name);
  if (step.name == "inputs") doc.fail(node["name"], field + ".name", "'inputs' is reserved");
  // NAME or NAME@RANGE (docs/trust.md); the range is checked when the plugin is resolved.
  const std::string reference = doc.requireString(node, "plugin", field + ".plugin");
  const auto at = reference.find('@');
  step.plugin = reference.substr(0, at);
  if (at != std::string::npos) step.pluginRange = reference.substr(at + 1);
  requireIdentifier(doc, node["plugin"], field + ".plugin", step.plugin);
  if (at != std::string::npos && step.pluginRange.empty())
    doc.fail(node["plugin"], field + ".plugin",
             "'" + reference + "' has no version range after '@'");
  if (node["config"]) {
    doc.requireMap(node["config"], field + ".config");
    for (const auto& entry : node["config"]) {
      std::string key = entry.first.Scalar();
      step.config.emplace_back(key, doc.scalar(entry.second, field + ".config." + key));
    }
  }
  if (node["inputs"]) {
    doc.requireMap(node["inputs"], field + ".inputs");
    for (const auto& entry : node["inputs"]) {
      std::string name = entry.first.Scalar();
      requireIdentifier(doc, entry.first, field + ".inputs." + name, name);
      step.inputs.push_back({name, parseRef(doc, entry.second, field + ".inputs." + name)});
    }
  }
  return step;
}

}  // namespace

Workflow parseWorkflow(const YamlDocument& doc) {
  const YAML::Node& root = doc.root();
  doc.requireMap(root, "(top level)");
  doc.rejectUnknownKeys(root, "", {"name", "inputs", "steps", "outputs"});
  Workflow workflow;
  workflow.path = doc.path();
  workflow.name = doc.requireString(root, "name", "name");
  if (root["inputs"]) workflow.inputs = parseInputs(doc, root["inputs"]);
  const YAML::Node steps = doc.requireSequence(root["steps"], "steps");
  if (steps.size() == 0) doc.fail(steps, "steps", "must list at least one step");
  std::set<std::string> names;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string field = "steps[" + std::to_string(i) + "]";
    Step step = parseStep(doc, steps[i], field);
    if (!names.insert(step.name).second) {
      doc.fail(steps[i]["name"], field + ".name", "step name '" + step.name + "' is used twice");
    }
    workflow.steps.push_back(std::move(step));
  }
  if (root["outputs"]) {
    doc.requireMap(root["outputs"], "outputs");
    for (const auto& entry : root["outputs"]) {
      std::string name = entry.first.Scalar();
      requireIdentifier(doc, entry.first, "outputs." + name, name);
      workflow.outputs.push_back({name, parseRef(doc, entry.second, "outputs." + name)});
    }
  }
  return workflow;
}

Workflow loadWorkflow(const std::string& path) {
  return parseWorkflow(YamlDocument::load(path));
}

}  // namespace cordon
