#include "worker/worker_handle.h"

#include "worker/recorded_stream.h"

#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <variant>

#include "batched_write_stream.h"
#include "read_buffered_stream.h"
#include "worker/code_mappings.h"
#include "worker/exit_classifier.h"
#include "worker/host_service.h"
#include "worker/sandbox_spec_builder.h"

namespace cordon {
namespace {

// How a call ended, before it is turned into an Outcome.
struct TimedOut {};
template <typename T>
using CallEnd = std::variant<Outcome<T>, kj::Exception, TimedOut>;

// A worker that lost its connection normally exits within milliseconds; one that does not is
// killed after this long.
constexpr std::chrono::milliseconds kExitGrace{2000};

// Resolves once `delay` of real time has passed from now. kj's timer measures from the time of
// the event loop's last turn, which is stale after long synchronous work (reading a large input,
// verifying a large audit log): a budget taken from it would be silently shortened. So the
// deadline is fixed on the steady clock and re-armed until it has really passed.
kj::Promise<void> realDelay(kj::Timer& timer, std::chrono::steady_clock::time_point end) {
  auto now = std::chrono::steady_clock::now();
  if (now >= end) return kj::READY_NOW;
  auto remaining = std::chrono::duration_cast<std::chrono::nanoseconds>(end - now).count();
  return timer.afterDelay(remaining * kj::NANOSECONDS).then([&timer, end]() {
    return realDelay(timer, end);
  });
}

kj::Promise<void> realDelay(kj::Timer& timer, std::chrono::milliseconds delay) {
  return realDelay(timer, std::chrono::steady_clock::now() + delay);
}

capnp::ReaderOptions readerOptionsFor(const PluginPolicy& policy) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = maxRpcMessageWords(policy);
  return options;
}

void setConfig(capnp::List<ipc::KeyValue>::Builder list, const KeyValues& config) {
  for (unsigned i = 0; i < config.size(); ++i) {
    list[i].setKey(config[i].first);
    list[i].setValue(config[i].second);
  }
}

// Whether this process, and so every worker it starts (they inherit its affinity), may run on
// one CPU only.
bool confinedToOneCpu() {
  static const bool oneCpu = [] {
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) == 1;
  }();
  return oneCpu;
}

// How the supervisor writes a worker's socket (read buffered below, in both cases).
// - On one CPU, a Finish or a Release waits for the next message or the turn's end. Sent alone,
//   between a call's Return and the next call's audit record and Call, it woke the worker once
//   more for about half the calls of cordon-bench: a context switch there and back. Held, a
//   gated call went from 1.12-1.15x to 0.89-0.90x a bare Cap'n Proto call, and under load from
//   1.40-1.46x to 1.09-1.11x (2026-12-07, three paired runs).
// - On more CPUs, each message goes at once. The early Finish then wakes the worker on another
//   CPU while this one writes the next call's record, which hides the worker's wake-up. On two
//   cores with two busy threads beside them, a call took 97-133 us in eight of ten runs with
//   the Finish held, against 72-76 us in nine of ten sent at once; unloaded, 3 us more. Keeping
//   every message to the turn's end, as the worker does, cost a lone call about 20 us, for
//   10-20 % more pipelined calls a second.
kj::Own<kj::AsyncIoStream> writtenForThisHost(kj::Own<kj::AsyncIoStream> socket) {
  if (!confinedToOneCpu()) return socket;
  return kj::heap<protocol::BatchedWriteStream>(
      kj::mv(socket), protocol::BatchedWriteStream::Keep::kUnansweredOnly);
}

}  // namespace

