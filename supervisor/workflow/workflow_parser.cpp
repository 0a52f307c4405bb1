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
                  node.Mark().line + 1, node.Mark().column + 1};
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
    input.column = entry.first.Mark().column + 1;
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

std::string categoryList(const std::set<ErrorCategory>& categories) {
  std::string text;
  for (ErrorCategory category : categories)
    text += (text.empty() ? "" : ", ") + std::string(categoryName(category));
  return text;
}

RetryPolicy parseRetry(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"attempts", "backoff_ms", "max_backoff_ms", "on"});
  RetryPolicy retry;
  retry.line = node.Mark().line + 1;
  retry.attempts = 3;
  if (node["attempts"])
    retry.attempts =
        static_cast<unsigned>(doc.unsignedInteger(node["attempts"], field + ".attempts", 1, 100));
  if (node["backoff_ms"]) {
    retry.backoff = std::chrono::milliseconds(
        doc.unsignedInteger(node["backoff_ms"], field + ".backoff_ms", 0, 3'600'000));
  }
  retry.maxBackoff = retry.backoff * 100;
  if (node["max_backoff_ms"]) {
    retry.maxBackoff = std::chrono::milliseconds(
        doc.unsignedInteger(node["max_backoff_ms"], field + ".max_backoff_ms",
                            static_cast<uint64_t>(retry.backoff.count()), 86'400'000));
  }
  retry.on = defaultRetryCategories();
  if (node["on"]) {
    retry.on.clear();
    const YAML::Node list = doc.requireSequence(node["on"], field + ".on");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item = field + ".on[" + std::to_string(i) + "]";
      const std::string name = doc.scalar(list[i], item);
      auto category = categoryFromName(name);
      if (!category || retryableCategories().count(*category) == 0) {
        doc.fail(
            list[i], item,
            "'" + name + "' cannot be retried; one of: " + categoryList(retryableCategories()) +
                " (a sandbox violation, a policy denial or a protocol error is never retried)");
      }
      retry.on.insert(*category);
    }
  }
  return retry;
}

ForEach parseForEach(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"items", "format", "as", "max_parallel"});
  ForEach each;
  each.line = node.Mark().line + 1;
  const YAML::Node items = node["items"];
  if (!items.IsDefined()) doc.fail(node, field + ".items", "is required");
  if (items.IsSequence()) {
    if (items.size() > kMaxForEachItems)
      doc.fail(items, field + ".items", "lists more than " + std::to_string(kMaxForEachItems));
    for (size_t i = 0; i < items.size(); ++i)
      each.literalItems.push_back(
          doc.scalar(items[i], field + ".items[" + std::to_string(i) + "]"));
  } else {
    each.items = parseRef(doc, items, field + ".items");
  }
  if (node["format"]) {
    const std::string format = doc.scalar(node["format"], field + ".format");
    if (format == "lines") {
      each.format = ForEach::Format::kLines;
    } else if (format != "json") {
      doc.fail(node["format"], field + ".format", "'" + format + "' must be json or lines");
    }
    if (each.items == std::nullopt)
      doc.fail(node["format"], field + ".format", "applies to items read from an artifact");
  }
  if (node["as"]) {
    each.as = doc.scalar(node["as"], field + ".as");
    requireIdentifier(doc, node["as"], field + ".as", each.as);
  }
  if (node["max_parallel"])
    each.maxParallel = static_cast<unsigned>(
        doc.unsignedInteger(node["max_parallel"], field + ".max_parallel", 1, 1024));
  return each;
}

std::shared_ptr<const Condition> parseCondition(const YamlDocument& doc, const YAML::Node& node,
                                                const std::string& field) {
  const std::string text = doc.scalar(node, field);
  auto parsed = Condition::parse(text);
  if (auto* error = std::get_if<ConditionError>(&parsed))
    doc.failInText(node, field, error->offset, error->message);
  return std::make_shared<const Condition>(std::move(std::get<Condition>(parsed)));
}

Step parseStep(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field,
                        {"name", "plugin", "config", "inputs", "needs", "if", "retry", "timeout_ms",
                         "on_error", "for_each", "cache"});
  Step step;
  step.line = node.Mark().line + 1;
  step.column = node.Mark().column + 1;
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
  if (node["needs"]) {
    const YAML::Node needs = doc.requireSequence(node["needs"], field + ".needs");
    for (size_t i = 0; i < needs.size(); ++i) {
      const std::string item = field + ".needs[" + std::to_string(i) + "]";
      const std::string name = doc.scalar(needs[i], item);
      requireIdentifier(doc, needs[i], item, name);
      step.needs.push_back({name, "", needs[i].Mark().line + 1, needs[i].Mark().column + 1});
    }
  }
  if (node["if"]) {
    step.condition = parseCondition(doc, node["if"], field + ".if");
    step.conditionLine = node["if"].Mark().line + 1;
    step.conditionColumn = node["if"].Mark().column + 1 + (node["if"].Tag() == "!" ? 1 : 0);
  }
  if (node["retry"]) step.retry = parseRetry(doc, node["retry"], field + ".retry");
  if (node["timeout_ms"]) {
    step.timeout = std::chrono::milliseconds(
        doc.unsignedInteger(node["timeout_ms"], field + ".timeout_ms", 1, 86'400'000));
  }
  if (node["on_error"]) {
    const std::string mode = doc.scalar(node["on_error"], field + ".on_error");
    if (mode == "continue") {
      step.onError = OnError::kContinue;
    } else if (mode != "fail") {
      doc.fail(node["on_error"], field + ".on_error", "'" + mode + "' must be fail or continue");
    }
  }
  if (node["cache"]) step.cache = doc.boolean(node["cache"], field + ".cache");
  if (node["for_each"]) {
    step.forEach = parseForEach(doc, node["for_each"], field + ".for_each");
    for (const auto& input : step.inputs) {
      if (input.name == step.forEach->as)
        doc.fail(node["for_each"], field + ".for_each.as",
                 "'" + input.name + "' is also one of the step's inputs");
    }
  }
  return step;
}

}  // namespace

Workflow parseWorkflow(const YamlDocument& doc) {
  const YAML::Node& root = doc.root();
  doc.requireMap(root, "(top level)");
  doc.rejectUnknownKeys(root, "", {"name", "inputs", "steps", "outputs", "cache"});
  Workflow workflow;
  workflow.path = doc.path();
  workflow.name = doc.requireString(root, "name", "name");
  if (root["inputs"]) workflow.inputs = parseInputs(doc, root["inputs"]);
  if (root["cache"]) workflow.cache = doc.boolean(root["cache"], "cache");
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
