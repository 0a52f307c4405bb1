// The metrics registry, its exposition, the queue, the events' mapping, the trace recorder and
// the HTTP plane's argument parsing. The real plane, Prometheus and protobufjs are exercised by
// tests/observe/observe_test.py against a real run.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/untrusted_text.h"
#include "observe/http_plane.h"
#include "observe/metric_families.h"
#include "observe/metrics_queue.h"
#include "observe/metrics_registry.h"
#include "observe/otlp_export.h"
#include "observe/run_metrics.h"
#include "observe/trace_recorder.h"
#include "run/run_report.h"
#include "test_support.h"

using namespace cordon;

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("an exposition lists every family, sums counters and makes histograms cumulative") {
  MetricsRegistry registry;
  registry.apply({&metric::kWorkerStarts, {"mix"}, 1, MetricUpdate::Op::kAdd});
  registry.apply({&metric::kWorkerStarts, {"mix"}, 2, MetricUpdate::Op::kAdd});
  for (double seconds : {0.0004, 0.003, 0.003, 7.0})
    registry.apply(
        {&metric::kCallDuration, {"mix", "a", "execute"}, seconds, MetricUpdate::Op::kObserve});
  registry.apply({&metric::kWorkerPeakMemory, {"mix"}, 100, MetricUpdate::Op::kMax});
  registry.apply({&metric::kWorkerPeakMemory, {"mix"}, 50, MetricUpdate::Op::kMax});
  registry.apply({&metric::kWorkerStarts, {"too", "many"}, 1, MetricUpdate::Op::kAdd});  // dropped

  const std::string text = registry.render(ExpositionFormat::kPrometheusText);
  for (const MetricFamily* family : allMetricFamilies()) {
    const std::string name =
        family->type == MetricType::kCounter ? family->name + "_total" : family->name;
    CHECK(has(text, "# TYPE " + name + " "));
  }
  CHECK(has(text, "cordon_worker_starts_total{plugin=\"mix\"} 3\n"));
  CHECK_FALSE(has(text, "too"));
  CHECK(has(text,
            "cordon_call_duration_seconds_bucket{plugin=\"mix\",step=\"a\",method=\"execute\","
            "le=\"0.0005\"} 1\n"));
  CHECK(has(text, "le=\"0.005\"} 3\n"));
  CHECK(has(text, "le=\"5\"} 3\n"));
  CHECK(has(text, "le=\"10\"} 4\n"));
  CHECK(has(text, "le=\"+Inf\"} 4\n"));
  CHECK(
      has(text,
          "cordon_call_duration_seconds_count{plugin=\"mix\",step=\"a\",method=\"execute\"} 4\n"));
  CHECK(has(text, "cordon_worker_peak_memory_bytes{plugin=\"mix\"} 100\n"));
  CHECK(has(text, "cordon_audit_records_total 0\n"));  // label-less series exist from the start
  CHECK_FALSE(has(text, "# EOF"));

  const std::string open = registry.render(ExpositionFormat::kOpenMetrics);
  CHECK(has(open, "# TYPE cordon_worker_starts counter\n"));
  CHECK(has(open, "cordon_worker_starts_total{plugin=\"mix\"} 3\n"));
  CHECK(open.size() > 6);
  CHECK(open.substr(open.size() - 6) == "# EOF\n");
}

TEST_CASE("label values from files cannot break the exposition") {
  MetricsRegistry registry;
  const std::string hostile = "a\"b\\c\nd{e=\"f\"} 9\xff";
  registry.apply({&metric::kWorkerStarts, {hostile}, 1, MetricUpdate::Op::kAdd});
  const std::string text = registry.render(ExpositionFormat::kPrometheusText);
  CHECK(
      has(text,
          "cordon_worker_starts_total{plugin=\"a\\\"b\\\\c\\nd{e=\\\"f\\\"} 9\xef\xbf\xbd\"} 1\n"));
  // Every sample is one line: the line feed in the name did not start a new one.
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    CHECK((line.empty() || line[0] == '#' || line.rfind("cordon_", 0) == 0));
  CHECK(prometheusLabelValue(std::string(300, 'x')).size() == 256 + 3);
}

