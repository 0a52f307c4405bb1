// The figures of one process, and their exposition: Prometheus text format 0.0.4, or
// OpenMetrics 1.0 when the scraper asks for it. Not thread-safe: one thread owns a registry
// (the HTTP plane's, or the run's at its end); updates reach it through a MetricsQueue.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "observe/metric_families.h"

namespace cordon {

struct MetricUpdate {
  enum class Op {
    kAdd,      // counters and gauges
    kSet,      // gauges
    kMax,      // gauges: keep the larger
    kObserve,  // histograms
  };
  const MetricFamily* family = nullptr;
  std::vector<std::string> labels;  // values, in the family's label order (as they came)
  double value = 0;
  Op op = Op::kAdd;
};

enum class ExpositionFormat { kPrometheusText, kOpenMetrics };

// The Content-Type each format is served with.
const char* contentTypeOf(ExpositionFormat format);
// OpenMetrics when an HTTP Accept header asks for application/openmetrics-text, else the text
// format (what Prometheus itself does: it asks for both and takes either).
ExpositionFormat negotiateFormat(const std::string& acceptHeader);

class MetricsRegistry {
 public:
  MetricsRegistry();
  // An update whose label count does not match its family is dropped (a programming error).
  void apply(const MetricUpdate& update);
  void apply(const std::vector<MetricUpdate>& updates) {
    for (const auto& update : updates) apply(update);
  }
  // Every family, with its HELP and TYPE even when it has no sample yet.
  std::string render(ExpositionFormat format) const;

  // A sample's value, for tests and the benchmark (counters, gauges; a histogram's count);
  // nullopt-like 0 when there is none.
  double value(const MetricFamily& family, const std::vector<std::string>& labels) const;

 private:
  struct Series {
    double value = 0;  // counter, gauge; a histogram's sum
    uint64_t count = 0;
    std::vector<uint64_t> buckets;  // per bound, not cumulative
  };
  std::map<const MetricFamily*, std::map<std::vector<std::string>, Series>> series_;
};

}  // namespace cordon
