#include "observe/trace_recorder.h"

#include <openssl/evp.h>
#include <sys/random.h>

#include <cstring>

#include "core/untrusted_text.h"
#include "run/run_report.h"

namespace cordon {
namespace {

constexpr int kSpanKindInternal = 1;
constexpr int kSpanKindClient = 3;
constexpr int kStatusOk = 1;
constexpr int kStatusError = 2;

std::string hex(const unsigned char* bytes, size_t size) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) out += {kHex[bytes[i] >> 4], kHex[bytes[i] & 15]};
  return out;
}

nlohmann::json attribute(const std::string& key, std::string_view value) {
  nlohmann::json text = nlohmann::json::object();
  setUntrusted(text, "stringValue", value);
  return {{"key", key}, {"value", text}};
}
nlohmann::json attribute(const std::string& key, int64_t value) {
  return {{"key", key}, {"value", {{"intValue", std::to_string(value)}}}};
}

}  // namespace

std::string stepOfLabel(const std::string& label) {
  const auto bracket = label.find('[');
  return bracket == std::string::npos || label.back() != ']' ? label : label.substr(0, bracket);
}

uint64_t TraceRecorder::nowNs() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string TraceRecorder::newSpanId() {
  if (seed_ == 0 && getrandom(&seed_, sizeof seed_, 0) != sizeof seed_) seed_ = nowNs();
  // Unique within the trace, which is all a span id must be: a random base and a counter.
  uint64_t id = seed_ + (++counter_) * 0x9e3779b97f4a7c15ULL;
  if (id == 0) id = 1;
  unsigned char bytes[8];
  std::memcpy(bytes, &id, sizeof bytes);
  return hex(bytes, sizeof bytes);
}

void TraceRecorder::finish(const std::string& name, const Open& open, const std::string& parent,
                           uint64_t endNs, nlohmann::json attributes,
                           const std::optional<Error>& error, int kind) {
  if (spans_.size() >= kMaxSpans) {
    ++dropped_;
    return;
  }
  attributes.push_back(attribute("cordon.run_id", runId_));
  nlohmann::json span = {{"traceId", traceId_},
                         {"spanId", open.spanId},
                         {"kind", kind},
                         {"startTimeUnixNano", std::to_string(open.startNs)},
                         {"endTimeUnixNano", std::to_string(std::max(endNs, open.startNs))},
                         {"attributes", std::move(attributes)}};
  setUntrusted(span, "name", name);
  if (!parent.empty()) span["parentSpanId"] = parent;
  if (error) {
    nlohmann::json status = {{"code", kStatusError}};
    setUntrusted(status, "message", error->message);
    span["status"] = std::move(status);
    span["attributes"].push_back(
        attribute("cordon.error.category", std::string(categoryName(error->category))));
  } else {
    span["status"] = {{"code", kStatusOk}};
  }
  spans_.push_back(std::move(span));
}

TraceRecorder::Open& TraceRecorder::attemptOf(const std::string& label) {
  auto found = attempts_.find(label);
  if (found != attempts_.end()) return found->second;
  Open open{newSpanId(), nowNs(), ++attemptNumbers_[label]};
  if (auto next = nextAttemptStart_.find(label); next != nextAttemptStart_.end()) {
    open.startNs = std::min(open.startNs, std::max(next->second, open.startNs - 1));
    nextAttemptStart_.erase(next);
  }
  return attempts_.emplace(label, open).first->second;
}

void TraceRecorder::endAttempt(const std::string& label, uint64_t endNs,
                               const std::optional<Error>& error) {
  auto found = attempts_.find(label);
  if (found == attempts_.end()) return;
  const std::string step = stepOfLabel(label);
  auto parent = steps_.find(step);
  finish("attempt " + label, found->second,
         parent != steps_.end() ? parent->second.spanId : run_.spanId, endNs,
         {attribute("cordon.step", label), attribute("cordon.plugin", stepPlugins_[step]),
          attribute("cordon.attempt", static_cast<int64_t>(found->second.attempt))},
         error);
  attempts_.erase(found);
}

