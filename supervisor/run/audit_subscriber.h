// The audit log's view of a run's events: each becomes the record docs/audit.md describes
// (run.start, step.*, plugin.start, plugin.stop, the worker faults, gate.*, run.end, ...), with
// the run's id. It is the stream's record (RunRecord): an event it cannot write is refused.
#pragma once

#include <string>

#include "audit/audit_log.h"
#include "run/run_events.h"

namespace cordon {

class AuditSubscriber final : public RunRecord {
 public:
  // `runId`: for the records before RunStarted (preflight's), which carries the run's own.
  explicit AuditSubscriber(AuditLog& audit, std::string runId = {})
      : audit_(audit), runId_(std::move(runId)) {}
  std::optional<Error> keep(const RunEvent& event) override;
  std::optional<Error> failure() const override { return audit_.failure(); }
  std::optional<Error> flush() override;
  bool holding() const override { return audit_.holdsLock(); }
  void quiet() override { audit_.releaseLock(); }

 private:
  bool write(std::string_view name, nlohmann::json fields, bool mayWait = false);

  AuditLog& audit_;
  std::string runId_;  // from RunStarted, or given for the records before it (preflight)
};

// The record name of a worker fault ("plugin.crash", ...) and of a gate verdict ("gate.deny").
const char* faultRecordName(WorkerFault::Kind kind);
const char* verdictRecordName(GateDecided::Verdict verdict);

}  // namespace cordon
