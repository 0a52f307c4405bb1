#include "workflow/workflow.h"

#include <algorithm>

namespace cordon {

const std::set<ErrorCategory>& retryableCategories() {
  static const std::set<ErrorCategory> kRetryable = {
      ErrorCategory::kPluginError, ErrorCategory::kTimeout, ErrorCategory::kCrash,
      ErrorCategory::kResourceLimit, ErrorCategory::kInternal};
  return kRetryable;
}

const std::set<ErrorCategory>& defaultRetryCategories() {
  return retryableCategories();
}

std::chrono::milliseconds RetryPolicy::delayBefore(unsigned next) const {
  // backoff * 2^(next - 2), computed without overflow: the cap is reached long before 2^63.
  std::chrono::milliseconds delay = backoff;
  for (unsigned i = 2; i < next && delay < maxBackoff; ++i) delay *= 2;
  return std::min(delay, maxBackoff);
}

bool RetryPolicy::retries(ErrorCategory category) const {
  return retryableCategories().count(category) != 0 && on.count(category) != 0;
}

}  // namespace cordon
