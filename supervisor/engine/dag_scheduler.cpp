#include "engine/dag_scheduler.h"

#include <signal.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <set>
#include <stdexcept>

#include <kj/async-unix.h>
#include <nlohmann/json.hpp>

#include "audit/run_audit.h"
#include "core/untrusted_text.h"
#include "engine/step_cache_key.h"
#include "gate/gate.h"
#include "run/artifact_digest.h"
#include "worker/worker_handle.h"
#include "worker/worker_pool.h"

namespace cordon {
namespace {

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

// What a condition may read of a value: a small one. A larger value is an error, not a prefix.
constexpr size_t kConditionValueLimit = 64 << 10;
// What a for_each may split: the list is held in the supervisor.
constexpr size_t kForEachListLimit = 64 << 20;

std::string smallText(const Artifact& artifact, const std::string& what) {
  if (artifact->size() > kConditionValueLimit)
    throw std::runtime_error("'" + what +
                             "' is larger than 64 KiB; a condition reads small values");
  auto text = artifact->head(kConditionValueLimit);
  if (!text.ok()) throw std::runtime_error("'" + what + "': " + text.error().message);
  return std::move(text.value());
}

// A for_each's items: the lines of the artifact (empty ones skipped) or a JSON array of
// strings, numbers and booleans (a string item is its text, the others their JSON).
Outcome<std::vector<std::string>> splitItems(const std::string& text, ForEach::Format format) {
  std::vector<std::string> items;
  if (format == ForEach::Format::kLines) {
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) items.push_back(text.substr(start, end - start));
      if (items.size() > kMaxForEachItems) break;
      start = end + 1;
    }
  } else {
    const nlohmann::json list = nlohmann::json::parse(text, nullptr, false);
    if (list.is_discarded() || !list.is_array())
      return makeError(ErrorCategory::kBadInput, "the items are not a JSON array");
    for (size_t i = 0; i < list.size() && items.size() <= kMaxForEachItems; ++i) {
      const nlohmann::json& item = list[i];
      if (item.is_string()) {
        items.push_back(item.get<std::string>());
      } else if (item.is_number() || item.is_boolean()) {
        items.push_back(jsonText(item));
      } else {
        return makeError(ErrorCategory::kBadInput,
                         "item " + std::to_string(i) + " is not a string, a number or a boolean");
      }
    }
  }
  if (items.size() > kMaxForEachItems)
    return makeError(ErrorCategory::kBadInput,
                     "more than " + std::to_string(kMaxForEachItems) + " items");
  return items;
}

// The outputs of a for_each's items gathered: each output name (of any item) becomes one JSON
// array with every item's value in item order, null where an item did not set it.
ArtifactMap gather(const std::vector<ArtifactMap>& perItem) {
  std::set<std::string> names;
  for (const auto& outputs : perItem)
    for (const auto& [name, data] : outputs) names.insert(name);
  ArtifactMap gathered;
  for (const std::string& name : names) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& outputs : perItem) {
      auto found = outputs.find(name);
      auto bytes = found == outputs.end() ? Outcome<std::string>(std::string())
                                          : found->second->head(found->second->size());
      if (found == outputs.end() || !bytes.ok()) {
        list.push_back(nullptr);
      } else {
        list.push_back(toValidUtf8(bytes.value()));
      }
    }
    gathered[name] = makeArtifact(jsonText(list));
  }
  return gathered;
}

// The SHA-256 of artifacts by identity. An entry lives no longer than its artifact, so a new
// artifact at a freed one's address is never taken for it.
class KnownDigests {
 public:
  void add(const Artifact& artifact, const std::string& digest) {
    digests_[artifact.get()] = {artifact, digest};
  }
  std::optional<std::string> find(const Artifact& artifact) const {
    auto found = digests_.find(artifact.get());
    if (found == digests_.end() || found->second.first.expired()) return std::nullopt;
    return found->second.second;
  }

