#include "run/run_report.h"

namespace cordon {

const char* stepStateName(StepState state) {
  switch (state) {
    case StepState::kSucceeded:
      return "succeeded";
    case StepState::kFailed:
      return "failed";
    case StepState::kSkipped:
      return "skipped";
  }
  return "skipped";
}

const char* RunReport::status() const {
  if (ok()) return "succeeded";
  return cancelledBy ? "cancelled" : "failed";
}

}  // namespace cordon
