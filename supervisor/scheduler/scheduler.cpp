#include "scheduler/scheduler.h"

#include <signal.h>
#include <unistd.h>

#include <sys/random.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include <kj/async-unix.h>

#include "gate/gate.h"
#include "worker/cgroup_limits.h"
#include "worker/sandbox_spec_builder.h"
#include "worker/worker_handle.h"

namespace cordon {
namespace {

std::string newRunId() {
  unsigned char bytes[8] = {};
  if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    std::memcpy(bytes, &now, sizeof bytes);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) id += {kHex[b >> 4], kHex[b & 15]};
  return id;
}

std::string signalName(int signal) {
  const char* name = sigabbrev_np(signal);
  return name != nullptr ? std::string("SIG") + name : "signal " + std::to_string(signal);
}

// SIGINT and SIGTERM, as the event loop sees them (kj::UnixEventPort::captureSignal must have
// been called for both before the loop was made). Every wait of a run goes through wait(), so
// a signal ends whatever the run is waiting for.
class Cancellation {
 public:
  Cancellation(kj::AsyncIoContext& io, bool armed) : io_(io) {
    if (!armed) return;
    signal_ = io.unixEventPort.onSignal(SIGINT)
                  .exclusiveJoin(io.unixEventPort.onSignal(SIGTERM))
                  .then([](siginfo_t info) { return info.si_signo; })
                  .fork();
  }

  template <typename T>
  Outcome<T> wait(kj::Promise<Outcome<T>> work) {
    if (signalled()) return error();
    KJ_IF_MAYBE (signal, signal_) {
      return work
          .exclusiveJoin(signal->addBranch().then([this](int number) -> Outcome<T> {
            received_ = number;
            return error();
          }))
          .wait(io_.waitScope);
    }
    return work.wait(io_.waitScope);
  }

  // Whether a signal has arrived (looking at the event loop without blocking).
  bool signalled() {
    if (received_) return true;
    KJ_IF_MAYBE (signal, signal_) {
      auto branch = signal->addBranch();
      if (branch.poll(io_.waitScope)) received_ = branch.wait(io_.waitScope);
    }
    return received_.has_value();
  }
  std::optional<int> received() const { return received_; }
  Error error() const {
    return makeError(ErrorCategory::kCancelled,
                     "the run was cancelled by " + signalName(received_.value_or(SIGTERM)));
  }

 private:
  kj::AsyncIoContext& io_;
  kj::Maybe<kj::ForkedPromise<int>> signal_;
  std::optional<int> received_;
};

// Everything one run owns: its workers, compiled specs and the artifacts produced so far.
class Run {
 public:
  Run(kj::AsyncIoContext& io, AuditLog& audit, RunObserver& observer, const SchedulerConfig& config,
      const Policy& policy, Cancellation& cancellation)
      : io_(io),
        audit_(audit),
        observer_(observer),
        config_(config),
        policy_(policy),
        cancellation_(cancellation) {}

  Outcome<ArtifactMap> runStep(const Step& step, const ArtifactMap& workflowInputs) {
    auto inputs = gatherInputs(step, workflowInputs);
    if (!inputs.ok()) return inputs.error();
    for (;;) {
      auto outputs = attempt(step, inputs.value());
      if (outputs.ok()) {
        stepOutputs_[step.name] = outputs.value();
        return outputs;
      }
      if (!restartAfter(step, outputs.error())) return outputs;
    }
  }

  const ArtifactMap* outputsOf(const std::string& step) const {
    auto it = stepOutputs_.find(step);
    return it == stepOutputs_.end() ? nullptr : &it->second;
  }

  // A cancelled run (or one whose audit log failed) kills its workers; otherwise they are
  // asked to shut down.
  void stopWorkers(bool kill) {
    for (auto& [plugin, worker] : workers_) {
      (kill ? worker->kill() : worker->stop()).wait(io_.waitScope);
    }
    workers_.clear();
  }

 private:
  Outcome<ArtifactMap> attempt(const Step& step, const ArtifactMap& inputs) {
    auto worker = workerFor(step);
    if (!worker.ok()) return worker.error();
    return cancellation_.wait(worker.value()->execute(step.name, step.config, inputs));
  }