void TraceRecorder::onEvent(const RunEvent& event) {
  std::visit(Overloaded{
                 [this](const RunStarted& e) {
                   runId_ = e.runId;
                   workflow_ = e.workflowName;
                   unsigned char digest[EVP_MAX_MD_SIZE];
                   unsigned size = 0;
                   EVP_Digest(runId_.data(), runId_.size(), digest, &size, EVP_sha256(), nullptr);
                   traceId_ = hex(digest, 16);
                   run_ = {newSpanId(), nowNs(), 0};
                 },
                 [](const InputsRejected&) {},
                 [this](const StepStarted& e) {
                   steps_[e.step] = {newSpanId(), nowNs(), 0};
                   stepPlugins_[e.step] = e.plugin;
                   attemptOf(e.step);
                 },
                 [this](const StepFinished& e) {
                   const uint64_t end = nowNs();
                   // Attempts still open end with the step: its own, and its items'.
                   std::vector<std::string> open;
                   for (const auto& [label, attempt] : attempts_)
                     if (stepOfLabel(label) == e.step) open.push_back(label);
                   for (const auto& label : open)
                     endAttempt(label, end, label == e.step ? e.error : std::nullopt);
                   auto step = steps_.find(e.step);
                   if (step == steps_.end()) return;
                   nlohmann::json attributes = {
                       attribute("cordon.step", e.step), attribute("cordon.plugin", e.plugin),
                       attribute("cordon.worker.pid", static_cast<int64_t>(e.workerPid)),
                       attribute("cordon.step.continued", static_cast<int64_t>(e.continued))};
                   if (auto cached = cachedFrom_.find(e.step); cached != cachedFrom_.end())
                     attributes.push_back(attribute("cordon.step.cached_from", cached->second));
                   finish("step " + e.step, step->second, run_.spanId, end, std::move(attributes),
                          e.error);
                 },
                 [this](const StepCacheChecked& e) {
                   if (!e.fromRun.empty()) cachedFrom_[e.step] = e.fromRun + "/" + e.fromStep;
                 },
                 [this](const StepSkipped& e) {
                   const uint64_t now = nowNs();
                   finish("step " + e.step, {newSpanId(), now, 0}, run_.spanId, now,
                          {attribute("cordon.step", e.step), attribute("cordon.plugin", e.plugin),
                           attribute("cordon.step.skipped", e.reason)},
                          std::nullopt);
                 },
                 [this](const StepRetrying& e) {
                   const uint64_t now = nowNs();
                   attemptOf(e.step);  // an item's attempt that made no call yet
                   endAttempt(e.step, now, e.error);
                   nextAttemptStart_[e.step] = now + e.backoffMs * 1'000'000;
                 },
                 [](const RestartsExhausted&) {},
                 [](const PluginLogged&) {},
                 [this](const CallFinished& e) {
                   const uint64_t end = nowNs();
                   const uint64_t took = static_cast<uint64_t>(e.milliseconds * 1e6);
                   std::string parent = run_.spanId;
                   if (!e.step.empty()) parent = attemptOf(e.step).spanId;
                   nlohmann::json attributes = {
                       attribute("rpc.system", std::string_view("capnp")),
                       attribute("rpc.method", e.method), attribute("cordon.plugin", e.plugin),
                       attribute("cordon.worker.pid", static_cast<int64_t>(e.workerPid))};
                   if (!e.step.empty()) attributes.push_back(attribute("cordon.step", e.step));
                   finish("call " + e.method, {newSpanId(), end - std::min(took, end), 0}, parent,
                          end, std::move(attributes), e.error, kSpanKindClient);
                 },
                 [](const WorkerStarted&) {},
                 [this](const WorkerReady& e) {
                   const uint64_t now = nowNs();
                   const auto sinceBegan = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now() - e.began);
                   Open worker{newSpanId(), now - std::min<uint64_t>(now, sinceBegan.count()), 0};
                   uint64_t at = worker.startNs;
                   for (const auto& [phase, seconds] : e.phaseSeconds) {
                     const uint64_t took = static_cast<uint64_t>(seconds * 1e9);
                     finish(
                         "worker.start " + phase, {newSpanId(), at, 0}, worker.spanId, at + took,
                         {attribute("cordon.plugin", e.plugin), attribute("cordon.phase", phase)},
                         std::nullopt);
                     at += took;
                   }
                   finish("worker.start", worker, run_.spanId, now,
                          {attribute("cordon.plugin", e.plugin),
                           attribute("cordon.worker.pid", static_cast<int64_t>(e.pid))},
                          std::nullopt);
                 },
                 [this](const WorkerStartFailed& e) {
                   const uint64_t now = nowNs();
                   finish("worker.start", {newSpanId(), now, 0}, run_.spanId, now,
                          {attribute("cordon.plugin", e.plugin)},
                          makeError(ErrorCategory::kInternal, e.reason));
                 },
                 [](const WorkerStopped&) {},
                 [](const GateDecided&) {},
                 [](const OutputsFailed&) {},
                 [](const ArtifactSpilled&) {},
                 [](const ArtifactDigested&) {},
                 [](const InputDigested&) {},
                 [this](const RunFinished& e) {
                   std::optional<Error> error;
                   if (e.report != nullptr && e.report->error) error = e.report->error;
                   nlohmann::json attributes = {
                       attribute("cordon.workflow", workflow_),
                       attribute("cordon.spans_dropped", static_cast<int64_t>(dropped_))};
                   if (e.report != nullptr)
                     attributes.push_back(
                         attribute("cordon.run.status", std::string_view(e.report->status())));
                   finish("run " + workflow_, run_, "", nowNs(), std::move(attributes), error);
                 },
             },
             event);
}

nlohmann::json TraceRecorder::request() const {
  nlohmann::json resource = {{"attributes",
                              {attribute("service.name", std::string_view("cordon")),
                               attribute("service.version", std::string_view("0.1.0")),
                               attribute("cordon.run_id", runId_)}}};
  nlohmann::json scope = {{"name", "cordon"}, {"version", "0.1.0"}};
  return {{"resourceSpans",
           {{{"resource", resource}, {"scopeSpans", {{{"scope", scope}, {"spans", spans_}}}}}}}};
}

}  // namespace cordon
