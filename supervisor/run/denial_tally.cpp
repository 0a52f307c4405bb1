#include "run/denial_tally.h"

#include <nlohmann/json.hpp>

namespace cordon {

void DenialTally::onEvent(const RunEvent& event) {
  const auto* decided = std::get_if<GateDecided>(&event);
  if (decided == nullptr) return;
  uint64_t count = 0;
  if (decided->verdict == GateDecided::Verdict::kDeny) {
    count = 1;
  } else if (decided->verdict == GateDecided::Verdict::kDenySuppressed) {
    // Denials past the per-call record cap: the record gives their number, not their method.
    auto suppressed =
        decided->detail.is_object() ? decided->detail.find("suppressed") : decided->detail.end();
    if (suppressed != decided->detail.end() && suppressed->is_number_unsigned())
      count = suppressed->get<uint64_t>();
  }
  if (count == 0) return;
  Entry& entry = counts_[Key{decided->step, decided->direction, decided->method}];
  entry.count += count;
  if (!entry.category) entry.category = decided->category;
}

std::vector<DenialCount> DenialTally::counts() const {
  std::vector<DenialCount> out;
  for (const auto& [key, entry] : counts_) {
    const auto& [step, direction, method] = key;
    out.push_back({step, direction, method, entry.category, entry.count});
  }
  return out;
}

}  // namespace cordon
