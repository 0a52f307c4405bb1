#include "observe/metric_families.h"

namespace cordon::metric {
namespace {

// Seconds: from a fast host call to a long step.
const std::vector<double> kCallBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                          1,      2.5,     5,      10,    30,     60};
const std::vector<double> kStepBuckets = {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                          2.5,   5,     10,   30,   60,  300,  900, 3600};
const std::vector<double> kStartBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
const std::vector<double> kWriteBuckets = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                           0.0005,   0.001,   0.0025,   0.01,    0.1,    1};

}  // namespace

const MetricFamily kRunStartTime{"cordon_run_start_time_seconds",
                                 "When the run started, in seconds since the Unix epoch",
                                 MetricType::kGauge,
                                 {"run_id", "workflow"},
                                 {}};
const MetricFamily kRunsFinished{"cordon_runs_finished",
                                 "Runs that ended, by outcome (succeeded, failed, cancelled)",
                                 MetricType::kCounter,
                                 {"outcome"},
                                 {}};
const MetricFamily kStepsFinished{
    "cordon_steps_finished",
    "Steps that ended, by status (succeeded, failed, continued, skipped)",
    MetricType::kCounter,
    {"plugin", "step", "status"},
    {}};
const MetricFamily kStepDuration{"cordon_step_duration_seconds",
                                 "Wall-clock time of a step that ran, all its attempts together",
                                 MetricType::kHistogram,
                                 {"plugin", "step"},
                                 kStepBuckets};
const MetricFamily kStepRetries{
    "cordon_step_retries",
    "Steps run again: by the workflow's retry (retry) or the policy's on_failure (worker_restart)",
    MetricType::kCounter,
    {"plugin", "step", "reason"},
    {}};
const MetricFamily kStepCache{
    "cordon_step_cache",
    "Steps with cache: true, by result: hit (an earlier result reused) or miss (the step ran)",
    MetricType::kCounter,
    {"plugin", "step", "result"},
    {}};
const MetricFamily kStepsRunning{
    "cordon_steps_running", "Steps started and not yet ended", MetricType::kGauge, {}, {}};
const MetricFamily kStepsWaiting{"cordon_steps_waiting",
                                 "Steps of the run not yet started, skipped or ended",
                                 MetricType::kGauge,
                                 {},
                                 {}};
const MetricFamily kCalls{
    "cordon_calls",
    "Calls the supervisor made on plugins (describe, init, execute, shutdown), by result",
    MetricType::kCounter,
    {"plugin", "step", "method", "result"},
    {}};
const MetricFamily kCallDuration{"cordon_call_duration_seconds",
                                 "Latency of a call on a plugin, as the supervisor timed it",
                                 MetricType::kHistogram,
                                 {"plugin", "step", "method"},
                                 kCallBuckets};
const MetricFamily kErrors{"cordon_errors",
                           "Failed step attempts, by error category (docs/errors.md)",
                           MetricType::kCounter,
                           {"plugin", "step", "category"},
                           {}};
const MetricFamily kGateDecisions{
    "cordon_gate_decisions",
    "Decisions of the gate, by direction, capability (method or syscall) and result",
    MetricType::kCounter,
    {"plugin", "direction", "capability", "result"},
    {}};
const MetricFamily kSeccompViolations{
    "cordon_seccomp_violations",
    "Syscalls a plugin made that its policy does not allow (refused or fatal)",
    MetricType::kCounter,
    {"plugin", "syscall"},
    {}};
const MetricFamily kWorkerStarts{
    "cordon_worker_starts", "Workers started", MetricType::kCounter, {"plugin"}, {}};
const MetricFamily kWorkerStartFailures{"cordon_worker_start_failures",
                                        "Workers that could not be started",
                                        MetricType::kCounter,
                                        {"plugin"},
                                        {}};
const MetricFamily kWorkerRestarts{"cordon_worker_restarts",
                                   "Workers replaced after a failure (the policy's on_failure)",
                                   MetricType::kCounter,
                                   {"plugin"},
                                   {}};
const MetricFamily kWorkerFaults{
    "cordon_worker_faults",
    "Workers that ended with a fault, by kind (crash, sandbox_violation, timeout, ...)",
    MetricType::kCounter,
    {"plugin", "kind"},
    {}};
const MetricFamily kWorkerStartDuration{
    "cordon_worker_start_duration_seconds",
    "A worker's start, by phase (spawn, namespaces, root_filesystem, seccomp, load, "
    "first_reply, total)",
    MetricType::kHistogram,
    {"plugin", "phase"},
    kStartBuckets};
const MetricFamily kWorkerCpu{"cordon_worker_cpu_seconds",
                              "CPU time (user and system) of the plugin's workers that ended",
                              MetricType::kCounter,
                              {"plugin"},
                              {}};
const MetricFamily kWorkerPeakMemory{"cordon_worker_peak_memory_bytes",
                                     "The largest peak RSS of a plugin's workers that ended",
                                     MetricType::kGauge,
                                     {"plugin"},
                                     {}};
const MetricFamily kArtifactBytes{
    "cordon_artifact_bytes",
    "Artifact bytes moved: produced by steps, read and mapped by plugins, spilled to disk",
    MetricType::kCounter,
    {"kind"},
    {}};
const MetricFamily kAuditRecords{
    "cordon_audit_records", "Audit records written", MetricType::kCounter, {}, {}};
const MetricFamily kAuditWriteDuration{"cordon_audit_write_duration_seconds",
                                       "Latency of one write of audit records to the log",
                                       MetricType::kHistogram,
                                       {},
                                       kWriteBuckets};
const MetricFamily kAuditWriteFailures{
    "cordon_audit_write_failures",
    "Writes to the audit log that failed (the run then stops: nothing unrecorded happens)",
    MetricType::kCounter,
    {},
    {}};
const MetricFamily kUpdatesDropped{
    "cordon_metrics_updates_dropped",
    "Metric updates dropped because the HTTP plane's queue was full (the figures are then low)",
    MetricType::kCounter,
    {},
    {}};

}  // namespace cordon::metric

namespace cordon {

const std::vector<const MetricFamily*>& allMetricFamilies() {
  using namespace metric;
  static const std::vector<const MetricFamily*> all = {&kRunStartTime,
                                                       &kRunsFinished,
                                                       &kStepsFinished,
                                                       &kStepDuration,
                                                       &kStepRetries,
                                                       &kStepCache,
                                                       &kStepsRunning,
                                                       &kStepsWaiting,
                                                       &kCalls,
                                                       &kCallDuration,
                                                       &kErrors,
                                                       &kGateDecisions,
                                                       &kSeccompViolations,
                                                       &kWorkerStarts,
                                                       &kWorkerStartFailures,
                                                       &kWorkerRestarts,
                                                       &kWorkerFaults,
                                                       &kWorkerStartDuration,
                                                       &kWorkerCpu,
                                                       &kWorkerPeakMemory,
                                                       &kArtifactBytes,
                                                       &kAuditRecords,
                                                       &kAuditWriteDuration,
                                                       &kAuditWriteFailures,
                                                       &kUpdatesDropped};
  return all;
}

}  // namespace cordon