TEST_CASE("the format follows the scraper's Accept header") {
  CHECK(negotiateFormat("application/openmetrics-text;version=1.0.0,text/plain;q=0.5") ==
        ExpositionFormat::kOpenMetrics);
  CHECK(negotiateFormat("text/plain") == ExpositionFormat::kPrometheusText);
  CHECK(negotiateFormat("") == ExpositionFormat::kPrometheusText);
  CHECK(std::string(contentTypeOf(ExpositionFormat::kPrometheusText)) ==
        "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("a full queue drops updates and counts them, it never grows") {
  MetricsQueue queue(3);
  for (int i = 0; i < 10; ++i)
    queue.push({&metric::kWorkerStarts, {"p"}, 1, MetricUpdate::Op::kAdd});
  MetricsRegistry registry;
  queue.drainInto(registry);
  CHECK(registry.value(metric::kWorkerStarts, {"p"}) == 3);
  CHECK(registry.value(metric::kUpdatesDropped, {}) == 7);
  queue.push({&metric::kWorkerStarts, {"p"}, 1, MetricUpdate::Op::kAdd});
  queue.drainInto(registry);
  CHECK(registry.value(metric::kWorkerStarts, {"p"}) == 4);
  CHECK(registry.value(metric::kUpdatesDropped, {}) == 7);
}

TEST_CASE("run events become the documented series") {
  MetricsQueue queue;
  RunMetrics metrics(queue);
  metrics.onEvent(
      RunStarted{"0123456789abcdef", "w.yaml", "w", "p.yaml", 3, 2, {}, false, {}, {}, {}});
  metrics.onEvent(StepStarted{"fan", "mix"});
  metrics.onEvent(StepRetrying{"fan[7]", "mix", 1, 3, 10,
                               makeError(ErrorCategory::kPluginError, "no"),
                               StepRetrying::Why::kRetry});
  CallFinished call{"mix", "fan[7]", "execute", 1, 2.0, std::nullopt, {{"read_input", 40}}};
  metrics.onEvent(call);
  StepFinished finished{"fan", "mix", 30, 1, makeError(ErrorCategory::kTimeout, "slow"), {}, true};
  metrics.onEvent(finished);
  metrics.onEvent(StepSkipped{"after", "mix", "its dependency failed"});
  WorkerStopped stopped{"mix", "fan", 1, "killed", 2048, 0.5, WorkerFault{}};
  stopped.fault->kind = WorkerFault::Kind::kSandboxViolation;
  stopped.fault->syscall = "socket";
  metrics.onEvent(stopped);
  GateDecided denied;
  denied.plugin = "mix";
  denied.direction = "plugin->kernel";
  denied.method = "openat";
  metrics.onEvent(denied);
  metrics.onAuditWrite(4, 0.0001, true);
  metrics.onAuditWrite(1, 0.0001, false);

  MetricsRegistry registry;
  queue.drainInto(registry);
  using namespace metric;
  CHECK(registry.value(kStepsWaiting, {}) == 1);  // 3 steps: one ran, one skipped
  CHECK(registry.value(kStepsRunning, {}) == 0);
  CHECK(registry.value(kStepRetries, {"mix", "fan", "retry"}) == 1);  // the item counts as its step
  CHECK(registry.value(kErrors, {"mix", "fan", "plugin_error"}) == 1);
  CHECK(registry.value(kErrors, {"mix", "fan", "timeout"}) == 1);
  CHECK(registry.value(kCalls, {"mix", "fan", "execute", "ok"}) == 1);
  CHECK(registry.value(kArtifactBytes, {"read"}) == 40);
  CHECK(registry.value(kStepsFinished, {"mix", "fan", "continued"}) == 1);
  CHECK(registry.value(kStepsFinished, {"mix", "after", "skipped"}) == 1);
  CHECK(registry.value(kSeccompViolations, {"mix", "socket"}) == 1);
  CHECK(registry.value(kSeccompViolations, {"mix", "openat"}) == 1);
  CHECK(registry.value(kWorkerFaults, {"mix", "sandbox_violation"}) == 1);
  CHECK(registry.value(kWorkerPeakMemory, {"mix"}) == 2048 * 1024);
  CHECK(registry.value(kAuditRecords, {}) == 4);
  CHECK(registry.value(kAuditWriteFailures, {}) == 1);
}

TEST_CASE("docs/metrics.md documents every metric, and nothing else by that prefix") {
  std::ifstream file(test::sourcePath("docs/metrics.md"));
  std::stringstream text;
  text << file.rdbuf();
  std::set<std::string> documented;
  const std::string doc = text.str();
  for (size_t at = doc.find("| `cordon_"); at != std::string::npos;
       at = doc.find("| `cordon_", at + 1)) {
    const size_t start = at + 3;
    documented.insert(doc.substr(start, doc.find('`', start) - start));
  }
  std::set<std::string> exposed;
  for (const MetricFamily* family : allMetricFamilies())
    exposed.insert(family->type == MetricType::kCounter ? family->name + "_total" : family->name);
  CHECK(documented == exposed);
}

TEST_CASE("--listen and --otlp-endpoint are checked before the run") {
  auto loopback = parseListenAddress("127.0.0.1:9464");
  REQUIRE(loopback.ok());
  CHECK(loopback.value().loopback);
  CHECK(loopback.value().port == 9464);
  auto v6 = parseListenAddress("[::1]:0");
  REQUIRE(v6.ok());
  CHECK(v6.value().host == "::1");
  auto anywhere = parseListenAddress("0.0.0.0:9464");
  REQUIRE(anywhere.ok());
  CHECK_FALSE(anywhere.value().loopback);
  for (const char* bad :
       {"9464", "127.0.0.1:", "127.0.0.1:70000", "example.com:80", ":80", "1.2.3:4"}) {
    auto parsed = parseListenAddress(bad);
    CHECK_MESSAGE(!parsed.ok(), bad);
    if (!parsed.ok()) CHECK(has(parsed.error().message, "--listen '"));
  }
  auto endpoint = parseOtlpEndpoint("http://127.0.0.1:4318");
  REQUIRE(endpoint.ok());
  CHECK(endpoint.value().path == "/v1/traces");
  auto withPath = parseOtlpEndpoint("http://[::1]:9/x/y");
  REQUIRE(withPath.ok());
  CHECK(withPath.value().host == "::1");
  CHECK(withPath.value().port == "9");
  CHECK(withPath.value().path == "/x/y");
  for (const char* bad : {"https://a:1", "http://", "http://a:b", "http://a b:1", "ftp://x"})
    CHECK_MESSAGE(!parseOtlpEndpoint(bad).ok(), bad);
}

TEST_CASE("a collector that is not there is a clear error, not a hang") {
  auto endpoint = parseOtlpEndpoint("http://127.0.0.1:1/v1/traces");
  REQUIRE(endpoint.ok());
  auto failed = sendOtlpTraces(endpoint.value(), "{}", std::chrono::milliseconds(2000));
  REQUIRE(failed);
  CHECK(has(failed->message, "OTLP export to http://127.0.0.1:1/v1/traces: cannot connect"));
}

TEST_CASE("spans nest run > step > attempt > call, and failures carry their category") {
  TraceRecorder traces;
  traces.onEvent(
      RunStarted{"0123456789abcdef", "w.yaml", "w", "p.yaml", 1, 1, {}, false, {}, {}, {}});
  traces.onEvent(StepStarted{"a", "mix"});
  traces.onEvent(CallFinished{
      "mix", "a", "execute", 1, 1.0, makeError(ErrorCategory::kPluginError, "bad\xff"), {}});
  traces.onEvent(StepRetrying{"a", "mix", 1, 2, 0, makeError(ErrorCategory::kPluginError, "bad"),
                              StepRetrying::Why::kRetry});
  traces.onEvent(CallFinished{"mix", "a", "execute", 1, 1.0, std::nullopt, {}});
  traces.onEvent(StepFinished{"a", "mix", 5, 1, std::nullopt, {}, false});
  RunReport report;
  traces.onEvent(RunFinished{&report});

  const nlohmann::json request = traces.request();
  const auto& spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"];
  REQUIRE(spans.size() == 6);  // 2 calls, 2 attempts, the step, the run
  std::map<std::string, nlohmann::json> byName;
  std::map<std::string, std::string> ids;
  for (const auto& span : spans) {
    CHECK(span["traceId"] == traces.traceId());
    ids[span["spanId"].get<std::string>()] = span["name"].get<std::string>();
  }
  CHECK(traces.traceId().size() == 32);
  unsigned failedCalls = 0;
  for (const auto& span : spans) {
    const std::string name = span["name"];
    const std::string parent = span.value("parentSpanId", "");
    if (name == "run w") CHECK(parent.empty());
    if (name == "step a") CHECK(ids[parent] == "run w");
    if (name == "attempt a") CHECK(ids[parent] == "step a");
    if (name == "call execute") {
      CHECK(ids[parent] == "attempt a");
      if (span["status"]["code"] == 2) {
        ++failedCalls;
        CHECK(span["status"]["message"] == "bad\xef\xbf\xbd");
        bool category = false;
        for (const auto& attribute : span["attributes"])
          category = category || (attribute["key"] == "cordon.error.category" &&
                                  attribute["value"]["stringValue"] == "plugin_error");
        CHECK(category);
      }
    }
  }
  CHECK(failedCalls == 1);
}

namespace {

// One HTTP/1.1 request to 127.0.0.1:PORT; the whole answer (the plane closes after it).
std::string httpGet(uint16_t port, const std::string& path, const std::string& headers = {}) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n" + headers + "\r\n";
  REQUIRE(write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) answer.append(buffer, n);
  close(fd);
  return answer;
}

}  // namespace

