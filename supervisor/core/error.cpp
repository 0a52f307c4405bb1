#include "core/error.h"

#include <nlohmann/json.hpp>

#include "core/untrusted_text.h"

namespace cordon {

std::string_view categoryName(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kPluginError:
      return "plugin_error";
    case ErrorCategory::kPolicyDenial:
      return "policy_denial";
    case ErrorCategory::kSandboxViolation:
      return "sandbox_violation";
    case ErrorCategory::kTimeout:
      return "timeout";
    case ErrorCategory::kCrash:
      return "crash";
    case ErrorCategory::kResourceLimit:
      return "resource_limit";
    case ErrorCategory::kProtocolError:
      return "protocol_error";
    case ErrorCategory::kBadInput:
      return "bad_input";
    case ErrorCategory::kInternal:
      return "internal";
    case ErrorCategory::kCancelled:
      return "cancelled";
  }
  return "internal";
}

std::optional<ErrorCategory> categoryFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(ErrorCategory::kCancelled); ++i) {
    const auto category = static_cast<ErrorCategory>(i);
    if (categoryName(category) == name) return category;
  }
  return std::nullopt;
}

std::string Error::describe() const {
  std::string text;
  if (!step.empty()) text += "step '" + step + "': ";
  text += std::string(categoryName(category)) + ": " + message;
  return text;
}

nlohmann::json toJson(const Error& error) {
  nlohmann::json json = {{"category", categoryName(error.category)}};
  setUntrusted(json, "message", error.message);  // plugins' words travel in messages
  setUntrusted(json, "step", error.step);
  return json;
}

}  // namespace cordon
