// A workflow as written (docs/workflow.md): inputs, steps that name a plugin, its config and
// where each of its inputs comes from, and the workflow's outputs.
#pragma once

#include "core/key_values.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cordon {

// "inputs.NAME" (a workflow input) or "STEP.NAME" (an output of an earlier step).
struct ArtifactRef {
  std::string source;  // "inputs" or a step name
  std::string name;
  int line = 0;

  bool isWorkflowInput() const { return source == "inputs"; }
  std::string text() const { return source + "." + name; }
};

struct WorkflowInput {
  std::string name;
  std::optional<std::string> file;   // resolved against the workflow file's directory
  std::optional<std::string> value;  // literal text
  int line = 0;
};

struct StepInput {
  std::string name;  // the name the plugin reads it by
  ArtifactRef from;
};

struct Step {
  std::string name;
  std::string plugin;       // the plugin's name
  std::string pluginRange;  // the versions it may be ("^1.2"); empty = any
  KeyValues config;
  std::vector<StepInput> inputs;
  int line = 0;
};

struct WorkflowOutput {
  std::string name;
  ArtifactRef from;
};

struct Workflow {
  std::string path;
  std::string name;
  std::vector<WorkflowInput> inputs;
  std::vector<Step> steps;
  std::vector<WorkflowOutput> outputs;
};

}  // namespace cordon
