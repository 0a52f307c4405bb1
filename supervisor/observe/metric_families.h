// Every metric Cordon exposes, as data: name, help, type, label names and, for histograms, the
// bucket bounds. docs/metrics.md documents each one; a test checks the two agree.
#pragma once

#include <string>
#include <vector>

namespace cordon {

enum class MetricType { kCounter, kGauge, kHistogram };

struct MetricFamily {
  std::string name;  // without the _total a counter's samples carry
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> labels;
  std::vector<double> buckets;  // histograms: the upper bounds, ascending; +Inf is implied
};

namespace metric {
extern const MetricFamily kRunStartTime;
extern const MetricFamily kRunsFinished;
extern const MetricFamily kStepsFinished;
extern const MetricFamily kStepDuration;
extern const MetricFamily kStepRetries;
extern const MetricFamily kStepCache;
extern const MetricFamily kStepsRunning;
extern const MetricFamily kStepsWaiting;
extern const MetricFamily kCalls;
extern const MetricFamily kCallDuration;
extern const MetricFamily kErrors;
extern const MetricFamily kGateDecisions;
extern const MetricFamily kSeccompViolations;
extern const MetricFamily kWorkerStarts;
extern const MetricFamily kWorkerStartFailures;
extern const MetricFamily kWorkerRestarts;
extern const MetricFamily kWorkerFaults;
extern const MetricFamily kWorkerStartDuration;
extern const MetricFamily kWorkerCpu;
extern const MetricFamily kWorkerPeakMemory;
extern const MetricFamily kArtifactBytes;
extern const MetricFamily kAuditRecords;
extern const MetricFamily kAuditWriteDuration;
extern const MetricFamily kAuditWriteFailures;
extern const MetricFamily kUpdatesDropped;
}  // namespace metric

// All of the above, in the order an exposition lists them.
const std::vector<const MetricFamily*>& allMetricFamilies();

}  // namespace cordon
