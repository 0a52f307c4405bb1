#include "observe/metrics_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/untrusted_text.h"

namespace cordon {
namespace {

std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", value);
    return text;
  }
  // The shortest form that reads back as the same double (0.0001, not 0.00010000000000000001).
  char text[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

// {a="x",b="y"} with `extra` (le="0.5") last; "" when there are no labels at all.
std::string labelSet(const MetricFamily& family, const std::vector<std::string>& values,
                     const std::string& extra = {}) {
  std::string out;
  for (size_t i = 0; i < family.labels.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += family.labels[i] + "=\"" + prometheusLabelValue(values[i]) + "\"";
  }
  if (!extra.empty()) out += (out.empty() ? "{" : ",") + extra;
  return out.empty() ? out : out + "}";
}

const char* typeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// HELP text escaping (both formats): backslash and line feed; OpenMetrics also the quote.
std::string helpText(const std::string& help, ExpositionFormat format) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && format == ExpositionFormat::kOpenMetrics) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

const char* contentTypeOf(ExpositionFormat format) {
  return format == ExpositionFormat::kOpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

ExpositionFormat negotiateFormat(const std::string& acceptHeader) {
  return acceptHeader.find("application/openmetrics-text") != std::string::npos
             ? ExpositionFormat::kOpenMetrics
             : ExpositionFormat::kPrometheusText;
}

MetricsRegistry::MetricsRegistry() {
  // Label-less counters and gauges exist from the start at 0, as client libraries do, so that
  // `increase()` sees their first change.
  for (const MetricFamily* family : allMetricFamilies()) {
    if (!family->labels.empty()) continue;
    Series& series = series_[family][{}];
    series.buckets.assign(family->buckets.size(), 0);
  }
}

void MetricsRegistry::apply(const MetricUpdate& update) {
  const MetricFamily* family = update.family;
  if (family == nullptr || update.labels.size() != family->labels.size()) return;
  Series& series = series_[family][update.labels];
  switch (update.op) {
    case MetricUpdate::Op::kAdd:
      series.value += update.value;
      break;
    case MetricUpdate::Op::kSet:
      series.value = update.value;
      break;
    case MetricUpdate::Op::kMax:
      series.value = std::max(series.value, update.value);
      break;
    case MetricUpdate::Op::kObserve: {
      if (family->type != MetricType::kHistogram) return;
      if (series.buckets.size() != family->buckets.size())
        series.buckets.assign(family->buckets.size(), 0);
      auto bound = std::lower_bound(family->buckets.begin(), family->buckets.end(), update.value);
      if (bound != family->buckets.end()) ++series.buckets[bound - family->buckets.begin()];
      series.value += update.value;
      ++series.count;
      break;
    }
  }
}

double MetricsRegistry::value(const MetricFamily& family,
                              const std::vector<std::string>& labels) const {
  auto found = series_.find(&family);
  if (found == series_.end()) return 0;
  auto sample = found->second.find(labels);
  if (sample == found->second.end()) return 0;
  return family.type == MetricType::kHistogram ? static_cast<double>(sample->second.count)
                                               : sample->second.value;
}

std::string MetricsRegistry::render(ExpositionFormat format) const {
  const bool open = format == ExpositionFormat::kOpenMetrics;
  std::string out;
  for (const MetricFamily* family : allMetricFamilies()) {
    const bool counter = family->type == MetricType::kCounter;
    // The text format names a counter's family by its sample (_total); OpenMetrics without it.
    const std::string familyName = counter && !open ? family->name + "_total" : family->name;
    out += "# HELP " + familyName + " " + helpText(family->help, format) + "\n";
    out += "# TYPE " + familyName + " " + typeName(family->type) + "\n";
    auto found = series_.find(family);
    if (found == series_.end()) continue;
    for (const auto& [labels, series] : found->second) {
      if (family->type != MetricType::kHistogram) {
        out += (counter ? family->name + "_total" : family->name) + labelSet(*family, labels) +
               " " + number(series.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i < family->buckets.size(); ++i) {
        cumulative += series.buckets[i];
        out += family->name + "_bucket" +
               labelSet(*family, labels, "le=\"" + number(family->buckets[i]) + "\"") + " " +
               number(static_cast<double>(cumulative)) + "\n";
      }
      out += family->name + "_bucket" + labelSet(*family, labels, "le=\"+Inf\"") + " " +
             number(static_cast<double>(series.count)) + "\n";
      out += family->name + "_sum" + labelSet(*family, labels) + " " + number(series.value) + "\n";
      out += family->name + "_count" + labelSet(*family, labels) + " " +
             number(static_cast<double>(series.count)) + "\n";
    }
  }
  if (open) out += "# EOF\n";
  return out;
}

}  // namespace cordon