WorkerHandle::WorkerHandle(kj::AsyncIoContext& io, const RunEvents& events,
                           const WorkerLaunch& launch, std::unique_ptr<WorkerCgroup> cgroup,
                           std::unique_ptr<WorkerProcess> process)
    : io_(io),
      events_(events),
      pluginName_(launch.pluginName),
      pluginVersion_(launch.version),
      policy_(*launch.policy),
      gate_(*launch.policy, events),
      cgroup_(std::move(cgroup)),
      process_(std::move(process)),
      stream_(recordedStream(
          writtenForThisHost(kj::heap<protocol::ReadBufferedStream>(process_->takeRpcStream())),
          events)),
      network_(kj::heap<capnp::TwoPartyVatNetwork>(*stream_, capnp::rpc::twoparty::Side::CLIENT,
                                                   readerOptionsFor(policy_))),
      rpc_(kj::heap(capnp::makeRpcClient(*network_))),
      currentScope_(std::make_shared<std::shared_ptr<CallScope>>()),
      plugin_(nullptr) {
  capnp::word scratch[4] = {};
  capnp::MallocMessageBuilder message(scratch);
  auto vatId = message.getRoot<capnp::rpc::twoparty::VatId>();
  vatId.setSide(capnp::rpc::twoparty::Side::SERVER);
  plugin_ = gate_.guard(rpc_->bootstrap(vatId), currentScope_).castAs<ipc::Plugin>();
  SyscallListener::Context context;
  context.gate = &gate_;
  context.plugin = pluginName_;
  context.pid = process_->pid();
  context.currentCall = [this]() { return currentScope_->get(); };
  context.loading = [this]() { return loading_; };
  context.refuse = [this](const SyscallViolation& violation) {
    if (std::holds_alternative<std::monostate>(killed_)) killed_ = KilledForSyscall{violation};
    process_->kill();
  };
  syscallWatch_ = process_->receiveSeccompListener()
                      .then([this, context = std::move(context)](kj::AutoCloseFd listener) mutable {
                        syscalls_ = std::make_unique<SyscallListener>(
                            io_.unixEventPort, kj::mv(listener), std::move(context));
                        return syscalls_->watch();
                      })
                      .eagerlyEvaluate([](kj::Exception&&) {
                        // The worker died before installing its filter: its exit says why.
                      });
}

WorkerHandle::~WorkerHandle() = default;

kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> WorkerHandle::start(
    kj::AsyncIoContext& io, const RunEvents& events, const WorkerLaunch& launch) {
  using Started = Outcome<std::unique_ptr<WorkerHandle>>;
  // cgroup v2 limits when the machine delegates a tree; otherwise the rlimits stand alone.
  std::string cgroupNote = "none: " + launch.noCgroupReason;
  std::unique_ptr<WorkerCgroup> cgroup;
  if (CgroupTree* tree = launch.cgroups) {
    const ResourceLimits& limits = launch.policy->limits;
    auto created =
        tree->create(launch.pluginName, {limits.memoryBytes, limits.processes, limits.cpuPercent});
    if (!created.ok()) {  // a tree that cannot hold this worker's limits: fail closed
      events.emit(WorkerStartFailed{launch.pluginName, created.error().message});
      return Started(created.error());
    }
    cgroup = std::move(created.value());
    cgroupNote = cgroup->path();
  }
  const auto began = std::chrono::steady_clock::now();
  auto process = WorkerProcess::spawn(io, launch.workerBinary, launch.sandboxSpec, launch.pluginFd,
                                      cgroup ? cgroup->fd() : -1);
  if (!process.ok()) {
    events.emit(WorkerStartFailed{launch.pluginName, process.error().message});
    return Started(process.error());
  }
  std::unique_ptr<WorkerHandle> handle(
      new WorkerHandle(io, events, launch, std::move(cgroup), std::move(process.value())));
  WorkerStarted started{launch.pluginName,
                        launch.pluginPath,
                        launch.digest,
                        handle->pid(),
                        launch.policy->limits.memoryBytes,
                        launch.policy->limits.cpuSeconds,
                        cgroupNote,
                        launch.policy->dangerModes()};
  if (auto failure = events.emit(started)) {  // a worker the log does not know of must not run
    handle->broken_ = true;
    handle->process_->kill();
    return abandon(std::move(handle), *failure);
  }
  WorkerHandle& ref = *handle;
  return ref.describe().then([handle = std::move(handle), began](
                                 Outcome<PluginIdentity> identity) mutable -> kj::Promise<Started> {
    if (!identity.ok()) return abandon(std::move(handle), identity.error());
    handle->identity_ = identity.value();
    handle->events_.emit(handle->startPhases(began));
    return Started(std::move(handle));
  });
}

WorkerReady WorkerHandle::startPhases(std::chrono::steady_clock::time_point began) {
  using Clock = std::chrono::steady_clock;
  const auto answered = Clock::now();
  WorkerReady ready{pluginName_, pid(), began, {}, 0};
  ready.totalSeconds = std::chrono::duration<double>(answered - began).count();
  // steady_clock is CLOCK_MONOTONIC here, the clock the worker stamped its setup with. Each
  // stamp is clamped between the one before it and the reply, so a bad one (the load's is the
  // plugin's word) shifts time between phases but cannot invent or lose any.
  const protocol::SetupTimes& times = process_->setupTimes();
  const std::optional<uint64_t> loaded = process_->takeLoadedTime();
  const uint64_t start = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(began.time_since_epoch()).count());
  const uint64_t end = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(answered.time_since_epoch()).count());
  if (times.entered == 0) {  // no stamps: the start is one phase
    ready.phaseSeconds = {{"first_reply", ready.totalSeconds}};
    return ready;
  }
  const std::pair<const char*, uint64_t> stamps[] = {{"spawn", times.entered},
                                                     {"namespaces", times.namespaces},
                                                     {"root_filesystem", times.rootFilesystem},
                                                     {"seccomp", times.filtered},
                                                     {"load", loaded.value_or(times.filtered)},
                                                     {"first_reply", end}};
  uint64_t previous = start;
  for (const auto& [phase, stamp] : stamps) {
    const uint64_t at = std::clamp(stamp, previous, end);
    ready.phaseSeconds.emplace_back(phase, static_cast<double>(at - previous) / 1e9);
    previous = at;
  }
  return ready;
}

kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> WorkerHandle::abandon(
    std::unique_ptr<WorkerHandle> handle, const Error& error) {
  WorkerHandle& doomed = *handle;
  return doomed.stop().then([handle = std::move(handle), error]() mutable {
    // When the worker ended with a fault (W^X after loading, a crash), that is why it failed.
    auto fault = handle->reap("", CallEnding::kNone, "");
    return fault.then([handle = std::move(handle), error](std::optional<Error> fault) mutable {
      return Outcome<std::unique_ptr<WorkerHandle>>(fault ? *fault : error);
    });
  });
}

std::shared_ptr<CallScope> WorkerHandle::beginCall(const std::string& step, PluginMethod method) {
  auto scope = std::make_shared<CallScope>();
  scope->plugin = pluginName_;
  scope->step = step;
  scope->method = method;
  // The gate's membrane reads the current scope when a request is sent, so it is set here,
  // before the request is built, not when its promise is guarded.
  *currentScope_ = scope;
  return scope;
}

template <typename T>
kj::Promise<Outcome<T>> WorkerHandle::guarded(const std::shared_ptr<CallScope>& scope,
                                              kj::Promise<Outcome<T>> call,
                                              std::optional<std::chrono::milliseconds> budget) {
  const bool stepsOwn = budget && *budget < policy_.callTimeout;
  const auto limit = stepsOwn ? *budget : policy_.callTimeout;
  auto ended = call.then([](Outcome<T> result) { return CallEnd<T>(std::move(result)); },
                         [](kj::Exception&& e) { return CallEnd<T>(kj::mv(e)); });
  auto deadline =
      realDelay(io_.provider->getTimer(), limit).then([]() { return CallEnd<T>(TimedOut{}); });
  return ended.exclusiveJoin(kj::mv(deadline))
      .then([this, scope, limit, stepsOwn](CallEnd<T> end) -> kj::Promise<Outcome<T>> {
        gate_.closeScope(*scope);  // revokes the Host capability handed out for this call
        if (auto* result = std::get_if<Outcome<T>>(&end)) return std::move(*result);
        if (std::holds_alternative<TimedOut>(end)) {
          broken_ = true;
          if (std::holds_alternative<std::monostate>(killed_))
            killed_ = KilledForTimeout{limit, stepsOwn};
          process_->kill();
          return collectDeath(scope->step, nullptr).then([](Error e) { return Outcome<T>(e); });
        }
        kj::Exception& exception = std::get<kj::Exception>(end);
        if (scope->firstDenial && exception.getType() != kj::Exception::Type::DISCONNECTED) {
          return Outcome<T>(*scope->firstDenial);  // the gate refused the call; the worker is fine
        }
        broken_ = true;
        return collectDeath(scope->step, kj::mv(exception)).then([](Error e) {
          return Outcome<T>(e);
        });
      })
      .then([this, scope, started = std::chrono::steady_clock::now()](Outcome<T> result) {
        CallFinished finished{
            pluginName_,
            scope->step,
            pluginMethodName(scope->method),
            process_->pid(),
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count(),
            std::nullopt,
            {}};
        if (!result.ok()) finished.error = result.error();
        for (const auto& [capability, bytes] : scope->bytesUsed)
          finished.hostBytes[hostCapabilityName(capability)] = bytes;
        events_.emit(finished);
        return result;
      });
}

kj::Promise<Error> WorkerHandle::collectDeath(const std::string& step,
                                              kj::Maybe<kj::Exception> cause) {
  CallEnding call = CallEnding::kDisconnected;
  std::string causeText;
  KJ_IF_MAYBE (e, cause) {
    if (e->getType() != kj::Exception::Type::DISCONNECTED) call = CallEnding::kRejected;
    causeText = e->getDescription().cStr();
  }
  // A worker that is still connected but sent something the RPC layer rejected is stopped now.
  if (call == CallEnding::kRejected) process_->kill();
  return reap(step, call, causeText).then([step](std::optional<Error> fault) {
    // After a failed call the classifier always names a fault; a crash if nothing else.
    return fault ? *fault
                 : makeError(ErrorCategory::kCrash, "the worker died mid-call").withStep(step);
  });
}

