// One run's view of the audit log: every record written through it carries the run's id. The
// id is minted before anything is checked, so what a run's preflight records (signature checks,
// the manifest's admissions, a refused input) filters with the run it was for (docs/audit.md).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "audit/audit_log.h"

namespace cordon {

// 16 hex digits from getrandom.
std::string newRunId();

class RunAudit {
 public:
  RunAudit() = default;  // records nothing: `cordon validate`, tests that keep no log
  RunAudit(AuditLog* log, std::string runId) : log_(log), runId_(std::move(runId)) {}

  // AuditLog::record with the run's id; true when there is no log to write to.
  bool record(std::string_view event, nlohmann::json fields) const;

  AuditLog* log() const { return log_; }
  const std::string& runId() const { return runId_; }
  explicit operator bool() const { return log_ != nullptr; }

 private:
  AuditLog* log_ = nullptr;
  std::string runId_;
};

}  // namespace cordon