TEST_CASE("the HTTP plane serves from its own thread while the loop keeps pushing") {
  MetricsQueue queue;
  auto started = HttpPlane::start({"127.0.0.1", 0, true}, queue);
  REQUIRE(started.ok());
  HttpPlane& plane = *started.value();
  REQUIRE(plane.port() != 0);
  // The pushing thread stands for the event loop; the scrapes run on the plane's thread.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> pushes{0};
  std::thread pusher([&] {
    while (!stop) {
      queue.push({&metric::kWorkerStarts, {"p"}, 1, MetricUpdate::Op::kAdd});
      ++pushes;
    }
  });
  // On a loaded machine the pusher may not have run yet: scrape once it has, 20 times.
  while (pushes.load() == 0) std::this_thread::yield();
  double last = -1;
  bool grew = true;
  for (int i = 0; i < 20; ++i) {
    const std::string answer = httpGet(plane.port(), "/metrics");
    REQUIRE(answer.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(has(answer, "Content-Type: text/plain; version=0.0.4"));
    const auto at = answer.find("cordon_worker_starts_total{plugin=\"p\"} ");
    if (at == std::string::npos) continue;
    const double value = std::stod(answer.substr(at + 39));
    grew = grew && value >= last;
    last = value;
  }
  stop = true;
  pusher.join();
  CHECK(grew);
  CHECK(last > 0);
  const std::string open =
      httpGet(plane.port(), "/metrics", "Accept: application/openmetrics-text; version=1.0.0\r\n");
  CHECK(has(open, "Content-Type: application/openmetrics-text"));
  CHECK(has(open, "# EOF\n"));
  CHECK(httpGet(plane.port(), "/healthz").rfind("HTTP/1.1 200", 0) == 0);
  CHECK(httpGet(plane.port(), "/other").rfind("HTTP/1.1 404", 0) == 0);
  plane.setUnhealthy("the audit log cannot be written");
  const std::string unhealthy = httpGet(plane.port(), "/healthz");
  CHECK(unhealthy.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(has(unhealthy, "unhealthy: the audit log cannot be written"));
  plane.stop();
  // Stopped: what the loop pushed since the last scrape is still there for the final file.
  queue.drainInto(plane.registry());
  CHECK(plane.registry().value(metric::kWorkerStarts, {"p"}) >= last);
}

TEST_CASE("an address in use is a clear error") {
  MetricsQueue queue;
  auto first = HttpPlane::start({"127.0.0.1", 0, true}, queue);
  REQUIRE(first.ok());
  auto second = HttpPlane::start({"127.0.0.1", first.value()->port(), true}, queue);
  REQUIRE_FALSE(second.ok());
  CHECK(has(second.error().message,
            "--listen 127.0.0.1:" + std::to_string(first.value()->port()) + ": cannot bind"));
}
