#include "observe/run_observation.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/untrusted_text.h"

namespace cordon {

std::optional<std::string> writeFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot create " + temporary + ": " + std::strerror(errno);
    out << text;
    out.flush();
    if (!out) return "cannot write " + temporary + ": " + std::strerror(errno);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(temporary.c_str());
    return "cannot rename " + temporary + " to " + path + ": " + why;
  }
  return std::nullopt;
}

Outcome<std::unique_ptr<RunObservation>> RunObservation::start(const ObserveOptions& options,
                                                               AuditLog& audit) {
  std::unique_ptr<RunObservation> observation(new RunObservation(options, audit));
  if (!options.otlpEndpoint.empty()) {
    auto endpoint = parseOtlpEndpoint(options.otlpEndpoint);
    if (!endpoint.ok()) return endpoint.error();
    observation->endpoint_ = endpoint.value();
  }
  if (!options.listen.empty()) {
    auto address = parseListenAddress(options.listen);
    if (!address.ok()) return address.error();
    observation->address_ = address.value();
    auto plane = HttpPlane::start(observation->address_, observation->queue_, options.routes);
    if (!plane.ok()) return plane.error();
    observation->plane_ = std::move(plane.value());
  }
  audit.setWriteObserver(observation.get());
  return observation;
}

void RunObservation::onAuditWrite(uint64_t records, double seconds, bool ok) {
  metrics_.onAuditWrite(records, seconds, ok);
  if (!ok && plane_) plane_->setUnhealthy("the audit log cannot be written; the run is stopping");
}

RunObservation::~RunObservation() {
  if (!finished_) audit_.setWriteObserver(nullptr);
}

std::vector<RunListener*> RunObservation::listeners() {
  std::vector<RunListener*> listeners = {&metrics_};
  if (!options_.traceFile.empty() || endpoint_) listeners.push_back(&traces_);
  return listeners;
}

std::vector<std::string> RunObservation::finish() {
  std::vector<std::string> warnings;
  if (finished_) return warnings;
  finished_ = true;
  audit_.setWriteObserver(nullptr);
  MetricsRegistry local;
  MetricsRegistry* registry = &local;
  if (plane_) {
    plane_->stop();
    registry = &plane_->registry();
  }
  queue_.drainInto(*registry);
  if (!options_.metricsFile.empty()) {
    if (auto failed = writeFileAtomically(options_.metricsFile,
                                          registry->render(ExpositionFormat::kPrometheusText)))
      warnings.push_back("--metrics-file: " + *failed);
  }
  if (!options_.traceFile.empty() || endpoint_) {
    const std::string body = jsonText(traces_.request());
    if (!options_.traceFile.empty()) {
      if (auto failed = writeFileAtomically(options_.traceFile, body + "\n"))
        warnings.push_back("--trace: " + *failed);
    }
    if (endpoint_) {
      if (auto failed = sendOtlpTraces(*endpoint_, body, std::chrono::seconds(10)))
        warnings.push_back(failed->message);
    }
  }
  return warnings;
}

}  // namespace cordon
