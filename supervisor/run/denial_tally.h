// Counts a run's refusals (gate.deny, and those gate.deny_suppressed summed up) by step,
// direction and method, so that a run that succeeded despite them says so (RunReport::denials).
#pragma once

#include <map>
#include <tuple>

#include "run/run_events.h"
#include "run/run_report.h"

namespace cordon {

class DenialTally final : public RunListener {
 public:
  void onEvent(const RunEvent& event) override;
  // In step, direction, method order.
  std::vector<DenialCount> counts() const;

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // step, direction, method
  struct Entry {
    uint64_t count = 0;
    std::optional<ErrorCategory> category;  // of the first denial
  };
  std::map<Key, Entry> counts_;
};

}  // namespace cordon
