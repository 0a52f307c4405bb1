// The audit log's view of a run's events: each becomes the record docs/audit.md describes
// (run.start, step.start, step.end, step.skipped, plugin.restart, run.end, ...). Records about
// workers and gate decisions are written where they are decided (worker/, gate/).
#pragma once

#include "audit/audit_log.h"
#include "run/run_events.h"

namespace cordon {

class AuditSubscriber final : public RunListener {
 public:
  explicit AuditSubscriber(AuditLog& audit) : audit_(audit) {}
  void onEvent(const RunEvent& event) override;

 private:
  AuditLog& audit_;
};

}  // namespace cordon
