// A run's events as OpenTelemetry spans, written as OTLP/JSON (an ExportTraceServiceRequest,
// docs/metrics.md "Traces"): one span for the run, each step, each attempt, each call on a
// plugin and each worker start (with one child per start phase). A failed span has status
// ERROR, its message, and the error's category as cordon.error.category. The trace id is the
// first 16 bytes of SHA-256(run id), and every span carries cordon.run_id, so a trace and the
// audit log's records of a run find each other.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "run/run_events.h"

namespace cordon {

class TraceRecorder final : public RunListener {
 public:
  static constexpr size_t kMaxSpans = 200'000;  // beyond it spans are counted, not kept

  void onEvent(const RunEvent& event) override;
  // The ExportTraceServiceRequest, as OTLP/JSON (hex ids, integer enums, nanoseconds as text).
  nlohmann::json request() const;
  const std::string& traceId() const { return traceId_; }
  size_t spanCount() const { return spans_.size(); }

 private:
  struct Open {
    std::string spanId;
    uint64_t startNs = 0;
    unsigned attempt = 0;
  };
  uint64_t nowNs() const;
  std::string newSpanId();
  void finish(const std::string& name, const Open& open, const std::string& parent, uint64_t endNs,
              nlohmann::json attributes, const std::optional<Error>& error, int kind = 1);
  // The attempt span of `label` (STEP or STEP[ITEM]), opened now when there is none.
  Open& attemptOf(const std::string& label);
  void endAttempt(const std::string& label, uint64_t endNs, const std::optional<Error>& error);

  std::string runId_;
  std::string traceId_;
  Open run_;
  std::string workflow_;
  std::map<std::string, Open> steps_;
  std::map<std::string, std::string> stepPlugins_;
  std::map<std::string, std::string> cachedFrom_;  // step -> "RUN/STEP" its outputs came from
  std::map<std::string, Open> attempts_;
  std::map<std::string, unsigned> attemptNumbers_;
  std::map<std::string, uint64_t> nextAttemptStart_;
  std::vector<nlohmann::json> spans_;
  uint64_t dropped_ = 0;
  uint64_t counter_ = 0;
  uint64_t seed_ = 0;
};

// STEP for "STEP[ITEM]" (a for_each item's label), else the label itself.
std::string stepOfLabel(const std::string& label);

}  // namespace cordon
