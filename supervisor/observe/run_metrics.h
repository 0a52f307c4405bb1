// A run's events as metric updates (docs/metrics.md). It runs on the event loop and only pushes
// small updates to a MetricsQueue; the registry that sums them lives with whoever drains it.
// It also watches the audit log's writes (their count, latency and failures).
#pragma once

#include <string>

#include "audit/audit_log.h"
#include "observe/metrics_queue.h"
#include "run/run_events.h"

namespace cordon {

class RunMetrics final : public RunListener, public AuditWriteObserver {
 public:
  explicit RunMetrics(MetricsQueue& queue) : queue_(queue) {}
  void onEvent(const RunEvent& event) override;
  void onAuditWrite(uint64_t records, double seconds, bool ok) override;

 private:
  void add(const MetricFamily& family, std::vector<std::string> labels, double by = 1);
  void set(const MetricFamily& family, std::vector<std::string> labels, double value);
  void observe(const MetricFamily& family, std::vector<std::string> labels, double value);

  MetricsQueue& queue_;
  long waiting_ = 0;
  long running_ = 0;
};

// The label a worker fault's kind gets: crash, sandbox_violation, timeout, ...
const char* faultKindLabel(WorkerFault::Kind kind);

}  // namespace cordon
