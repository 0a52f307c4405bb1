#include "run/audit_subscriber.h"

#include <nlohmann/json.hpp>

#include "core/untrusted_text.h"
#include "run/run_report.h"

namespace cordon {
namespace {

const char* endStatus(const std::optional<Error>& error) {
  if (!error) return "succeeded";
  return error->category == ErrorCategory::kCancelled ? "cancelled" : "failed";
}

nlohmann::json usageFields(const WorkerStopped& e) {
  return {{"plugin", e.plugin},
          {"pid", e.pid},
          {"exit", e.exit},
          {"max_rss_kib", e.maxRssKib},
          {"cpu_seconds", e.cpuSeconds}};
}

nlohmann::json faultFields(const WorkerStopped& e, const WorkerFault& fault) {
  nlohmann::json fields = usageFields(e);
  fields["step"] = e.step;
  fields["category"] = categoryName(fault.error.category);
  setUntrusted(fields, "detail", fault.error.message);
  auto setIfAny = [&fields](const char* key, const std::string& value) {
    if (!value.empty()) fields[key] = value;
  };
  setIfAny("limit", fault.limit);
  setIfAny("signal", fault.signal);
  setIfAny("syscall", fault.syscall);
  setIfAny("args", fault.args);
  setIfAny("phase", fault.phase);
  if (!fault.mapping.empty()) setUntrusted(fields, "mapping", fault.mapping);
  if (!fault.path.empty()) setUntrusted(fields, "path", fault.path);
  if (!fault.address.empty()) setUntrusted(fields, "address", fault.address);
  return fields;
}

nlohmann::json gateFields(const GateDecided& e) {
  nlohmann::json fields = e.detail.is_object() ? e.detail : nlohmann::json::object();
  // (An allow has no detail: null, so that deciding allocates no object for it.)
  fields["plugin"] = e.plugin;
  fields["step"] = e.step;
  if (!e.direction.empty()) fields["direction"] = e.direction;
  if (!e.method.empty()) fields["method"] = e.method;
  if (e.category) fields["category"] = categoryName(*e.category);
  if (!e.reason.empty()) setUntrusted(fields, "reason", e.reason);
  if (e.path) setUntrusted(fields, "path", *e.path);
  if (e.address) setUntrusted(fields, "address", *e.address);
  return fields;
}

}  // namespace

const char* faultRecordName(WorkerFault::Kind kind) {
  switch (kind) {
    case WorkerFault::Kind::kTimeout:
      return "plugin.timeout";
    case WorkerFault::Kind::kSandboxViolation:
      return "sandbox.violation";
    case WorkerFault::Kind::kResourceLimit:
      return "resource.limit";
    case WorkerFault::Kind::kProtocolError:
      return "protocol.error";
    case WorkerFault::Kind::kSetupFailed:
      return "sandbox.setup_failed";
    case WorkerFault::Kind::kPluginRejected:
      return "plugin.rejected";
    case WorkerFault::Kind::kCrash:
      break;
  }
  return "plugin.crash";
}

const char* verdictRecordName(GateDecided::Verdict verdict) {
  switch (verdict) {
    case GateDecided::Verdict::kAllow:
      return "gate.allow";
    case GateDecided::Verdict::kLearn:
      return "gate.learn";
    case GateDecided::Verdict::kDenySuppressed:
      return "gate.deny_suppressed";
    case GateDecided::Verdict::kDeny:
      break;
  }
  return "gate.deny";
}

bool AuditSubscriber::write(std::string_view name, nlohmann::json fields, bool mayWait) {
  fields["run"] = runId_;
  return mayWait ? audit_.defer(name, std::move(fields)) : audit_.record(name, fields);
}

std::optional<Error> AuditSubscriber::flush() {
  if (audit_.flush()) return std::nullopt;
  return audit_.failure();
}

std::optional<Error> AuditSubscriber::keep(const RunEvent& event) {
  const bool kept = std::visit(
      Overloaded{
          [this](const RunStarted& e) {
            runId_ = e.runId;
            nlohmann::json fields = {{"workflow", e.workflowPath},
                                     {"name", e.workflowName},
                                     {"policy", e.policyPath},
                                     {"steps", e.steps},
                                     {"jobs", e.jobs}};
            if (!e.resumed) return write("run.start", std::move(fields));
            fields["replayed"] = e.replayed;
            fields["interrupted"] = e.interrupted;
            return write("run.resume", std::move(fields));
          },
          [this](const InputsRejected& e) {
            return write("input.rejected",
                         {{"workflow", e.workflowPath}, {"error", toJson(e.error)}});
          },
          [this](const StepStarted& e) {
            nlohmann::json fields = {{"step", e.step}, {"plugin", e.plugin}};
            if (e.interruptedAttempt != 0) fields["interrupted_attempt"] = e.interruptedAttempt;
            return write("step.start", std::move(fields));
          },
          [this](const StepFinished& e) {
            nlohmann::json fields = {{"step", e.step},
                                     {"plugin", e.plugin},
                                     {"ms", e.milliseconds},
                                     {"status", endStatus(e.error)}};
            if (e.workerPid != 0) fields["pid"] = e.workerPid;
            if (e.error) fields["error"] = toJson(*e.error);
            if (e.continued) fields["on_error"] = "continue";
            return write("step.end", std::move(fields));
          },
          [this](const StepCacheChecked& e) {
            nlohmann::json fields = {{"step", e.step}, {"plugin", e.plugin}, {"key", e.key}};
            if (!e.rejected.empty()) {
              nlohmann::json rejected = nlohmann::json::array();
              for (const std::string& reason : e.rejected) {
                nlohmann::json item;
                setUntrusted(item, "reason", reason);
                rejected.push_back(item["reason"]);
              }
              fields["rejected"] = std::move(rejected);
            }
            if (e.fromRun.empty()) {
              // A plain miss decides nothing: the step runs as any step does.
              return e.rejected.empty() ? true : write("step.cache_rejected", std::move(fields));
            }
            // Read back from the journal, a file: made safe like any other text from one.
            setUntrusted(fields, "from_run", e.fromRun);
            setUntrusted(fields, "from_step", e.fromStep);
            return write("step.cached", std::move(fields));
          },
          [this](const StepSkipped& e) {
            return write("step.skipped",
                         {{"step", e.step}, {"plugin", e.plugin}, {"reason", e.reason}});
          },
          [this](const StepRetrying& e) {
            if (e.why == StepRetrying::Why::kRetry) {
              return write("step.retry", {{"plugin", e.plugin},
                                          {"step", e.step},
                                          {"attempt", e.restart + 1},
                                          {"of", e.of + 1},
                                          {"backoff_ms", e.backoffMs},
                                          {"error", toJson(e.error)}});
            }
            return write("plugin.restart", {{"plugin", e.plugin},
                                            {"step", e.step},
                                            {"restart", e.restart},
                                            {"of", e.of},
                                            {"backoff_ms", e.backoffMs},
                                            {"error", toJson(e.error)}});
          },
          [this](const RestartsExhausted& e) {
            return write("plugin.restart_exhausted", {{"plugin", e.plugin},
                                                      {"step", e.step},
                                                      {"restarts", e.restarts},
                                                      {"error", toJson(e.error)}});
          },
          [](const PluginLogged&) { return true; },  // the operator's lines, not the audit's
          // A call's decisions are recorded by the gate (gate.allow, gate.deny) and its end by
          // step.end or the worker's fault; its timing is for metrics and traces.
          [](const CallFinished&) { return true; },
          [](const WorkerReady&) { return true; },  // timings: metrics and traces, not audit
          [this](const WorkerStarted& e) {
            nlohmann::json fields = {{"plugin", e.plugin},
                                     {"path", e.path},
                                     {"digest", e.digest},
                                     {"pid", e.pid},
                                     {"memory_bytes", e.memoryBytes},
                                     {"cpu_seconds", e.cpuSeconds},
                                     {"cgroup", e.cgroup}};
            // A weakened sandbox says so where every start is recorded.
            if (!e.danger.empty()) fields["danger"] = e.danger;
            return write("plugin.start", std::move(fields));
          },
          [this](const WorkerStartFailed& e) {
            return write("plugin.start_failed", {{"plugin", e.plugin}, {"reason", e.reason}});
          },
          [this](const WorkerStopped& e) {
            // What went wrong first, then the stop with what the worker used: one of each.
            bool faultKept =
                !e.fault || write(faultRecordName(e.fault->kind), faultFields(e, *e.fault));
            return write("plugin.stop", usageFields(e)) && faultKept;
          },
          [this](const GateDecided& e) {
            // The supervisor's own call, allowed: its one effect is the message on the worker's
            // RPC stream, which flushes before it writes (worker/recorded_stream.h). Every other
            // decision is written at once.
            const bool mayWait =
                e.verdict == GateDecided::Verdict::kAllow && e.effectIsWorkerMessage;
            return write(verdictRecordName(e.verdict), gateFields(e), mayWait);
          },
          [this](const OutputsFailed& e) {
            return write("run.outputs_failed", {{"error", toJson(e.error)}});
          },
          [this](const ArtifactDigested& e) {
            return write(
                "artifact.digest",
                {{"step", e.step}, {"output", e.name}, {"bytes", e.bytes}, {"digest", e.digest}});
          },
          [this](const InputDigested& e) {
            return write("input.digest",
                         {{"input", e.name}, {"bytes", e.bytes}, {"digest", e.digest}});
          },
          [this](const ArtifactSpilled& e) {
            return write("artifact.spill", {{"step", e.step},
                                            {"output", e.name},
                                            {"bytes", e.bytes},
                                            {"digest", e.digest},
                                            {"path", e.path}});
          },
          [this](const RunFinished& e) {
            nlohmann::json fields = {{"status", e.report->status()}};
            if (e.report->error) fields["error"] = toJson(*e.report->error);
            return write("run.end", std::move(fields));
          },
      },
      event);
  if (kept) return std::nullopt;
  return audit_.failure() ? *audit_.failure()
                          : makeError(ErrorCategory::kInternal, "the audit record was not written");
}

}  // namespace cordon
