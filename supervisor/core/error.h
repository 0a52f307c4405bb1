// Errors are values: a category, the workflow step they belong to (if any), and a message a
// person can act on. They travel up to the CLI unchanged (docs/errors.md).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cordon {

enum class ErrorCategory {
  kPluginError,       // the plugin reported a failure of its own
  kPolicyDenial,      // the gate refused a call the policy does not grant
  kSandboxViolation,  // the plugin tried a syscall outside its allowlist
  kTimeout,           // a call ran past its wall-clock budget
  kCrash,             // the worker died of a signal or exited mid-call
  kResourceLimit,     // memory, CPU, file size or a host-call budget ran out
  kProtocolError,     // the worker broke the RPC contract
  kBadInput,          // a workflow, policy, input or config that does not validate
  kInternal,          // Cordon itself failed (spawn, sandbox setup): not the plugin's doing
  kCancelled,         // the operator stopped the run (SIGINT, SIGTERM)
};

std::string_view categoryName(ErrorCategory category);  // "policy_denial", ...
std::optional<ErrorCategory> categoryFromName(std::string_view name);

struct Error {
  ErrorCategory category;
  std::string message;
  std::string step;  // empty when the error is not tied to one step

  Error withStep(std::string name) && {
    step = std::move(name);
    return std::move(*this);
  }
  std::string describe() const;  // "step 'count': timeout: ..." or "bad_input: ..."
};

// {"category", "message", "step"}: how an error appears in the audit log and in --json reports.
nlohmann::json toJson(const Error& error);

inline Error makeError(ErrorCategory category, std::string message) {
  return Error{category, std::move(message), {}};
}

// A value or an Error. Deliberately small: has(), value(), error().
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : state_(std::move(value)) {}
  Outcome(Error error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  T& value() { return std::get<T>(state_); }
  const T& value() const { return std::get<T>(state_); }
  Error& error() { return std::get<Error>(state_); }
  const Error& error() const { return std::get<Error>(state_); }

 private:
  std::variant<T, Error> state_;
};

struct Done {};  // Outcome<Done>: success with no value

}  // namespace cordon
