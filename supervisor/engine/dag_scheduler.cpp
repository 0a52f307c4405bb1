#include "engine/dag_scheduler.h"

#include <signal.h>

#include <sys/random.h>

#include <chrono>
#include <cstring>
#include <set>

#include <kj/async-unix.h>

#include "gate/gate.h"
#include "worker/worker_handle.h"
#include "worker/worker_pool.h"

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

Error contained(const Step& step, const std::string& what) {
  // Nothing a plugin sends may end the run: whatever escapes the handling of one step becomes
  // that step's error, and the other steps and run.end still happen.
  return makeError(ErrorCategory::kInternal, "handling the step failed: " + what)
      .withStep(step.name);
}

enum class NodeState { kWaiting, kReady, kRunning, kSucceeded, kFailed, kSkipped };

// One run of a plan: the state of every step, the plugins' worker pools and the artifacts
// produced so far. Lives until the run's promise resolves.
class DagRun final : public kj::TaskSet::ErrorHandler {
 public:
  DagRun(const EngineContext& context, const RunPlan& plan, const EngineOptions& options)
      : context_(context),
        io_(*context.io),
        events_(*context.events),
        plan_(plan),
        options_(options),
        state_(plan.steps.size(), NodeState::kWaiting),
        waitingOn_(plan.steps.size(), 0),
        outputs_(plan.steps.size()),
        reports_(plan.steps.size()),
        restarts_(plan.plugins.size(), 0),
        readyByPlugin_(plan.plugins.size()),
        position_(plan.steps.size(), 0),
        tasks_(*this) {
    for (size_t i = 0; i < plan.graph->order.size(); ++i) position_[plan.graph->order[i]] = i;
    for (const PlannedPlugin& plugin : plan.plugins) {
      const size_t index = pools_.size();
      pools_.push_back(std::make_unique<WorkerPool>(
          plugin.maxWorkers, [this, index]() { return startWorker(index); }));
    }
  }

