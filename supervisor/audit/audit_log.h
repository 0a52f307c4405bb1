// The audit log: one JSON object per line for every security event (docs/audit.md). Each record
// carries the SHA-256 of the previous one, so deleting, reordering or editing a line breaks the
// chain, which `cordon audit verify` detects.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cordon {

class AuditLog {
 public:
  // Opens (appending) or creates the log. The chain continues from the last record, so a log
  // that does not verify is refused rather than extended.
  static Outcome<std::unique_ptr<AuditLog>> open(const std::string& path);
  ~AuditLog();

  // Appends {seq, ts, run, event, ...fields, prev, hash} and writes it out before returning.
  void record(std::string_view event, nlohmann::json fields);

  void setRunId(std::string runId) { runId_ = std::move(runId); }
  const std::string& path() const { return path_; }
  uint64_t recordsWritten() const { return written_; }

 private:
  AuditLog(std::string path, int fd, uint64_t nextSeq, std::string lastHash);
  std::string path_;
  int fd_;
  uint64_t nextSeq_;
  std::string lastHash_;
  std::string runId_;
  uint64_t written_ = 0;
};

struct AuditVerification {
  uint64_t records = 0;
  std::string lastHash;
};

// Recomputes the chain. The error names the first line that does not verify.
Outcome<AuditVerification> verifyAuditLog(const std::string& path);

// The hash a record must carry: SHA-256 over prev hash and the record without "hash".
std::string auditRecordHash(const nlohmann::json& recordWithoutHash);

}  // namespace cordon