 private:
  std::map<const ArtifactBytes*, std::pair<std::weak_ptr<const ArtifactBytes>, std::string>>
      digests_;
};

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
        failedUpstream_(plan.steps.size(), false),
        deadlines_(plan.steps.size()),
        finishedOn_(plan.steps.size(), nullptr),
        outputs_(plan.steps.size()),
        reports_(plan.steps.size()),
        restarts_(plan.plugins.size(), 0),
        readyByPlugin_(plan.plugins.size()),
        position_(plan.steps.size(), 0),
        replayable_(plan.steps.size(), false),
        cacheHits_(plan.steps.size()),
        store_(options.artifactMemoryBytes, options.spillDirectory, options.durableOutputs),
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
    report_.runId = options_.runId.empty() ? newRunId() : options_.runId;
    started_ = std::chrono::steady_clock::now();
    RunStarted started;
    started.runId = report_.runId;
    started.workflowPath = workflow.path;
    started.workflowName = workflow.name;
    started.policyPath = plan_.policy->path;
    started.steps = workflow.steps.size();
    started.jobs = jobs();
    for (const PlannedPlugin& plugin : plan_.plugins)
      if (plugin.verified != nullptr) started.pluginDigests[plugin.name] = plugin.verified->digest;
    for (const PlannedStep& step : plan_.steps) {
      PlannedNode node{step.step->name, step.step->plugin, {}};
      for (size_t dependency : step.dependsOn)
        node.needs.push_back(plan_.steps[dependency].step->name);
      started.graph.push_back(std::move(node));
    }
    if (options_.resume != nullptr) {
      started.resumed = true;
      findReplayable();
      for (size_t index : plan_.graph->order) {
        const std::string& name = plan_.steps[index].step->name;
        if (replayable_[index]) started.replayed.push_back(name);
        if (interruptedAttempt(index) != 0) started.interrupted.push_back(name);
      }
    }
    events_.emit(started);
    for (size_t i = 0; i < plan_.steps.size(); ++i) {
      reports_[i].name = plan_.steps[i].step->name;
      reports_[i].plugin = plan_.steps[i].step->plugin;
    }
    if (plan_.inputs.ok()) recordInputDigests();
    if (!plan_.inputs.ok()) {
      report_.error = plan_.inputs.error();
      events_.emit(InputsRejected{workflow.path, *report_.error});
      stopReason_ = "the workflow's inputs could not be read";
    } else {
      armCancellation();
      for (size_t i = 0; i < plan_.steps.size(); ++i)
        waitingOn_[i] = plan_.steps[i].dependsOn.size();
      for (size_t index : plan_.graph->order)
        if (replayable_[index]) replay(index);
      for (size_t i = 0; i < plan_.steps.size(); ++i)
        if (waitingOn_[i] == 0 && state_[i] == NodeState::kWaiting) decisions_.push_back(i);
      propagating_ = true;  // the replayed steps' dependents decide once all of them are in
      for (size_t index : plan_.graph->order)
        if (replayable_[index]) settle(index);
      propagating_ = false;
      propagate();
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

  // A step the journal shows ended is taken as it ended, unless a step it depends on runs again
  // (its outputs could differ): then it runs again too.
  void findReplayable() {
    for (size_t index : plan_.graph->order) {
      bool replayable = options_.resume->ended.count(plan_.steps[index].step->name) != 0;
      for (size_t dependency : plan_.steps[index].dependsOn)
        replayable = replayable && replayable_[dependency];
      replayable_[index] = replayable;
    }
  }

  // The attempt of the step the supervisor's death cut short (0: none). A for_each step starts
  // its items over: their attempts are not journaled one by one.
  unsigned interruptedAttempt(size_t index) const {
    if (options_.resume == nullptr || replayable_[index]) return 0;
    const Step& step = *plan_.steps[index].step;
    if (step.forEach) return 0;
    auto found = options_.resume->interrupted.find(step.name);
    return found == options_.resume->interrupted.end() ? 0 : found->second;
  }

  void replay(size_t index) {
    const EndedStep& ended = options_.resume->ended.at(plan_.steps[index].step->name);
    StepReport& report = reports_[index];
    report.state = ended.state;
    report.error = ended.error;
    report.milliseconds = ended.milliseconds;
    report.workerPid = ended.workerPid;
    report.attempts = ended.attempts;
    switch (ended.state) {
      case StepState::kSucceeded:
        state_[index] = NodeState::kSucceeded;
        outputs_[index] = ended.outputs;
        for (const auto& [name, data] : ended.outputs) {
          report.outputSizes[name] = data->size();
          if (auto digest = ended.outputDigests.find(name); digest != ended.outputDigests.end())
            knownDigests_.add(data, digest->second);
        }
        break;
      case StepState::kFailed:
        state_[index] = NodeState::kFailed;
        failedUpstream_[index] = true;
        if (!ended.continued && ended.error) {
          if (!report_.error) report_.error = ended.error;
          if (options_.failFast && stopReason_.empty())
            stopReason_ = "--fail-fast: step '" + plan_.steps[index].step->name + "' failed";
        }
        break;
      case StepState::kSkipped:
        state_[index] = NodeState::kSkipped;
        for (size_t dependency : plan_.steps[index].dependsOn)
          if (failedUpstream_[dependency]) failedUpstream_[index] = true;
        break;
    }
  }

  // Every workflow input's SHA-256 goes to the record (a large file's hashed on a thread), so a
  // resumed run can tell whether it would read the same bytes.
  void recordInputDigests() {
    for (const auto& [name, artifact] : plan_.inputs.value()) {
      auto record = [this, name = name, artifact = artifact](const Outcome<std::string>& digest) {
        const uint64_t bytes = artifact->size();
        if (digest.ok()) knownDigests_.add(artifact, digest.value());
        events_.emit(InputDigested{
            name, bytes, digest.ok() ? digest.value() : "unavailable: " + digest.error().message});
      };
      if (artifact->size() <= kLargeArtifactBytes) {
        record(digestArtifact(*artifact));
      } else {
        digests_.add(digestInBackground(artifact).then(kj::mv(record)));
      }
    }
  }

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
    if (planned.step->timeout)
      deadlines_[index] = std::chrono::steady_clock::now() + *planned.step->timeout;
    events_.emit(StepStarted{planned.step->name, planned.step->plugin, interruptedAttempt(index)});
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
    if (options_.cache != nullptr && plan_.graph->workflow->caches(step))
      return cachedOrRun(index, std::move(inputs));
    return runFresh(index, std::move(inputs));
  }

  // The step's SHA-256 of `artifact`: known when it was stored or read back; a small one's
  // now; a large one's from a thread (the event loop goes on meanwhile).
  kj::Promise<Outcome<std::string>> digestOf(const Artifact& artifact) {
    if (auto known = knownDigests_.find(artifact)) return Outcome<std::string>(*known);
    if (artifact->size() <= kLargeArtifactBytes) return digestArtifact(*artifact);
    return digestInBackground(artifact).then([this, artifact](Outcome<std::string> digest) {
      if (digest.ok()) knownDigests_.add(artifact, digest.value());
      return digest;
    });
  }

  // A step with `cache: true`: keyed on its plugin, policy section, config and inputs; an
  // earlier result of that key is taken as this step's outputs (nothing runs), else it runs.
  kj::Promise<Outcome<ArtifactMap>> cachedOrRun(size_t index, ArtifactMap inputs) {
    const Step& step = *plan_.steps[index].step;
    const PlannedPlugin& plugin = plan_.plugins[plan_.steps[index].plugin];
    // A plugin that was not verified, or may not run, has nothing to key on: it fails as it
    // would uncached.
    if (plugin.verified == nullptr || plugin.section == nullptr || plugin.unrunnable)
      return runFresh(index, std::move(inputs));
    std::vector<std::string> names;
    auto digests = kj::heapArrayBuilder<kj::Promise<Outcome<std::string>>>(
        inputs.size() + (step.forEach && step.forEach->items ? 1 : 0));
    for (const auto& [name, artifact] : inputs) {
      names.push_back(name);
      digests.add(digestOf(artifact));
    }
    if (step.forEach && step.forEach->items) {
      const ArtifactRef& ref = *step.forEach->items;
      const ArtifactMap* source =
          ref.isWorkflowInput() ? &plan_.inputs.value() : outputsOf(ref.source);
      auto found = source == nullptr ? plan_.inputs.value().end() : source->find(ref.name);
      if (source == nullptr || found == source->end()) return runFresh(index, std::move(inputs));
      digests.add(digestOf(found->second));
    }
    return kj::joinPromises(digests.finish())
        .then([this, index, names = std::move(names),
               inputs = std::move(inputs)](kj::Array<Outcome<std::string>> found) mutable {
          const Step& keyed = *plan_.steps[index].step;
          std::map<std::string, std::string> inputDigests;
          std::optional<std::string> itemsDigest;
          for (size_t i = 0; i < found.size(); ++i) {
            // An input that cannot be read cannot be keyed: the step runs, and meets the
            // same error reading it.
            if (!found[i].ok()) return runFresh(index, std::move(inputs));
            if (i < names.size()) {
              inputDigests[names[i]] = found[i].value();
            } else {
              itemsDigest = found[i].value();
            }
          }
          const std::string key = stepCacheKey(stepCacheMaterial(
              keyed, plan_.plugins[plan_.steps[index].plugin], inputDigests, itemsDigest));
          StepCacheChecked checked{keyed.name, keyed.plugin, key, "", "", {}};
          std::optional<CacheHit> hit = options_.cache->find(key, checked.rejected);
          if (hit) {
            checked.fromRun = hit->runId;
            checked.fromStep = hit->step;
          }
          if (auto failure = events_.emit(checked))
            return kj::Promise<Outcome<ArtifactMap>>(Outcome<ArtifactMap>(*failure));
          if (!hit) return runFresh(index, std::move(inputs));
          for (const auto& [name, artifact] : hit->outputs)
            knownDigests_.add(artifact, hit->digests.at(name));
          cacheHits_[index] = hit->digests;
          return kj::Promise<Outcome<ArtifactMap>>(Outcome<ArtifactMap>(std::move(hit->outputs)));
        });
  }

  // The step runs: its items (for_each), its cut-short attempt's retry (resumed), or attempt 1.
  kj::Promise<Outcome<ArtifactMap>> runFresh(size_t index, ArtifactMap inputs) {
    const Step& step = *plan_.steps[index].step;
    if (step.forEach) return runForEach(index, std::move(inputs));
    if (const unsigned cutShort = interruptedAttempt(index); cutShort != 0) {
      // The attempt the supervisor's death ended failed; the step's retry policy decides.
      reports_[index].attempts = cutShort;
      return afterFailure(
          index, step.name, std::move(inputs),
          makeError(ErrorCategory::kCrash, "the supervisor died during attempt " +
                                               std::to_string(cutShort) + " (the run was resumed)")
              .withStep(step.name),
          false, cutShort);
    }
    return attempt(index, step.name, std::move(inputs), 1);
  }

  // A for_each step: its items run as attempts of their own (each retried on its own), at most
  // max_parallel at once, on the plugin's pool; the first item that fails fails the step and
  // starts no more items. The gather is in item order whatever order they finished in.
  struct FanOut {
    std::vector<std::string> items;
    std::vector<ArtifactMap> outputs;
    ArtifactMap inputs;
    size_t next = 0;
    size_t running = 0;
    std::optional<Error> error;
    kj::Own<kj::PromiseFulfiller<void>> done;
  };

  Outcome<std::vector<std::string>> itemsOf(const Step& step) const {
    const ForEach& each = *step.forEach;
    if (!each.items) return each.literalItems;
    const ArtifactMap* source =
        each.items->isWorkflowInput() ? &plan_.inputs.value() : outputsOf(each.items->source);
    auto it = source == nullptr ? plan_.inputs.value().end() : source->find(each.items->name);
    if (source == nullptr || it == source->end()) {
      return makeError(ErrorCategory::kBadInput,
                       "for_each.items reads '" + each.items->text() + "', which was not produced");
    }
    if (it->second->size() > kForEachListLimit)
      return makeError(ErrorCategory::kBadInput,
                       "for_each.items '" + each.items->text() + "' is larger than 64 MiB");
    auto text = it->second->head(it->second->size());
    if (!text.ok()) return text.error();
    auto items = splitItems(text.value(), each.format);
    if (!items.ok()) {
      return makeError(ErrorCategory::kBadInput,
                       "for_each.items '" + each.items->text() + "': " + items.error().message);
    }
    return items;
  }

  kj::Promise<Outcome<ArtifactMap>> runForEach(size_t index, ArtifactMap inputs) {
    const Step& step = *plan_.steps[index].step;
    auto items = itemsOf(step);
    if (!items.ok()) return Outcome<ArtifactMap>(std::move(items.error()).withStep(step.name));
    auto fan = std::make_shared<FanOut>();
    fan->items = std::move(items.value());
    fan->outputs.resize(fan->items.size());
    fan->inputs = std::move(inputs);
    auto done = kj::newPromiseAndFulfiller<void>();
    fan->done = kj::mv(done.fulfiller);
    reports_[index].items = fan->items.size();
    startItems(index, fan);
    return done.promise.then([fan]() -> Outcome<ArtifactMap> {
      if (fan->error) return *fan->error;
      return gather(fan->outputs);
    });
  }

  void startItems(size_t index, const std::shared_ptr<FanOut>& fan) {
    const Step& step = *plan_.steps[index].step;
    const unsigned most = step.forEach->maxParallel == 0 ? jobs() : step.forEach->maxParallel;
    while (fan->running < most && fan->next < fan->items.size() && !fan->error) {
      if (received_) {
        fan->error = cancelledError();
        break;
      }
      const size_t item = fan->next++;
      ++fan->running;
      ArtifactMap inputs = fan->inputs;
      inputs[step.forEach->as] = makeArtifact(fan->items[item]);
      const std::string label = step.name + "[" + std::to_string(item) + "]";
      tasks_.add(attempt(index, label, std::move(inputs), 1)
                     .then([](Outcome<ArtifactMap> outcome) { return outcome; },
                           [this, index](kj::Exception&& e) {
                             return Outcome<ArtifactMap>(
                                 contained(*plan_.steps[index].step, e.getDescription().cStr()));
                           })
                     .then([this, index, fan, item](Outcome<ArtifactMap> outcome) {
                       --fan->running;
                       if (outcome.ok()) {
                         fan->outputs[item] = std::move(outcome.value());
                       } else if (!fan->error) {
                         Error error = std::move(outcome.error());
                         error.message = "item " + std::to_string(item) + ": " + error.message;
                         error.step = plan_.steps[index].step->name;
                         fan->error = std::move(error);
                       }
                       startItems(index, fan);
                     }));
    }
    if (fan->running == 0 && fan->done->isWaiting()) fan->done->fulfill();
  }

  const ArtifactMap* outputsOf(const std::string& stepName) const {
    auto found = plan_.stepIndex.find(stepName);
    if (found == plan_.stepIndex.end()) return nullptr;
    return state_[found->second] == NodeState::kSucceeded ? &outputs_[found->second] : nullptr;
  }

  // What is left of the step's timeout_ms, if it has one.
  std::optional<std::chrono::milliseconds> remaining(size_t index) const {
    if (!deadlines_[index]) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *deadlines_[index] - std::chrono::steady_clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

  // A timer bounded by the step's timeout_ms fired: the step has no time left. kj's timer reads
  // the event loop's clock, which can lag steady_clock by a busy turn, so without this the step
  // could still seem to have a few milliseconds left, enough for a retry's backoff.
  void stepTimeRanOut(size_t index) {
    if (deadlines_[index])
      deadlines_[index] = std::min(*deadlines_[index], std::chrono::steady_clock::now());
  }

  Error stepTimedOut(size_t index, const std::string& what) const {
    const Step& step = *plan_.steps[index].step;
    return makeError(ErrorCategory::kTimeout, "the step's timeout_ms (" +
                                                  std::to_string(step.timeout->count()) +
                                                  " ms) ran out " + what)
        .withStep(step.name);
  }

  // One attempt at a step (or at one item of a for_each step: `label` is "STEP[ITEM]").
  kj::Promise<Outcome<ArtifactMap>> attempt(size_t index, std::string label, ArtifactMap inputs,
                                            unsigned number) {
    const size_t plugin = plan_.steps[index].plugin;
    const Step& step = *plan_.steps[index].step;
    ++reports_[index].attempts;
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
    if (auto left = remaining(index); left && left->count() == 0)
      return Outcome<ArtifactMap>(stepTimedOut(index, "before attempt " + std::to_string(number)));
    auto acquired = cancellable(pools_[plugin]->acquire());
    if (auto left = remaining(index)) {
      // Waiting for a worker (or for its start) is part of the step's wall clock.
      acquired = acquired.exclusiveJoin(io_.provider->getTimer()
                                            .afterDelay(left->count() * kj::MILLISECONDS)
                                            .then([this, index]() -> Outcome<WorkerHandle*> {
                                              stepTimeRanOut(index);
                                              return stepTimedOut(index, "waiting for a worker");
                                            }));
    }
    return acquired.then(
        [this, index, number, label = std::move(label), inputs = std::move(inputs)](
            Outcome<WorkerHandle*> worker) mutable -> kj::Promise<Outcome<ArtifactMap>> {
          const Step& step = *plan_.steps[index].step;
          if (!worker.ok()) {
            Error error = worker.error();
            if (error.step.empty()) error.step = step.name;
            return afterFailure(index, std::move(label), std::move(inputs), std::move(error), false,
                                number);
          }
          WorkerHandle* handle = worker.value();
          reports_[index].workerPid = handle->pid();
          // The policy's per-call timeout still holds; the step's, when lower, wins.
          const auto budget = remaining(index);
          const bool stepsOwnBudget =
              budget && *budget < plan_.plugins[plan_.steps[index].plugin].section->callTimeout;
          auto call = cancellable(handle->execute(label, step.config, inputs, budget));
          return call.then([this, index, handle, number, stepsOwnBudget, label = std::move(label),
                            inputs = std::move(inputs)](Outcome<ArtifactMap> result) mutable
                           -> kj::Promise<Outcome<ArtifactMap>> {
            if (!result.ok() && stepsOwnBudget &&
                result.error().category == ErrorCategory::kTimeout) {
              stepTimeRanOut(index);  // the call was killed when the step's time ran out
            }
            const bool alive = handle->usable();
            // A cancelled call's worker is mid-call: it is killed with the others at the
            // end. A step that succeeded gives its worker back when its end is recorded
            // (finish), so no worker serves a new step before the last one has ended.
            if (!received_) {
              if (result.ok() && !plan_.steps[index].step->forEach) {
                finishedOn_[index] = handle;
              } else {
                pools_[plan_.steps[index].plugin]->release(handle);
              }
            }
            if (result.ok()) return kj::mv(result);
            return afterFailure(index, std::move(label), std::move(inputs),
                                std::move(result.error()), alive, number);
          });
        });
  }

  // Whether the step runs again, after a backoff (a timer: other steps go on meanwhile). A
  // step's own `retry:` decides for the categories it names; without one, its plugin's policy
  // (on_failure) restarts a worker that died of bad luck (crash, timeout, resource limit) and
  // nothing else. Neither ever retries a sandbox violation, a policy denial or a protocol
  // error: those are what the plugin chose to do.
  kj::Promise<Outcome<ArtifactMap>> afterFailure(size_t index, std::string label,
                                                 ArtifactMap inputs, Error error, bool workerAlive,
                                                 unsigned number) {
    const size_t plugin = plan_.steps[index].plugin;
    const Step& step = *plan_.steps[index].step;
    if (received_) return Outcome<ArtifactMap>(std::move(error));
    std::chrono::milliseconds delay{0};
    StepRetrying retrying{label, step.plugin, number, 0, 0, error, StepRetrying::Why::kRetry};
    if (step.retry.line != 0) {
      if (!step.retry.retries(error.category)) return Outcome<ArtifactMap>(std::move(error));
      if (number >= step.retry.attempts) {
        if (step.retry.attempts > 1)
          error.message += " (attempt " + std::to_string(number) + " of " +
                           std::to_string(step.retry.attempts) + ")";
        return Outcome<ArtifactMap>(std::move(error));
      }
      delay = step.retry.delayBefore(number + 1);
      retrying.of = step.retry.attempts - 1;
    } else {
      const PluginPolicy* section = plan_.plugins[plugin].section;
      const bool badLuck = error.category == ErrorCategory::kCrash ||
                           error.category == ErrorCategory::kTimeout ||
                           error.category == ErrorCategory::kResourceLimit;
      if (section == nullptr || section->onFailure.restarts == 0 || !badLuck || workerAlive)
        return Outcome<ArtifactMap>(std::move(error));
      unsigned& used = restarts_[plugin];
      if (used >= section->onFailure.restarts) {
        events_.emit(RestartsExhausted{label, step.plugin, used, error});
        return Outcome<ArtifactMap>(std::move(error));
      }
      ++used;
      delay = section->onFailure.delayBefore(used);
      retrying.restart = used;
      retrying.of = section->onFailure.restarts;
      retrying.why = StepRetrying::Why::kWorkerRestart;
    }
    if (auto left = remaining(index); left && *left <= delay) {
      error.message += " (no retry: the step's timeout_ms runs out first)";
      return Outcome<ArtifactMap>(std::move(error));
    }
    retrying.backoffMs = static_cast<uint64_t>(delay.count());
    events_.emit(retrying);
    auto waited = io_.provider->getTimer()
                      .afterDelay(static_cast<int64_t>(delay.count()) * kj::MILLISECONDS)
                      .then([]() -> Outcome<Done> { return Done{}; });
    return cancellable(kj::mv(waited))
        .then([this, index, number, label = std::move(label), inputs = std::move(inputs),
               error = std::move(error)](
                  const Outcome<Done>& waitedOut) mutable -> kj::Promise<Outcome<ArtifactMap>> {
          if (!waitedOut.ok()) return Outcome<ArtifactMap>(std::move(error));
          return attempt(index, std::move(label), std::move(inputs), number + 1);
        });
  }

  void finish(size_t index, Outcome<ArtifactMap> outcome) {
    const PlannedStep& planned = plan_.steps[index];
    std::map<std::string, std::string> stored;  // output -> digest, of those in the store
    StepReport& report = reports_[index];
    report.endedMs = sinceStart();
    report.milliseconds = report.endedMs - report.startedMs;
    if (auto failure = events_.recordFailure(); outcome.ok() && failure) outcome = *failure;
    if (outcome.ok() && cacheHits_[index]) {
      stored = *cacheHits_[index];  // files of the store already, each checked against its digest
    } else if (outcome.ok()) {
      std::vector<SpilledArtifact> spilled;
      auto kept = store_.keep(std::move(outcome.value()), spilled, stored);
      for (const SpilledArtifact& artifact : spilled) {
        events_.emit(ArtifactSpilled{planned.step->name, artifact.name, artifact.bytes,
                                     artifact.digest, artifact.path});
      }
      outcome = std::move(kept);
    }
    StepFinished finished{planned.step->name, planned.step->plugin, report.milliseconds,
                          report.workerPid,   std::nullopt,         {}};
    if (outcome.ok()) {
      state_[index] = NodeState::kSucceeded;
      report.state = StepState::kSucceeded;
      for (const auto& [name, data] : outcome.value()) report.outputSizes[name] = data->size();
      finished.outputSizes = report.outputSizes;
      outputs_[index] = std::move(outcome.value());
      for (const auto& [name, digest] : stored) {
        auto output = outputs_[index].find(name);
        if (output != outputs_[index].end()) knownDigests_.add(output->second, digest);
      }
      // What the store holds is recorded before the step's end: a journal that says a step
      // succeeded has every output of it (docs/state.md, "What is durable when").
      for (const auto& [name, digest] : stored) {
        ArtifactDigested digested{planned.step->name, name, report.outputSizes[name], digest, {}};
        const Artifact& output = outputs_[index].at(name);
        if (store_.inlines(*output)) {
          auto bytes = output->head(output->size());
          if (bytes.ok())
            digested.inlineBytes = std::make_shared<const std::string>(std::move(bytes.value()));
        }
        events_.emit(digested);
      }
      events_.emit(finished);
      recordDigests(index, stored);
    } else {
      failed(index, std::move(outcome.error()), finished);
    }
    settle(index);
    if (WorkerHandle* worker = finishedOn_[index]) {
      finishedOn_[index] = nullptr;
      pools_[planned.plugin]->release(worker);
    }
    --running_;
    dispatch();
  }

  // Every output's SHA-256 goes to the record: a small one's now, a large one's when a thread
  // has read it (the run waits for them all before it ends).
  void recordDigests(size_t index, const std::map<std::string, std::string>& known) {
    const Step& step = *plan_.steps[index].step;
    for (const auto& [name, artifact] : outputs_[index]) {
      if (known.count(name) != 0) continue;
      auto record = [this, stepName = step.name, name = name,
                     bytes = artifact->size()](const Outcome<std::string>& digest) {
        events_.emit(ArtifactDigested{
            stepName,
            name,
            bytes,
            digest.ok() ? digest.value() : "unavailable: " + digest.error().message,
            {}});
      };
      if (artifact->size() <= kLargeArtifactBytes) {
        record(digestArtifact(*artifact));
      } else {
        digests_.add(digestInBackground(artifact).then(kj::mv(record)));
      }
    }
  }

  void failed(size_t index, Error error, StepFinished& finished) {
    const Step& step = *plan_.steps[index].step;
    if (error.step.empty()) error.step = step.name;
    state_[index] = NodeState::kFailed;
    failedUpstream_[index] = true;
    reports_[index].state = StepState::kFailed;
    reports_[index].error = error;
    finished.error = error;
    finished.continued = step.onError == OnError::kContinue;
    events_.emit(finished);
    // on_error: continue keeps the failure the step's own: the run goes on as if it had not
    // failed, and its dependents decide by their if: as they always do.
    if (step.onError == OnError::kContinue) return;
    if (!report_.error) report_.error = error;  // the first failure is the run's
    if (options_.failFast && stopReason_.empty())
      stopReason_ = "--fail-fast: step '" + step.name + "' failed";
  }

  // A step that ended (succeeded, failed, skipped) lets its dependents decide once all their
  // dependencies have: a worklist, so a long chain of skips does not recurse.
  void settle(size_t index) {
    for (size_t dependent : plan_.steps[index].dependents) {
      if (--waitingOn_[dependent] == 0 && state_[dependent] == NodeState::kWaiting)
        decisions_.push_back(dependent);
    }
    propagate();
  }

  void propagate() {
    if (propagating_) return;
    propagating_ = true;
    while (!decisions_.empty()) {
      const size_t index = decisions_.front();
      decisions_.pop_front();
      decide(index);
    }
    propagating_ = false;
  }

  // Every dependency has ended: the step runs, is skipped, or fails without running (its
  // condition could not be evaluated).
  void decide(size_t index) {
    if (state_[index] != NodeState::kWaiting || finishing_) return;
    const PlannedStep& planned = plan_.steps[index];
    const Step& step = *planned.step;
    std::string why;
    // Whatever its condition would say, a step cannot run without the data it reads.
    for (size_t source : plan_.graph->nodes[index].dataFrom) {
      if (why.empty() && state_[source] != NodeState::kSucceeded)
        why = "not run: step '" + plan_.steps[source].step->name + "' did not succeed";
    }
    if (!why.empty()) {
      skip(index, why);
      return;
    }
    if (step.condition) {
      StepConditionScope scope(*this, index);
      std::variant<bool, ConditionError> holds = false;
      try {
        holds = step.condition->evaluate(scope);
      } catch (const std::exception& e) {
        holds = ConditionError{0, e.what()};
      }
      if (auto* error = std::get_if<ConditionError>(&holds)) {
        StepFinished finished{step.name, step.plugin, 0, 0, std::nullopt, {}};
        failed(
            index,
            makeError(ErrorCategory::kBadInput, "if: '" + step.condition->text() +
                                                    "' could not be evaluated: " + error->message),
            finished);
        settle(index);
        return;
      }
      if (!std::get<bool>(holds))
        why = "not run: its if: '" + step.condition->text() + "' is false";
    } else {
      for (size_t dependency : planned.dependsOn) {
        if (why.empty() && state_[dependency] != NodeState::kSucceeded)
          why = "not run: step '" + plan_.steps[dependency].step->name + "' did not succeed";
      }
    }
    if (!why.empty()) {
      skip(index, why);
      return;
    }
    markReady(index);
  }

  void skip(size_t index, const std::string& reason) {
    if (state_[index] == NodeState::kReady)
      readyByPlugin_[plan_.steps[index].plugin].erase({position_[index], index});
    state_[index] = NodeState::kSkipped;
    reports_[index].state = StepState::kSkipped;
    for (size_t dependency : plan_.steps[index].dependsOn)
      if (failedUpstream_[dependency]) failedUpstream_[index] = true;
    events_.emit(
        StepSkipped{plan_.steps[index].step->name, plan_.steps[index].step->plugin, reason});
    settle(index);
  }

  // What a step's condition reads: its dependencies have all ended.
  class StepConditionScope final : public ConditionScope {
   public:
    StepConditionScope(const DagRun& run, size_t index) : run_(run), index_(index) {}
    std::string input(const std::string& name) const override {
      return smallText(run_.plan_.inputs.value().at(name), "inputs." + name);
    }
    std::string stepStatus(const std::string& step) const override {
      switch (run_.state_[run_.plan_.stepIndex.at(step)]) {
        case NodeState::kSucceeded:
          return "succeeded";
        case NodeState::kFailed:
          return "failed";
        default:
          return "skipped";
      }
    }
    std::string stepOutput(const std::string& step, const std::string& name) const override {
      const ArtifactMap* outputs = run_.outputsOf(step);
      if (outputs == nullptr) return "";
      auto found = outputs->find(name);
      if (found == outputs->end()) return "";
      return smallText(found->second, "steps." + step + ".outputs." + name);
    }
    bool dependenciesSucceeded() const override {
      for (size_t dependency : run_.plan_.steps[index_].dependsOn)
        if (run_.state_[dependency] != NodeState::kSucceeded) return false;
      return true;
    }
    bool anyDependencyFailed() const override {
      for (size_t dependency : run_.plan_.steps[index_].dependsOn)
        if (run_.failedUpstream_[dependency]) return true;
      return false;
    }

   private:
    const DagRun& run_;
    size_t index_;
  };

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
    finishing_ = true;
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
    stops.add(digests_.onEmpty());  // every digest recorded before run.end
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
  std::vector<bool> failedUpstream_;  // failed, or skipped because something upstream failed
  std::vector<std::optional<std::chrono::steady_clock::time_point>> deadlines_;  // timeout_ms
  std::deque<size_t> decisions_;           // steps whose dependencies have all ended
  std::vector<WorkerHandle*> finishedOn_;  // a succeeded step's worker, until its end is recorded
  bool propagating_ = false;
  bool finishing_ = false;
  std::vector<ArtifactMap> outputs_;
  std::vector<StepReport> reports_;
  std::vector<unsigned> restarts_;                                  // per plugin, this run
  std::vector<std::set<std::pair<size_t, size_t>>> readyByPlugin_;  // (position, step)
  std::vector<size_t> position_;  // each step's place in the graph's topological order
  std::vector<bool> replayable_;  // resumed: ended before, taken as it ended
  // cache: true steps that took an earlier result: their outputs' digests (nothing ran).
  std::vector<std::optional<std::map<std::string, std::string>>> cacheHits_;
  // SHA-256 of the artifacts hashed so far (stored outputs, inputs), so no step hashes one twice.
  KnownDigests knownDigests_;
  std::vector<std::unique_ptr<WorkerPool>> pools_;
  ArtifactStore store_;
  RunReport report_;
  std::chrono::steady_clock::time_point started_;
  size_t running_ = 0;
  bool dispatching_ = false;
  std::string stopReason_;  // inputs unreadable, --fail-fast
  kj::Maybe<kj::ForkedPromise<int>> signal_;
  std::optional<int> received_;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> allSettled_;
  kj::TaskSet digests_{*this};  // outputs being hashed off the event loop
  kj::TaskSet tasks_;           // declared last: destroyed first, before the pools its steps use
};

}  // namespace

kj::Promise<RunReport> runPlan(const EngineContext& context, const RunPlan& plan,
                               const EngineOptions& options) {
  auto run = kj::heap<DagRun>(context, plan, options);
  DagRun& ref = *run;
  return ref.run().attach(kj::mv(run));
}

}  // namespace cordon
