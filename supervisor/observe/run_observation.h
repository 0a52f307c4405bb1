// What `cordon run --listen/--metrics-file/--trace/--otlp-endpoint` attach to a run: the metric
// updates' queue and their listener, the HTTP plane, the trace recorder; and what is left at
// the end (the exposition file, the trace file, the OTLP export). None of it can fail a run
// once the run started: a file or collector that cannot be written to is a warning.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "observe/http_plane.h"
#include "observe/metrics_queue.h"
#include "observe/otlp_export.h"
#include "observe/run_metrics.h"
#include "observe/trace_recorder.h"

namespace cordon {

struct ObserveOptions {
  std::string listen;            // HOST:PORT; empty: no HTTP plane
  std::string metricsFile;       // the final exposition (text format 0.0.4)
  std::string traceFile;         // OTLP/JSON
  std::string otlpEndpoint;      // http://HOST:PORT/PATH
  HttpRoutes* routes = nullptr;  // more routes on the plane (the dashboard); not owned
  bool any() const {
    return !listen.empty() || !metricsFile.empty() || !traceFile.empty() || !otlpEndpoint.empty();
  }
};

class RunObservation final : private AuditWriteObserver {
 public:
  // Checks the options (the address, the URL) and starts the HTTP plane. The audit log's writes
  // are watched until finish().
  static Outcome<std::unique_ptr<RunObservation>> start(const ObserveOptions& options,
                                                        AuditLog& audit);
  ~RunObservation() override;

  std::vector<RunListener*> listeners();
  uint16_t port() const { return plane_ ? plane_->port() : 0; }
  const ListenAddress& address() const { return address_; }

  // Stops the plane and writes what the options ask for; each warning is one line.
  std::vector<std::string> finish();

 private:
  RunObservation(const ObserveOptions& options, AuditLog& audit)
      : options_(options), audit_(audit), metrics_(queue_) {}
  // The metrics count the write; a failed one also turns /healthz to 503 (the run stops).
  void onAuditWrite(uint64_t records, double seconds, bool ok) override;

  ObserveOptions options_;
  AuditLog& audit_;
  MetricsQueue queue_;
  RunMetrics metrics_;
  TraceRecorder traces_;
  ListenAddress address_;
  std::optional<OtlpEndpoint> endpoint_;
  std::unique_ptr<HttpPlane> plane_;
  bool finished_ = false;
};

// Writes `text` to `path` through a temporary file and a rename, so a reader never sees half.
std::optional<std::string> writeFileAtomically(const std::string& path, const std::string& text);

}  // namespace cordon