WorkerPhase WorkerHandle::phase() const {
  if (!process_->sandboxComplete()) return WorkerPhase::kSettingUp;
  return loading_ ? WorkerPhase::kLoading : WorkerPhase::kServing;
}

kj::Promise<std::optional<Error>> WorkerHandle::reap(const std::string& step, CallEnding call,
                                                     const std::string& rpcCause) {
  KJ_IF_MAYBE (reaping, reaped_) {
    return reaping->addBranch();
  }
  auto lingered = std::make_shared<bool>(false);
  auto grace = realDelay(io_.provider->getTimer(), kExitGrace).then([this, lingered]() {
    *lingered = true;
    process_->kill();
    return process_->exited();
  });
  auto reaping =
      process_->exited()
          .exclusiveJoin(kj::mv(grace))
          .then([this, step, call, rpcCause, lingered](WorkerExit exit) -> std::optional<Error> {
            WorkerEnding ending;
            ending.phase = phase();
            ending.killed = killed_;
            ending.call = call;
            ending.rpcCause = rpcCause;
            ending.lingered = *lingered;
            ending.oomKilled =
                cgroup_ && exit.signaled && exit.code == SIGKILL && cgroup_->oomKilled();
            WorkerStopped stopped{pluginName_,     step,           process_->pid(),
                                  exit.describe(), exit.maxRssKib, exit.cpuSeconds,
                                  std::nullopt};
            ending.exit = std::move(exit);
            stopped.fault = classifyWorkerExit(ending, policy_);
            events_.emit(stopped);
            if (!stopped.fault) return std::nullopt;
            return std::move(stopped.fault->error).withStep(step);
          })
          .fork();
  auto branch = reaping.addBranch();
  reaped_ = kj::mv(reaping);
  return branch;
}

Error WorkerHandle::resultError(const CallScope& scope, ipc::CallResult::Reader result) {
  std::string message = result.getMessage();
  if (message.empty()) message = "(no message)";
  if (scope.firstDenial) {
    // The plugin failed after the gate refused it something: the refusal is the cause.
    Error error = *scope.firstDenial;
    error.message += "; the plugin then failed: " + message;
    return error;
  }
  switch (result.getStatus()) {
    case ipc::Status::DENIED:
      return makeError(ErrorCategory::kPolicyDenial, message);
    case ipc::Status::RESOURCE_LIMIT:
      return makeError(ErrorCategory::kResourceLimit, message);
    case ipc::Status::BAD_INPUT:
      return makeError(ErrorCategory::kBadInput, message);
    default:
      return makeError(ErrorCategory::kPluginError, message);
  }
}

kj::Promise<Outcome<PluginIdentity>> WorkerHandle::describe() {
  auto scope = beginCall("", PluginMethod::kDescribe);
  auto call = plugin_.describeRequest().send().then(
      [this](capnp::Response<ipc::Plugin::DescribeResults> response) -> Outcome<PluginIdentity> {
        // The worker answers only once dlopen and the constructors are done: loading is over,
        // and the syscalls the loader needed are violations from now on.
        loading_ = false;
        if (!policy_.dangerWXorXOff) {
          if (auto code = findWritableOrAnonymousCode(process_->pid())) {
            // The classifier names the violation when the worker is reaped (start, abandon).
            broken_ = true;
            if (std::holds_alternative<std::monostate>(killed_)) killed_ = KilledForCode{*code};
            process_->kill();
            return makeError(ErrorCategory::kSandboxViolation, "W^X: " + *code);
          }
        }
        auto info = response.getInfo();
        PluginIdentity identity{info.getName(), info.getVersion(), info.getDescription()};
        if (identity.name != pluginName_) {
          return makeError(ErrorCategory::kBadInput, "the plugin file for '" + pluginName_ +
                                                         "' declares itself as '" + identity.name +
                                                         "'");
        }
        if (!pluginVersion_.empty() && identity.version != pluginVersion_) {
          return makeError(ErrorCategory::kBadInput,
                           "plugin '" + pluginName_ + "' declares version " + identity.version +
                               ", but its signed manifest says " + pluginVersion_);
        }
        return identity;
      });
  return guarded(scope, kj::mv(call));
}