  kj::Promise<RunReport> run() {
    const Workflow& workflow = *plan_.graph->workflow;
    report_.workflow = workflow.name;
    report_.runId = newRunId();
    started_ = std::chrono::steady_clock::now();
    events_.emit(RunStarted{report_.runId, workflow.path, workflow.name, plan_.policy->path,
                            workflow.steps.size(), jobs()});
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      reports_[i].name = plan_.steps[i].step->name;
      reports_[i].plugin = plan_.steps[i].step->plugin;
    }
    if (!plan_.inputs.ok()) {
      report_.error = plan_.inputs.error();
      events_.emit(InputsRejected{workflow.path, *report_.error});
      stopReason_ = "the workflow's inputs could not be read";
    } else {
      armCancellation();
      for (size_t i = 0; i < plan_.steps.size(); ++i) {
        waitingOn_[i] = plan_.steps[i].dependsOn.size();
        if (waitingOn_[i] == 0) markReady(i);
      }
      if (options_.prestart) {
        for (size_t i = 0; i < plan_.steps.size(); ++i)
          if (state_[i] == NodeState::kReady) prestart(plan_.steps[i].plugin);
      }
    }
    auto settled = kj::newPromiseAndFulfiller<void>();
    allSettled_ = kj::mv(settled.fulfiller);
    dispatch();
    return settled.promise.then([this]() { return finishRun(); });
  }

  void taskFailed(kj::Exception&& exception) override {
    // Every step's chain turns exceptions into its error; this is the last line of defence.
    KJ_LOG(ERROR, "a step's task failed", exception);
  }

 private:
  unsigned jobs() const { return options_.jobs == 0 ? 1 : options_.jobs; }

  void armCancellation() {
    if (!options_.cancelOnSignals) return;
    signal_ = io_.unixEventPort.onSignal(SIGINT)
                  .exclusiveJoin(io_.unixEventPort.onSignal(SIGTERM))
                  .then([](siginfo_t info) { return info.si_signo; })
                  .fork();
    KJ_IF_MAYBE (signal, signal_) {
      tasks_.add(signal->addBranch().then([this](int number) {
        if (!received_) received_ = number;
      }));
    }
  }

  Error cancelledError() const {
    return makeError(ErrorCategory::kCancelled,
                     "the run was cancelled by " + signalName(received_.value_or(SIGTERM)));
  }

  // Ends `work` early with the cancellation error when SIGINT or SIGTERM arrives.
  template <typename T>
  kj::Promise<Outcome<T>> cancellable(kj::Promise<Outcome<T>> work) {
    if (received_) return Outcome<T>(cancelledError());
    KJ_IF_MAYBE (signal, signal_) {
      return work.exclusiveJoin(signal->addBranch().then([this](int number) -> Outcome<T> {
        if (!received_) received_ = number;
        return cancelledError();
      }));
    }
    return work;
  }

  // Why no new step may start, or "" while they may.
  std::string whyNoNewSteps() const {
    if (!stopReason_.empty()) return stopReason_;
    if (received_) return cancelledError().message;
    if (events_.recordFailure()) return "the audit log cannot be written";
    return "";
  }

  void markReady(size_t index) {
    state_[index] = NodeState::kReady;
    readyByPlugin_[plan_.steps[index].plugin].insert({position_[index], index});
  }

  // The next step to start: the earliest in the graph's order whose plugin has a worker free
  // (or room for one), so a step waiting its turn on a busy stateful plugin holds no job slot.
  std::optional<size_t> nextStep() {
    std::optional<std::pair<size_t, size_t>> best;
    std::optional<std::pair<size_t, size_t>> anyReady;
    for (size_t plugin = 0; plugin < readyByPlugin_.size(); ++plugin) {
      auto& ready = readyByPlugin_[plugin];
      if (ready.empty()) continue;
      const auto& first = *ready.begin();
      if (!anyReady || first < *anyReady) anyReady = first;
      const bool servable = plan_.plugins[plugin].section == nullptr ||
                            plan_.plugins[plugin].unrunnable || pools_[plugin]->canServeNow();
      if (servable && (!best || first < *best)) best = first;
    }
    // With nothing running, every worker is free: take the earliest step whatever its pool says.
    if (!best && running_ == 0) best = anyReady;
    if (!best) return std::nullopt;
    readyByPlugin_[plan_.steps[best->second].plugin].erase(*best);
    return best->second;
  }

  void dispatch() {
    if (dispatching_) return;
    dispatching_ = true;
    while (running_ < jobs() && whyNoNewSteps().empty()) {
      auto next = nextStep();
      if (!next) break;
      launch(*next);
    }
    dispatching_ = false;
    bool anyReady = false;
    for (const auto& ready : readyByPlugin_) anyReady = anyReady || !ready.empty();
    if (running_ == 0 && (!anyReady || !whyNoNewSteps().empty())) {
      KJ_IF_MAYBE (fulfiller, allSettled_) {
        auto done = kj::mv(*fulfiller);
        allSettled_ = nullptr;
        done->fulfill();
      }
    }
  }

  double sinceStart() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
        .count();
  }

  void launch(size_t index) {
    const PlannedStep& planned = plan_.steps[index];
    state_[index] = NodeState::kRunning;
    ++running_;
    reports_[index].startedMs = sinceStart();
    events_.emit(StepStarted{planned.step->name, planned.step->plugin});
    if (options_.prestart) {
      for (size_t dependent : planned.dependents) prestart(plan_.steps[dependent].plugin);
    }
    kj::Promise<Outcome<ArtifactMap>> work = nullptr;
    try {
      work = runStep(index);
    } catch (const kj::Exception& e) {
      work = Outcome<ArtifactMap>(contained(*planned.step, e.getDescription().cStr()));
    } catch (const std::exception& e) {
      work = Outcome<ArtifactMap>(contained(*planned.step, e.what()));
    }
    tasks_.add(work.then([](Outcome<ArtifactMap> outcome) { return outcome; },
                         [this, index](kj::Exception&& e) {
                           return Outcome<ArtifactMap>(
                               contained(*plan_.steps[index].step, e.getDescription().cStr()));
                         })
                   .then([this, index](Outcome<ArtifactMap> outcome) {
                     finish(index, std::move(outcome));
                   }));
  }

  void prestart(size_t plugin) {
    const PlannedPlugin& planned = plan_.plugins[plugin];
    if (planned.section == nullptr || planned.unrunnable || !whyNoNewSteps().empty()) return;
    pools_[plugin]->prestart();
  }

  kj::Promise<Outcome<ArtifactMap>> runStep(size_t index) {
    const Step& step = *plan_.steps[index].step;
    ArtifactMap inputs;
    for (const auto& input : step.inputs) {
      const ArtifactMap* source =
          input.from.isWorkflowInput() ? &plan_.inputs.value() : outputsOf(input.from.source);
      auto it = source == nullptr ? plan_.inputs.value().end() : source->find(input.from.name);
      if (source == nullptr || it == source->end()) {
        return Outcome<ArtifactMap>(
            makeError(ErrorCategory::kBadInput, "input '" + input.name + "' reads '" +
                                                    input.from.text() + "', which was not produced")
                .withStep(step.name));
      }
      inputs[input.name] = it->second;
    }
    return attempt(index, std::move(inputs));
  }

  const ArtifactMap* outputsOf(const std::string& stepName) const {
    auto found = plan_.stepIndex.find(stepName);
    if (found == plan_.stepIndex.end()) return nullptr;
    return state_[found->second] == NodeState::kSucceeded ? &outputs_[found->second] : nullptr;
  }

  kj::Promise<Outcome<ArtifactMap>> attempt(size_t index, ArtifactMap inputs) {
    const size_t plugin = plan_.steps[index].plugin;
    const Step& step = *plan_.steps[index].step;
    if (plan_.plugins[plugin].unrunnable) {
      return Outcome<ArtifactMap>(Error(*plan_.plugins[plugin].unrunnable).withStep(step.name));
    }
    if (plan_.plugins[plugin].section == nullptr) {
      // The gate audits the refusal; there is no worker to start.
      auto refused = admitPlugin(*plan_.policy, step.plugin, step.name, events_);
      return Outcome<ArtifactMap>(
          refused.ok() ? makeError(ErrorCategory::kInternal, "the plan and the policy disagree")
                       : std::move(refused.error()).withStep(step.name));
    }
    return cancellable(pools_[plugin]->acquire())
        .then([this, index, inputs = std::move(inputs)](
                  Outcome<WorkerHandle*> worker) mutable -> kj::Promise<Outcome<ArtifactMap>> {
          const Step& step = *plan_.steps[index].step;
          if (!worker.ok()) {
            Error error = worker.error();
            if (error.step.empty()) error.step = step.name;
            return afterFailure(index, std::move(inputs), std::move(error), false);
          }
          WorkerHandle* handle = worker.value();
          reports_[index].workerPid = handle->pid();
          auto call = cancellable(handle->execute(step.name, step.config, inputs));
          return call.then(
              [this, index, handle, inputs = std::move(inputs)](
                  Outcome<ArtifactMap> result) mutable -> kj::Promise<Outcome<ArtifactMap>> {
                const bool alive = handle->usable();
                // A cancelled call's worker is mid-call: it is killed with the others at the end.
                if (!received_) pools_[plan_.steps[index].plugin]->release(handle);
                if (result.ok()) return kj::mv(result);
                return afterFailure(index, std::move(inputs), std::move(result.error()), alive);
              });
        });
  }

  // on_failure: whether the step runs again on a new worker, after the backoff (a timer: other
  // steps go on meanwhile). Only when the worker died of bad luck (crash, timeout, resource
  // limit), never for what the plugin chose to do (violations, denials, protocol errors, its
  // own errors), and not when the worker lives (a host-call budget ran out).
  kj::Promise<Outcome<ArtifactMap>> afterFailure(size_t index, ArtifactMap inputs, Error error,
                                                 bool workerAlive) {
    const size_t plugin = plan_.steps[index].plugin;
    const Step& step = *plan_.steps[index].step;
    const PluginPolicy* section = plan_.plugins[plugin].section;
    const bool badLuck = error.category == ErrorCategory::kCrash ||
                         error.category == ErrorCategory::kTimeout ||
                         error.category == ErrorCategory::kResourceLimit;
    if (section == nullptr || section->onFailure.restarts == 0 || !badLuck || workerAlive ||
        received_) {
      return Outcome<ArtifactMap>(std::move(error));
    }
    unsigned& used = restarts_[plugin];
    if (used >= section->onFailure.restarts) {
      events_.emit(RestartsExhausted{step.name, step.plugin, used, error});
      return Outcome<ArtifactMap>(std::move(error));
    }
    ++used;
    const auto delay = section->onFailure.delayBefore(used);
    events_.emit(StepRetrying{step.name, step.plugin, used, section->onFailure.restarts,
                              static_cast<uint64_t>(delay.count()), error});
    auto waited = io_.provider->getTimer()
                      .afterDelay(static_cast<int64_t>(delay.count()) * kj::MILLISECONDS)
                      .then([]() -> Outcome<Done> { return Done{}; });
    return cancellable(kj::mv(waited))
        .then([this, index, inputs = std::move(inputs), error = std::move(error)](
                  const Outcome<Done>& waitedOut) mutable -> kj::Promise<Outcome<ArtifactMap>> {
          if (!waitedOut.ok()) return Outcome<ArtifactMap>(std::move(error));
          return attempt(index, std::move(inputs));
        });
  }

  void finish(size_t index, Outcome<ArtifactMap> outcome) {
    const PlannedStep& planned = plan_.steps[index];
    StepReport& report = reports_[index];
    report.endedMs = sinceStart();
    report.milliseconds = report.endedMs - report.startedMs;
    if (auto failure = events_.recordFailure(); outcome.ok() && failure) outcome = *failure;
    StepFinished finished{planned.step->name, planned.step->plugin, report.milliseconds,
                          report.workerPid,   std::nullopt,         {}};
    if (outcome.ok()) {
      state_[index] = NodeState::kSucceeded;
      report.state = StepState::kSucceeded;
      for (const auto& [name, data] : outcome.value()) report.outputSizes[name] = data->size();
      finished.outputSizes = report.outputSizes;
      outputs_[index] = std::move(outcome.value());
    } else {
      Error error = outcome.error();
      if (error.step.empty()) error.step = planned.step->name;
      state_[index] = NodeState::kFailed;
      report.state = StepState::kFailed;
      report.error = error;
      finished.error = error;
      if (!report_.error) report_.error = error;  // the first failure is the run's
    }
    events_.emit(finished);
    if (outcome.ok()) {
      for (size_t dependent : planned.dependents) {
        if (--waitingOn_[dependent] == 0 && state_[dependent] == NodeState::kWaiting)
          markReady(dependent);
      }
    } else {
      skipDependents(index);
      if (options_.failFast && stopReason_.empty())
        stopReason_ = "--fail-fast: step '" + planned.step->name + "' failed";
    }
    --running_;
    dispatch();
  }

  // A step that failed or was skipped blocks every step that reads from it, and only those:
  // independent branches of the graph still run, so one hostile plugin costs only its own data.
  void skipDependents(size_t index) {
    const std::string reason =
        "not run: step '" + plan_.steps[index].step->name + "' did not succeed";
    for (size_t dependent : plan_.steps[index].dependents) {
      if (state_[dependent] != NodeState::kWaiting && state_[dependent] != NodeState::kReady)
        continue;
      skip(dependent, reason);
      skipDependents(dependent);
    }
  }

  void skip(size_t index, const std::string& reason) {
    if (state_[index] == NodeState::kReady)
      readyByPlugin_[plan_.steps[index].plugin].erase({position_[index], index});
    state_[index] = NodeState::kSkipped;
    reports_[index].state = StepState::kSkipped;
    events_.emit(
        StepSkipped{plan_.steps[index].step->name, plan_.steps[index].step->plugin, reason});
  }

  // The earliest step of `plugin` that has not finished: the one a worker starts for.
  std::string stepWaitingFor(size_t plugin) const {
    for (size_t index : plan_.graph->order) {
      if (plan_.steps[index].plugin != plugin) continue;
      if (state_[index] == NodeState::kWaiting || state_[index] == NodeState::kReady ||
          state_[index] == NodeState::kRunning)
        return plan_.steps[index].step->name;
    }
    return "";
  }

  kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> startWorker(size_t plugin) {
    const PlannedPlugin& planned = plan_.plugins[plugin];
    // Every start is the gate's decision too (audited), as is every call on the worker.
    auto section = admitPlugin(*plan_.policy, planned.name, stepWaitingFor(plugin), events_);
    if (!section.ok()) return Outcome<std::unique_ptr<WorkerHandle>>(section.error());
    const VerifiedPlugin& verified = *planned.verified;
    WorkerLaunch launch{planned.name,
                        verified.package.objectPath(),
                        verified.object->fd(),
                        verified.digest,
                        verified.package.manifest.version.text(),
                        plan_.workerBinary,
                        section.value(),
                        planned.sandboxSpec,
                        context_.cgroups,
                        context_.noCgroupReason};
    return WorkerHandle::start(io_, events_, launch)
        .then([this, plugin](Outcome<std::unique_ptr<WorkerHandle>> started)
                  -> kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> {
          if (!started.ok()) return kj::mv(started);
          const PlannedPlugin& planned = plan_.plugins[plugin];
          if (plan_.ledger != nullptr) {
            auto recorded =
                plan_.ledger->recordRun(planned.name, planned.verified->package.manifest.version);
            if (!recorded.ok()) {
              WorkerHandle& worker = *started.value();
              return worker.stop().then(
                  [worker = std::move(started.value()), error = recorded.error()]() mutable {
                    return Outcome<std::unique_ptr<WorkerHandle>>(std::move(error));
                  });
            }
          }
          WorkerHandle& worker = *started.value();
          return worker.init({}).then(
              [worker = std::move(started.value())](
                  Outcome<Done> initialised) mutable -> Outcome<std::unique_ptr<WorkerHandle>> {
                if (!initialised.ok()) return initialised.error();
                return std::move(worker);
              });
        });
  }

  kj::Promise<RunReport> finishRun() {
    // What never started: skipped, with the reason nothing new could start.
    const std::string reason = whyNoNewSteps();
    for (size_t index : plan_.graph->order) {
      if (state_[index] == NodeState::kWaiting || state_[index] == NodeState::kReady)
        skip(index, "not run: " + (reason.empty() ? std::string("nothing ran it") : reason));
    }
    const bool cancelled = received_.has_value();
    // A cancelled run (or one whose audit log failed) kills its workers; otherwise they are
    // asked to shut down, all at once.
    const bool kill = cancelled || events_.recordFailure().has_value();
    kj::Vector<kj::Promise<void>> stops;
    for (auto& pool : pools_) stops.add(pool->stopAll(kill));
    return kj::joinPromises(stops.releaseAsArray()).then([this, cancelled]() {
      return completeReport(cancelled);
    });
  }

  RunReport completeReport(bool cancelled) {
    const Workflow& workflow = *plan_.graph->workflow;
    for (size_t index : plan_.graph->order) report_.steps.push_back(reports_[index]);
    // A failed run still reports the outputs its surviving branches produced.
    if (plan_.inputs.ok()) {
      for (const auto& output : workflow.outputs) {
        const ArtifactMap* source =
            output.from.isWorkflowInput() ? &plan_.inputs.value() : outputsOf(output.from.source);
        auto it = source == nullptr ? plan_.inputs.value().end() : source->find(output.from.name);
        if (source != nullptr && it != source->end()) {
          report_.outputs[output.name] = it->second;
        } else if (!report_.error) {
          report_.error = makeError(ErrorCategory::kBadInput, "workflow output '" + output.name +
                                                                  "' reads '" + output.from.text() +
                                                                  "', which was not produced");
        }
      }
    }
    if (cancelled) {
      report_.cancelledBy = received_;
      if (!report_.error || report_.error->category != ErrorCategory::kCancelled)
        report_.error = cancelledError();
    }
    if (auto failure = events_.recordFailure()) {
      // Nothing may be published that the log does not hold: no outputs, and the reason first.
      report_.error = *failure;
      report_.outputs.clear();
    }
    if (report_.ok() && options_.publishOutputs) {
      auto published = options_.publishOutputs(report_.outputs);
      if (!published.ok()) {
        report_.error = published.error();
        events_.emit(OutputsFailed{*report_.error});
      }
    }
    events_.emit(RunFinished{&report_});
    return std::move(report_);
  }

  const EngineContext& context_;
  kj::AsyncIoContext& io_;
  const RunEvents& events_;
  const RunPlan& plan_;
  EngineOptions options_;
  std::vector<NodeState> state_;
  std::vector<size_t> waitingOn_;
  std::vector<ArtifactMap> outputs_;
  std::vector<StepReport> reports_;
  std::vector<unsigned> restarts_;                                  // per plugin, this run
  std::vector<std::set<std::pair<size_t, size_t>>> readyByPlugin_;  // (position, step)
  std::vector<size_t> position_;  // each step's place in the graph's topological order
  std::vector<std::unique_ptr<WorkerPool>> pools_;
  RunReport report_;
  std::chrono::steady_clock::time_point started_;
  size_t running_ = 0;
  bool dispatching_ = false;
  std::string stopReason_;  // inputs unreadable, --fail-fast
  kj::Maybe<kj::ForkedPromise<int>> signal_;
  std::optional<int> received_;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> allSettled_;
  kj::TaskSet tasks_;  // declared last: destroyed first, before the pools its steps use
};

}  // namespace

kj::Promise<RunReport> runPlan(const EngineContext& context, const RunPlan& plan,
                               const EngineOptions& options) {
  auto run = kj::heap<DagRun>(context, plan, options);
  DagRun& ref = *run;
  return ref.run().attach(kj::mv(run));
}

}  // namespace cordon