  // on_failure: whether the step runs again on a new worker, after waiting out the backoff.
  // Only when the worker died of bad luck (crash, timeout, resource limit), never for what the
  // plugin chose to do (violations, denials, protocol errors, its own errors).
  bool restartAfter(const Step& step, const Error& error) {
    const PluginPolicy* section = policy_.forPlugin(step.plugin);
    if (section == nullptr || section->onFailure.restarts == 0) return false;
    if (error.category != ErrorCategory::kCrash && error.category != ErrorCategory::kTimeout &&
        error.category != ErrorCategory::kResourceLimit) {
      return false;
    }
    auto worker = workers_.find(step.plugin);
    if (worker != workers_.end() && worker->second->usable()) return false;  // it lives: a budget
    unsigned& used = restarts_[step.plugin];
    if (used >= section->onFailure.restarts) {
      audit_.record("plugin.restart_exhausted", {{"plugin", step.plugin},
                                                 {"step", step.name},
                                                 {"restarts", used},
                                                 {"error", toJson(error)}});
      return false;
    }
    ++used;
    const auto delay = section->onFailure.delayBefore(used);
    audit_.record("plugin.restart", {{"plugin", step.plugin},
                                     {"step", step.name},
                                     {"restart", used},
                                     {"of", section->onFailure.restarts},
                                     {"backoff_ms", delay.count()},
                                     {"error", toJson(error)}});
    auto waited =
        cancellation_.wait(io_.provider->getTimer()
                               .afterDelay(static_cast<int64_t>(delay.count()) * kj::MILLISECONDS)
                               .then([]() -> Outcome<Done> { return Done{}; }));
    return waited.ok();
  }

  Outcome<ArtifactMap> gatherInputs(const Step& step, const ArtifactMap& workflowInputs) {
    ArtifactMap inputs;
    for (const auto& input : step.inputs) {
      const ArtifactMap* source =
          input.from.isWorkflowInput() ? &workflowInputs : outputsOf(input.from.source);
      auto it = source == nullptr ? workflowInputs.end() : source->find(input.from.name);
      if (source == nullptr || it == source->end()) {
        return makeError(ErrorCategory::kBadInput, "input '" + input.name + "' reads '" +
                                                       input.from.text() +
                                                       "', which was not produced")
            .withStep(step.name);
      }
      inputs[input.name] = it->second;
    }
    return inputs;
  }

  // The step's plugin's worker, started (and initialised) on first use or after it broke.
  Outcome<WorkerHandle*> workerFor(const Step& step) {
    auto existing = workers_.find(step.plugin);
    if (existing != workers_.end() && existing->second->usable()) return existing->second.get();
    if (existing != workers_.end()) {
      existing->second->stop().wait(io_.waitScope);
      workers_.erase(existing);
    }
    auto section = admitPlugin(policy_, step.plugin, step.name, audit_);
    if (!section.ok()) return section.error();
    auto verified = config_.plugins.find(step.plugin);
    if (verified == config_.plugins.end()) {
      return makeError(ErrorCategory::kInternal,
                       "plugin '" + step.plugin + "' was not verified before the run")
          .withStep(step.name);
    }
    const VerifiedPlugin& plugin = verified->second;
    const std::string path = plugin.package.objectPath();
    auto spec = buildSandboxSpec(
        step.plugin, path, *section.value(),
        cgroupEnforcesMemory() ? MemoryLimitBy::kCgroup : MemoryLimitBy::kAddressSpace);
    if (!spec.ok()) return std::move(spec.error()).withStep(step.name);
    WorkerLaunch launch{step.plugin,
                        path,
                        plugin.object->fd(),
                        plugin.digest,
                        plugin.package.manifest.version.text(),
                        config_.workerBinary,
                        section.value(),
                        std::move(spec.value())};
    auto started = cancellation_.wait(WorkerHandle::start(io_, audit_, observer_, launch));
    if (!started.ok()) return std::move(started.error()).withStep(step.name);
    WorkerHandle* worker = started.value().get();
    workers_[step.plugin] = std::move(started.value());
    if (config_.ledger != nullptr) {
      auto recorded = config_.ledger->recordRun(step.plugin, plugin.package.manifest.version);
      if (!recorded.ok()) return std::move(recorded.error()).withStep(step.name);
    }
    auto initialised = cancellation_.wait(worker->init({}));
    if (!initialised.ok()) return std::move(initialised.error()).withStep(step.name);
    return worker;
  }

