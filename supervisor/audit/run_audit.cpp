#include "audit/run_audit.h"

#include <sys/random.h>

#include <chrono>
#include <cstring>

namespace cordon {

std::string newRunId() {
  unsigned char bytes[8] = {};
  if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::memcpy(bytes, &now, sizeof bytes);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) id += {kHex[b >> 4], kHex[b & 15]};
  return id;
}

bool RunAudit::record(std::string_view event, nlohmann::json fields) const {
  if (log_ == nullptr) return true;
  fields["run"] = runId_;
  return log_->record(event, fields);
}

}  // namespace cordon
