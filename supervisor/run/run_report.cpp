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

uint64_t RunReport::denialTotal() const {
  uint64_t total = 0;
  for (const DenialCount& denial : denials) total += denial.count;
  return total;
}

const char* RunReport::status() const {
  if (ok()) return "succeeded";
  return cancelledBy ? "cancelled" : "failed";
}

}  // namespace cordon