  kj::AsyncIoContext& io_;
  AuditLog& audit_;
  RunObserver& observer_;
  const SchedulerConfig& config_;
  const Policy& policy_;
  Cancellation& cancellation_;
  std::map<std::string, std::unique_ptr<WorkerHandle>> workers_;
  std::map<std::string, ArtifactMap> stepOutputs_;
  std::map<std::string, unsigned> restarts_;  // per plugin, this run
};

Outcome<ArtifactMap> runStepContained(Run& run, const Step& step, const ArtifactMap& inputs) {
  // Nothing a plugin sends may end the run: whatever escapes the handling of one step becomes
  // that step's error, and the other steps and run.end still happen.
  try {
    return run.runStep(step, inputs);
  } catch (const kj::Exception& e) {
    return makeError(ErrorCategory::kInternal,
                     std::string("handling the step failed: ") + e.getDescription().cStr())
        .withStep(step.name);
  } catch (const std::exception& e) {
    return makeError(ErrorCategory::kInternal, std::string("handling the step failed: ") + e.what())
        .withStep(step.name);
  }
}

}  // namespace

Outcome<ArtifactMap> loadWorkflowInputs(const Workflow& workflow,
                                        const std::map<std::string, std::string>& fileOverrides,
                                        uint64_t maxInputBytes) {
  ArtifactMap inputs;
  const std::filesystem::path base = std::filesystem::path(workflow.path).parent_path();
  for (const auto& input : workflow.inputs) {
    auto override = fileOverrides.find(input.name);
    if (override != fileOverrides.end()) {
      auto opened = openInputFile(override->second, maxInputBytes);
      if (!opened.ok()) return opened.error();
      inputs[input.name] = opened.value();
    } else if (input.value) {
      inputs[input.name] = makeArtifact(*input.value);
    } else {
      auto opened = openInputFile((base / *input.file).string(), maxInputBytes);
      if (!opened.ok()) {
        return makeError(ErrorCategory::kBadInput,
                         workflow.path + ":" + std::to_string(input.line) + ": field 'inputs." +
                             input.name + ".file': " + opened.error().message);
      }
      inputs[input.name] = opened.value();
    }
  }
  for (const auto& [name, path] : fileOverrides) {
    if (inputs.count(name) == 0) {
      return makeError(ErrorCategory::kBadInput,
                       "--input " + name + ": the workflow has no input of that name");
    }
  }
  return inputs;
}

Scheduler::Scheduler(kj::AsyncIoContext& io, AuditLog& audit, RunObserver& observer,
                     SchedulerConfig config)
    : io_(io), audit_(audit), observer_(observer), config_(std::move(config)) {}

RunReport Scheduler::run(const WorkflowGraph& graph, const Policy& policy,
                         const std::map<std::string, std::string>& inputFileOverrides) {
  return run(graph, policy,
             loadWorkflowInputs(*graph.workflow, inputFileOverrides, config_.maxInputBytes));
}

