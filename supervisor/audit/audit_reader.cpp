#include "audit/audit_reader.h"

#include <unistd.h>

#include <fstream>

#include "audit/audit_log.h"

namespace cordon {
namespace {

void readFile(const std::string& file, AuditReadStats& stats,
              const std::function<void(const nlohmann::json&)>& visit) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object()) {
      if (stats.unreadable++ == 0) stats.firstUnreadable = file + ":" + std::to_string(number);
      continue;
    }
    ++stats.records;
    visit(record);
  }
  ++stats.files;
}

}  // namespace

Outcome<AuditReadStats> forEachAuditRecord(
    const std::string& path, const std::function<void(const nlohmann::json& record)>& visit) {
  if (access(path.c_str(), R_OK) != 0)
    return makeError(ErrorCategory::kBadInput, path + ": cannot read the audit log");
  AuditReadStats stats;
  for (uint64_t number = 1;; ++number) {
    const std::string segment = auditSegmentPath(path, number);
    if (access(segment.c_str(), R_OK) != 0) break;
    readFile(segment, stats, visit);
  }
  readFile(path, stats, visit);
  return stats;
}

}  // namespace cordon
