// Reading a log's records back, oldest first, across its segments (FILE.000001, ..., then FILE),
// for `cordon audit query` and `cordon audit summary`. It reads and does not verify: `cordon
// audit verify` is the check that the records are the ones written.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

#include "core/error.h"

namespace cordon {

struct AuditReadStats {
  uint64_t records = 0;         // lines that parsed as JSON objects
  uint64_t unreadable = 0;      // lines that did not (a torn tail, or not a record at all)
  std::string firstUnreadable;  // "FILE:LINE" of the first of those
  uint64_t files = 0;           // segments and the live file read
};

// Calls `visit` with each record in order. Bad input when the log itself cannot be opened.
Outcome<AuditReadStats> forEachAuditRecord(
    const std::string& path, const std::function<void(const nlohmann::json& record)>& visit);

}  // namespace cordon