RunReport Scheduler::run(const WorkflowGraph& graph, const Policy& policy,
                         const Outcome<ArtifactMap>& inputs) {
  const Workflow& workflow = *graph.workflow;
  RunReport report;
  report.workflow = workflow.name;
  report.runId = newRunId();
  audit_.setRunId(report.runId);
  audit_.record("run.start", {{"workflow", workflow.path},
                              {"name", workflow.name},
                              {"policy", policy.path},
                              {"steps", workflow.steps.size()}});

  if (!inputs.ok()) {
    report.error = inputs.error();
    audit_.record("input.rejected",
                  {{"workflow", workflow.path}, {"error", toJson(*report.error)}});
  }

  Cancellation cancellation(io_, config_.cancelOnSignals);
  Run run(io_, audit_, observer_, config_, policy, cancellation);
  // A step that failed or was skipped blocks every step that reads from it, and only those:
  // independent branches of the graph still run, so one hostile plugin costs only its own data.
  std::vector<bool> blocked(graph.nodes.size(), false);
  size_t position = 0;
  for (size_t index : graph.order) {
    const Step& step = *graph.nodes[index].step;
    StepReport stepReport{step.name, step.plugin, StepState::kSkipped, std::nullopt, 0, {}};
    ++position;
    std::string blocker = inputs.ok() ? "" : "the workflow's inputs could not be read";
    for (size_t dependency : graph.nodes[index].dependsOn) {
      if (blocker.empty() && blocked[dependency]) {
        blocker = "step '" + graph.nodes[dependency].step->name + "' did not succeed";
      }
    }
    // Nothing new starts once the run is cancelled or its audit log cannot be written.
    if (blocker.empty() && cancellation.signalled()) blocker = cancellation.error().message;
    if (blocker.empty() && !audit_.healthy()) blocker = "the audit log cannot be written";
    if (!blocker.empty()) {
      blocked[index] = true;
      std::string reason = "not run: " + blocker;
      observer_.stepSkipped(step.name, reason);
      audit_.record("step.skipped",
                    {{"step", step.name}, {"plugin", step.plugin}, {"reason", reason}});
      report.steps.push_back(std::move(stepReport));
      continue;
    }
    observer_.stepStarted(position, graph.order.size(), step.name, step.plugin);
    audit_.record("step.start", {{"step", step.name}, {"plugin", step.plugin}});
    auto started = std::chrono::steady_clock::now();
    auto outcome = runStepContained(run, step, inputs.value());
    if (outcome.ok() && !audit_.healthy()) outcome = Error{*audit_.failure()};  // unrecorded
    stepReport.milliseconds =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    nlohmann::json endFields = {
        {"step", step.name}, {"plugin", step.plugin}, {"ms", stepReport.milliseconds}};
    if (outcome.ok()) {
      stepReport.state = StepState::kSucceeded;
      for (const auto& [name, data] : outcome.value()) stepReport.outputSizes[name] = data->size();
      endFields["status"] = "succeeded";
    } else {
      Error error = outcome.error();
      if (error.step.empty()) error.step = step.name;
      stepReport.state = StepState::kFailed;
      stepReport.error = error;
      blocked[index] = true;
      if (!report.error) report.error = error;  // the first failure is the run's
      endFields["status"] = error.category == ErrorCategory::kCancelled ? "cancelled" : "failed";
      endFields["error"] = toJson(error);
    }
    audit_.record("step.end", endFields);
    observer_.stepFinished(step.name, stepReport.error ? &*stepReport.error : nullptr,
                           stepReport.milliseconds);
    report.steps.push_back(std::move(stepReport));
  }
  const bool cancelled = cancellation.signalled();
  run.stopWorkers(cancelled || !audit_.healthy());

  // A failed run still reports the outputs its surviving branches produced.
  for (const auto& output : inputs.ok() ? workflow.outputs : std::vector<WorkflowOutput>{}) {
    const ArtifactMap* source =
        output.from.isWorkflowInput() ? &inputs.value() : run.outputsOf(output.from.source);
    auto it = source == nullptr ? inputs.value().end() : source->find(output.from.name);
    if (source != nullptr && it != source->end()) {
      report.outputs[output.name] = it->second;
    } else if (!report.error) {
      report.error =
          makeError(ErrorCategory::kBadInput, "workflow output '" + output.name + "' reads '" +
                                                  output.from.text() + "', which was not produced");
    }
  }
  if (cancelled) {
    report.cancelledBy = cancellation.received();
    if (!report.error || report.error->category != ErrorCategory::kCancelled)
      report.error = cancellation.error();
  }
  if (!audit_.healthy()) {
    // Nothing may be published that the log does not hold: no outputs, and the reason first.
    report.error = *audit_.failure();
    report.outputs.clear();
  }
  if (report.ok() && config_.publishOutputs) {
    auto published = config_.publishOutputs(report.outputs);
    if (!published.ok()) {
      report.error = published.error();
      audit_.record("run.outputs_failed", {{"error", toJson(*report.error)}});
    }
  }
  nlohmann::json endFields = {{"status", report.ok() ? "succeeded"
                                         : cancelled ? "cancelled"
                                                     : "failed"}};
  if (report.error) endFields["error"] = toJson(*report.error);
  audit_.record("run.end", endFields);
  return report;
}

}  // namespace cordon