kj::Promise<Outcome<Done>> WorkerHandle::init(const KeyValues& config) {
  auto scope = beginCall("", PluginMethod::kInit);
  auto request = plugin_.initRequest();
  setConfig(request.initConfig(static_cast<unsigned>(config.size())), config);
  request.setHost(kj::heap<HostService>(gate_, scope, ArtifactMap{}, events_));
  auto call = request.send().then(
      [this, scope](capnp::Response<ipc::Plugin::InitResults> response) -> Outcome<Done> {
        if (response.getResult().getStatus() != ipc::Status::OK) {
          return resultError(*scope, response.getResult());
        }
        return Done{};
      });
  return guarded(scope, kj::mv(call));
}

kj::Promise<Outcome<ArtifactMap>> WorkerHandle::execute(
    const std::string& step, const KeyValues& config, const ArtifactMap& inputs,
    std::optional<std::chrono::milliseconds> budget) {
  auto scope = beginCall(step, PluginMethod::kExecute);
  auto request = plugin_.executeRequest();
  setConfig(request.initConfig(static_cast<unsigned>(config.size())), config);
  auto infos = request.initInputs(static_cast<unsigned>(inputs.size()));
  unsigned i = 0;
  for (const auto& [name, data] : inputs) {
    infos[i].setName(name);
    infos[i].setSize(data->size());
    ++i;
  }
  auto buffers = std::make_shared<OutputBuffers>();
  request.setHost(kj::heap<HostService>(
      gate_, scope, inputs, events_,
      [process = process_.get()](int fd, uint64_t token) {
        return process->sendDescriptor(fd, token);
      },
      buffers));
  auto call = request.send().then(
      [this, scope,
       buffers](capnp::Response<ipc::Plugin::ExecuteResults> response) -> Outcome<ArtifactMap> {
        if (response.getResult().getStatus() != ipc::Status::OK) {
          return std::move(resultError(*scope, response.getResult())).withStep(scope->step);
        }
        ArtifactMap outputs;
        uint64_t total = 0;
        for (auto output : response.getOutputs()) {
          std::string name = output.getName();
          if (!isOutputName(name) || outputs.count(name) != 0) {
            return makeError(ErrorCategory::kPluginError,
                             "output name '" + name.substr(0, 64) + "' is invalid or repeated")
                .withStep(scope->step);
          }
          if (output.getInPlace()) {
            // Written into a memfd this call's Host gave out: sealed now, before anyone sees it.
            auto buffer = buffers->find(name);
            if (buffer == buffers->end()) {
              return makeError(ErrorCategory::kProtocolError,
                               "output '" + name +
                                   "' is said to be in place, but no memfd was "
                                   "created for it")
                  .withStep(scope->step);
            }
            auto sealed = sealOutputMemfd(buffer->second.release());
            buffers->erase(buffer);
            if (!sealed.ok()) return std::move(sealed.error()).withStep(scope->step);
            total += sealed.value()->size();
            outputs[name] = std::move(sealed.value());
            continue;
          }
          auto data = output.getData();
          total += data.size();
          // A large one becomes a sealed memfd at once: the message's copy is the only one.
          auto kept = makeSealedArtifact(
              std::string_view(reinterpret_cast<const char*>(data.begin()), data.size()));
          if (!kept.ok()) return std::move(kept.error()).withStep(scope->step);
          outputs[name] = std::move(kept.value());
        }
        if (auto denial = gate_.admitOutputs(*scope, outputs.size(), total)) return *denial;
        return outputs;
      });
  return guarded(scope, kj::mv(call), budget).then([step](Outcome<ArtifactMap> result) {
    if (!result.ok() && result.error().step.empty()) result.error().step = step;
    return result;
  });
}

kj::Promise<void> WorkerHandle::kill() {
  if (reaped_ != nullptr) return stop();
  broken_ = true;
  process_->kill();
  return stop();
}

kj::Promise<void> WorkerHandle::stop() {
  KJ_IF_MAYBE (reaping, reaped_) {
    return reaping->addBranch().ignoreResult();
  }
  kj::Promise<void> farewell = kj::READY_NOW;
  if (!broken_) {
    auto scope = beginCall("", PluginMethod::kShutdown);
    auto call = plugin_.shutdownRequest().send().then(
        [](capnp::Response<ipc::Plugin::ShutdownResults>) -> Outcome<Done> { return Done{}; });
    farewell = guarded(scope, kj::mv(call)).ignoreResult();
  }
  return farewell.then([this]() -> kj::Promise<void> {
    // Dropping the connection is the worker's signal to exit. (When the shutdown call itself
    // found the worker dead, it is reaped already and reap() gives that result.)
    plugin_ = nullptr;
    rpc_ = nullptr;
    network_ = nullptr;
    stream_ = nullptr;
    return reap("", CallEnding::kNone, "").ignoreResult();
  });
}

}  // namespace cordon
