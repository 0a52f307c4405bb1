#include "observe/run_metrics.h"

#include <chrono>

#include "observe/trace_recorder.h"
#include "run/run_report.h"

namespace cordon {
namespace {

const char* verdictLabel(GateDecided::Verdict verdict) {
  switch (verdict) {
    case GateDecided::Verdict::kAllow:
      return "allow";
    case GateDecided::Verdict::kDeny:
      return "deny";
    case GateDecided::Verdict::kLearn:
      return "learn";
    case GateDecided::Verdict::kDenySuppressed:
      return "deny_suppressed";
  }
  return "deny";
}

}  // namespace

const char* faultKindLabel(WorkerFault::Kind kind) {
  switch (kind) {
    case WorkerFault::Kind::kTimeout:
      return "timeout";
    case WorkerFault::Kind::kSandboxViolation:
      return "sandbox_violation";
    case WorkerFault::Kind::kResourceLimit:
      return "resource_limit";
    case WorkerFault::Kind::kProtocolError:
      return "protocol_error";
    case WorkerFault::Kind::kSetupFailed:
      return "setup_failed";
    case WorkerFault::Kind::kPluginRejected:
      return "plugin_rejected";
    case WorkerFault::Kind::kCrash:
      return "crash";
  }
  return "crash";
}

void RunMetrics::add(const MetricFamily& family, std::vector<std::string> labels, double by) {
  queue_.push({&family, std::move(labels), by, MetricUpdate::Op::kAdd});
}
void RunMetrics::set(const MetricFamily& family, std::vector<std::string> labels, double value) {
  queue_.push({&family, std::move(labels), value, MetricUpdate::Op::kSet});
}
void RunMetrics::observe(const MetricFamily& family, std::vector<std::string> labels,
                         double value) {
  queue_.push({&family, std::move(labels), value, MetricUpdate::Op::kObserve});
}

void RunMetrics::onAuditWrite(uint64_t records, double seconds, bool ok) {
  if (!ok) {
    add(metric::kAuditWriteFailures, {});
    return;
  }
  add(metric::kAuditRecords, {}, static_cast<double>(records));
  observe(metric::kAuditWriteDuration, {}, seconds);
}

void RunMetrics::onEvent(const RunEvent& event) {
  using namespace metric;
  std::visit(
      Overloaded{
          [this](const RunStarted& e) {
            const double now =
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
            set(kRunStartTime, {e.runId, e.workflowName}, now);
            waiting_ = static_cast<long>(e.steps);
            set(kStepsWaiting, {}, static_cast<double>(waiting_));
            set(kStepsRunning, {}, 0);
          },
          [](const InputsRejected&) {},
          [this](const StepStarted&) {
            set(kStepsWaiting, {}, static_cast<double>(--waiting_));
            set(kStepsRunning, {}, static_cast<double>(++running_));
          },
          [this](const StepFinished& e) {
            set(kStepsRunning, {}, static_cast<double>(--running_));
            const char* status = !e.error ? "succeeded" : e.continued ? "continued" : "failed";
            add(kStepsFinished, {e.plugin, e.step, status});
            observe(kStepDuration, {e.plugin, e.step}, e.milliseconds / 1000.0);
            if (e.error)
              add(kErrors, {e.plugin, e.step, std::string(categoryName(e.error->category))});
            uint64_t produced = 0;
            for (const auto& [name, bytes] : e.outputSizes) produced += bytes;
            if (produced != 0) add(kArtifactBytes, {"produced"}, static_cast<double>(produced));
          },
          [this](const StepCacheChecked& e) {
            add(kStepCache, {e.plugin, e.step, e.fromRun.empty() ? "miss" : "hit"});
          },
          [this](const StepSkipped& e) {
            set(kStepsWaiting, {}, static_cast<double>(--waiting_));
            add(kStepsFinished, {e.plugin, e.step, "skipped"});
          },
          [this](const StepRetrying& e) {
            const bool restart = e.why == StepRetrying::Why::kWorkerRestart;
            const std::string step = stepOfLabel(e.step);  // a for_each item counts as its step
            add(kStepRetries, {e.plugin, step, restart ? "worker_restart" : "retry"});
            add(kErrors, {e.plugin, step, std::string(categoryName(e.error.category))});
            if (restart) add(kWorkerRestarts, {e.plugin});
          },
          [](const RestartsExhausted&) {},
          [](const PluginLogged&) {},
          [this](const CallFinished& e) {
            const std::string step = stepOfLabel(e.step);
            add(kCalls, {e.plugin, step, e.method, e.error ? "error" : "ok"});
            observe(kCallDuration, {e.plugin, step, e.method}, e.milliseconds / 1000.0);
            for (const auto& [capability, bytes] : e.hostBytes) {
              if (bytes == 0) continue;
              if (capability == "read_input")
                add(kArtifactBytes, {"read"}, static_cast<double>(bytes));
              if (capability == "map_input")
                add(kArtifactBytes, {"mapped"}, static_cast<double>(bytes));
            }
          },
          [this](const WorkerStarted& e) { add(kWorkerStarts, {e.plugin}); },
          [this](const WorkerReady& e) {
            for (const auto& [phase, seconds] : e.phaseSeconds)
              observe(kWorkerStartDuration, {e.plugin, phase}, seconds);
            observe(kWorkerStartDuration, {e.plugin, "total"}, e.totalSeconds);
          },
          [this](const WorkerStartFailed& e) { add(kWorkerStartFailures, {e.plugin}); },
          [this](const WorkerStopped& e) {
            add(kWorkerCpu, {e.plugin}, e.cpuSeconds);
            queue_.push({&kWorkerPeakMemory,
                         {e.plugin},
                         static_cast<double>(e.maxRssKib) * 1024,
                         MetricUpdate::Op::kMax});
            if (e.fault) add(kWorkerFaults, {e.plugin, faultKindLabel(e.fault->kind)});
            // A fatal syscall stops the worker without a gate.deny: its fault names it.
            if (e.fault && e.fault->kind == WorkerFault::Kind::kSandboxViolation &&
                !e.fault->syscall.empty())
              add(kSeccompViolations, {e.plugin, e.fault->syscall});
          },
          [this](const GateDecided& e) {
            double count = 1;
            if (e.verdict == GateDecided::Verdict::kDenySuppressed && e.detail.is_object() &&
                e.detail.contains("suppressed") && e.detail["suppressed"].is_number())
              count = e.detail["suppressed"].get<double>();
            add(kGateDecisions, {e.plugin, e.direction, e.method, verdictLabel(e.verdict)}, count);
            if (e.direction == "plugin->kernel" && e.verdict == GateDecided::Verdict::kDeny)
              add(kSeccompViolations, {e.plugin, e.method});
          },
          [](const OutputsFailed&) {},
          [this](const ArtifactSpilled& e) {
            add(kArtifactBytes, {"spilled"}, static_cast<double>(e.bytes));
          },
          [](const ArtifactDigested&) {},
          [](const InputDigested&) {},
          [this](const RunFinished& e) {
            add(kRunsFinished, {e.report != nullptr ? e.report->status() : "failed"});
          },
      },
      event);
}

}  // namespace cordon
