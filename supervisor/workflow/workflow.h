// A workflow as written (docs/workflow.md): inputs, steps that name a plugin, its config and
// where each of its inputs comes from, and the workflow's outputs.
#pragma once

#include "core/error.h"
#include "core/key_values.h"
#include "workflow/condition.h"

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cordon {

// "inputs.NAME" (a workflow input) or "STEP.NAME" (an output of an earlier step).
struct ArtifactRef {
  std::string source;  // "inputs" or a step name
  std::string name;
  int line = 0;
  int column = 0;

  bool isWorkflowInput() const { return source == "inputs"; }
  std::string text() const { return source + "." + name; }
};

struct WorkflowInput {
  std::string name;
  std::optional<std::string> file;   // resolved against the workflow file's directory
  std::optional<std::string> value;  // literal text
  int line = 0;
  int column = 0;
};

struct StepInput {
  std::string name;  // the name the plugin reads it by
  ArtifactRef from;
};

// retry: how often a step is attempted and how long it waits in between. The defaults are
// Temporal's: 1 s before the second attempt, doubling, capped at 100 times the first wait.
struct RetryPolicy {
  unsigned attempts = 1;  // 1: no retry
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds maxBackoff{100000};
  std::set<ErrorCategory> on;  // the categories that may be retried
  int line = 0;

  // The wait before attempt `next` (2, 3, ...).
  std::chrono::milliseconds delayBefore(unsigned next) const;
  // Never a sandbox violation, a policy denial or a protocol error: those are what the plugin
  // chose to do, and doing it again is an attack, not bad luck.
  bool retries(ErrorCategory category) const;
};

// Categories a step's retry may name: what can be bad luck.
const std::set<ErrorCategory>& retryableCategories();
const std::set<ErrorCategory>& defaultRetryCategories();

enum class OnError { kFail, kContinue };

// for_each: the step runs once per item, each item handed to the plugin as the input `as`.
struct ForEach {
  enum class Format { kJson, kLines };
  std::optional<ArtifactRef> items;       // an artifact holding the list
  std::vector<std::string> literalItems;  // or the items written in the file
  Format format = Format::kJson;
  std::string as = "item";
  unsigned maxParallel = 0;  // 0: as many as --jobs
  int line = 0;
};

inline constexpr size_t kMaxForEachItems = 100000;

struct Step {
  std::string name;
  std::string plugin;       // the plugin's name
  std::string pluginRange;  // the versions it may be ("^1.2"); empty = any
  KeyValues config;
  std::vector<StepInput> inputs;
  std::vector<ArtifactRef> needs;              // ordering without data (source = step, name empty)
  std::shared_ptr<const Condition> condition;  // if:, nullptr: success()
  int conditionLine = 0;                       // where the expression's text starts
  int conditionColumn = 0;
  RetryPolicy retry;
  std::optional<std::chrono::milliseconds> timeout;  // timeout_ms: the whole step
  OnError onError = OnError::kFail;
  std::optional<ForEach> forEach;
  // cache: reuse the outputs of an earlier successful step with the same plugin digest, config,
  // input digests and policy section (docs/state.md, "Cached results"); unset: the workflow's.
  std::optional<bool> cache;
  int line = 0;
  int column = 0;
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
  bool cache = false;  // the top-level cache:, for every step that does not say

  bool caches(const Step& step) const { return step.cache.value_or(cache); }
};

}  // namespace cordon
