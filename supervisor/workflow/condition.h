// A step's `if:`: a small expression language over the workflow's inputs and earlier steps'
// status and small outputs (docs/workflow.md, "Conditions"). Parsed once, typed once against the
// graph, evaluated by the scheduler; nothing in it can run code, loop or allocate without bound.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cordon {

enum class ValueType { kBool, kString, kNumber };
std::string_view valueTypeName(ValueType type);

struct ConditionValue {
  ValueType type = ValueType::kBool;
  bool boolean = false;
  double number = 0;
  std::string text;

  static ConditionValue ofBool(bool value) { return {ValueType::kBool, value, 0, {}}; }
  static ConditionValue ofNumber(double value) { return {ValueType::kNumber, false, value, {}}; }
  static ConditionValue ofText(std::string value) {
    return {ValueType::kString, false, 0, std::move(value)};
  }
};

struct ConditionNode {
  enum class Kind {
    kLiteral,
    kInput,       // inputs.NAME: the input's text
    kStepOutput,  // steps.STEP.outputs.NAME: the output's text, "" when there is none
    kStepStatus,  // steps.STEP.status: "succeeded", "failed" or "skipped"
    kNot,
    kAnd,
    kOr,
    kCompare,  // op: == != < <= > >=
    kCall,     // op: success failure always contains startsWith endsWith number
  };
  Kind kind = Kind::kLiteral;
  std::string op;
  ConditionValue literal;
  std::string step;  // kStepOutput, kStepStatus
  std::string name;  // kInput, kStepOutput
  std::vector<ConditionNode> args;
  size_t offset = 0;  // where it starts in the text, for errors
};

// A syntax or type error, at an offset into the expression's text.
struct ConditionError {
  size_t offset = 0;
  std::string message;
};

// What the scheduler knows when a step's dependencies have settled.
class ConditionScope {
 public:
  virtual ~ConditionScope() = default;
  virtual std::string input(const std::string& name) const = 0;
  virtual std::string stepStatus(const std::string& step) const = 0;
  virtual std::string stepOutput(const std::string& step, const std::string& name) const = 0;
  virtual bool dependenciesSucceeded() const = 0;  // success()
  virtual bool anyDependencyFailed() const = 0;    // failure()
};

// What the graph knows before the run, for typing and for folding constants.
struct ConditionNames {
  std::function<bool(const std::string&)> isInput;
  std::function<bool(const std::string&)> isStep;
  bool hasDependencies = false;
};

class Condition {
 public:
  // At most this many bytes of text and this deep: the file is trusted, but not its size.
  static constexpr size_t kMaxText = 4096;
  static constexpr size_t kMaxDepth = 64;

  static std::variant<Condition, ConditionError> parse(std::string_view text);

  // Types the expression: every name resolves, every operator gets what it takes, the whole is a
  // boolean. Returns the steps it reads (they become the step's dependencies).
  std::variant<std::vector<std::string>, ConditionError> check(const ConditionNames& names) const;

  // false when the condition can never hold (folded with what is known before the run): the
  // step is unreachable. Call after check().
  bool canHold(const ConditionNames& names) const;

  // Whether the step runs. A runtime error (number("x")) is the step's bad_input.
  std::variant<bool, ConditionError> evaluate(const ConditionScope& scope) const;

  const std::string& text() const { return text_; }
  // Whether it calls success(), failure() or always(); if not, success() && is implied.
  bool namesStatus() const { return namesStatus_; }

 private:
  std::string text_;
  ConditionNode root_;
  bool namesStatus_ = false;
};

}  // namespace cordon
