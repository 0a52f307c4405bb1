#include "run/audit_subscriber.h"

#include <nlohmann/json.hpp>

#include "run/run_report.h"

namespace cordon {
namespace {

const char* endStatus(const std::optional<Error>& error) {
  if (!error) return "succeeded";
  return error->category == ErrorCategory::kCancelled ? "cancelled" : "failed";
}

}  // namespace

void AuditSubscriber::onEvent(const RunEvent& event) {
  std::visit(
      Overloaded{
          [this](const RunStarted& e) {
            audit_.setRunId(e.runId);
            audit_.record("run.start", {{"workflow", e.workflowPath},
                                        {"name", e.workflowName},
                                        {"policy", e.policyPath},
                                        {"steps", e.steps},
                                        {"jobs", e.jobs}});
          },
          [this](const InputsRejected& e) {
            audit_.record("input.rejected",
                          {{"workflow", e.workflowPath}, {"error", toJson(e.error)}});
          },
          [this](const StepStarted& e) {
            audit_.record("step.start", {{"step", e.step}, {"plugin", e.plugin}});
          },
          [this](const StepFinished& e) {
            nlohmann::json fields = {{"step", e.step},
                                     {"plugin", e.plugin},
                                     {"ms", e.milliseconds},
                                     {"status", endStatus(e.error)}};
            if (e.workerPid != 0) fields["pid"] = e.workerPid;
            if (e.error) fields["error"] = toJson(*e.error);
            audit_.record("step.end", std::move(fields));
          },
          [this](const StepSkipped& e) {
            audit_.record("step.skipped",
                          {{"step", e.step}, {"plugin", e.plugin}, {"reason", e.reason}});
          },
          [this](const StepRetrying& e) {
            audit_.record("plugin.restart", {{"plugin", e.plugin},
                                             {"step", e.step},
                                             {"restart", e.restart},
                                             {"of", e.of},
                                             {"backoff_ms", e.backoffMs},
                                             {"error", toJson(e.error)}});
          },
          [this](const RestartsExhausted& e) {
            audit_.record("plugin.restart_exhausted", {{"plugin", e.plugin},
                                                       {"step", e.step},
                                                       {"restarts", e.restarts},
                                                       {"error", toJson(e.error)}});
          },
          [](const PluginLogged&) {},  // plugin log lines are the operator's, not the audit's
          [this](const OutputsFailed& e) {
            audit_.record("run.outputs_failed", {{"error", toJson(e.error)}});
          },
          [this](const RunFinished& e) {
            nlohmann::json fields = {{"status", e.report->status()}};
            if (e.report->error) fields["error"] = toJson(*e.report->error);
            audit_.record("run.end", std::move(fields));
          },
      },
      event);
}

}  // namespace cordon
