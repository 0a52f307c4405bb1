#include "worker/worker_handle.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>
#include <variant>

#include "core/untrusted_text.h"
#include "policy/seccomp_compiler.h"
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

bool isOutputName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

}  // namespace

WorkerHandle::WorkerHandle(kj::AsyncIoContext& io, AuditLog& audit, const RunEvents& events,
                           const WorkerLaunch& launch, std::unique_ptr<WorkerCgroup> cgroup,
                           std::unique_ptr<WorkerProcess> process)
    : io_(io),
      audit_(audit),
      events_(events),
      pluginName_(launch.pluginName),
      policy_(*launch.policy),
      gate_(*launch.policy, audit),
      cgroup_(std::move(cgroup)),
      process_(std::move(process)),
      stream_(process_->takeRpcStream()),
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
  syscallWatch_ = process_->receiveSeccompListener()
                      .then([this](kj::AutoCloseFd listener) {
                        seccompListener_ = kj::mv(listener);
                        listenerObserver_ = kj::heap<kj::UnixEventPort::FdObserver>(
                            io_.unixEventPort, seccompListener_.get(),
                            kj::UnixEventPort::FdObserver::OBSERVE_READ);
                        return watchSyscalls();
                      })
                      .eagerlyEvaluate([](kj::Exception&&) {
                        // The worker died before installing its filter: its exit says why.
                      });
}

kj::Promise<void> WorkerHandle::watchSyscalls() {
  // The observer is edge-triggered: drain what is pending before waiting for more.
  for (;;) {
    struct pollfd probe {
      seccompListener_.get(), POLLIN, 0
    };
    if (poll(&probe, 1, 0) != 1) break;
    if ((probe.revents & POLLIN) == 0) return kj::READY_NOW;  // hung up: the worker is gone
    answerSyscall();
  }
  return listenerObserver_->whenBecomesReadable().then([this]() { return watchSyscalls(); });
}

void WorkerHandle::answerSyscall() {
  struct seccomp_notif request {};
  if (ioctl(seccompListener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) return;  // it died
  int number = request.data.nr;
  CallScope outsideAnyCall(pluginName_, "", PluginMethod::kDescribe);
  CallScope& scope = *currentScope_ ? **currentScope_ : outsideAnyCall;
  uint64_t args[6];
  std::copy(std::begin(request.data.args), std::end(request.data.args), std::begin(args));
  auto decision = gate_.admitSyscall(scope, loading_, number, args);
  if (decision.kind == Gate::SyscallDecision::Kind::kOpenOnHost) {
    openOnHost(request, scope);
    return;
  }
  if (decision.kind != Gate::SyscallDecision::Kind::kStopWorker) {
    struct seccomp_notif_resp response {};
    response.id = request.id;
    if (decision.kind == Gate::SyscallDecision::Kind::kAllow) {
      response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
      response.error = -decision.error;
    }
    ioctl(seccompListener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response);
    return;
  }
  // Refused: the worker stays blocked in the syscall until it is killed, so it cannot go on.
  SyscallViolation violation{number, syscallName(number), {}};
  std::copy(std::begin(request.data.args), std::end(request.data.args), violation.args.begin());
  if (!violation_) violation_ = violation;
  process_->kill();
}

namespace {

// A NUL-terminated string from the worker's memory (at most PATH_MAX bytes), read page by page
// so a string near the end of a mapping still reads. The supervisor owns the worker's user
// namespace, so it may read its memory although the worker is not dumpable.
std::string readWorkerString(pid_t pid, uint64_t address) {
  std::string text;
  while (text.size() < PATH_MAX) {
    char chunk[4096];
    const size_t toPageEnd = 4096 - (address % 4096);
    iovec local{chunk, toPageEnd};
    iovec remote{reinterpret_cast<void*>(address), toPageEnd};  // NOLINT(performance-no-int-to-ptr)
    ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (got <= 0) return "";
    size_t length = strnlen(chunk, static_cast<size_t>(got));
    text.append(chunk, length);
    if (length < static_cast<size_t>(got)) return text;
    address += static_cast<uint64_t>(got);
  }
  return "";  // longer than PATH_MAX: not a path
}

}  // namespace

void WorkerHandle::openOnHost(const seccomp_notif& request, CallScope& scope) {
  struct seccomp_notif_resp response {};
  response.id = request.id;
  const int dirfd = static_cast<int>(request.data.args[0]);
  std::string path = readWorkerString(pid(), request.data.args[1]);
  // The worker's working directory is the root of its own tree; other directory descriptors
  // cannot be resolved from here.
  if (!path.empty() && path[0] != '/') path = dirfd == AT_FDCWD ? "/" + path : "";
  // The worker could have changed the string since; the answer is only for a call still waiting.
  uint64_t id = request.id;
  if (ioctl(seccompListener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return;
  auto decision = gate_.learnOpen(scope, path, request.data.args[2]);
  if (decision.kind == Gate::SyscallDecision::Kind::kOpenOnHost) {
    const auto flags = static_cast<int>(request.data.args[2]);
    kj::AutoCloseFd file(
        open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & O_DIRECTORY)));
    if (file.get() >= 0) {
      struct seccomp_notif_addfd addfd {};
      addfd.id = request.id;
      addfd.flags = SECCOMP_ADDFD_FLAG_SEND;  // installs it and completes the openat with it
      addfd.srcfd = static_cast<uint32_t>(file.get());
      addfd.newfd_flags = static_cast<uint32_t>(flags & O_CLOEXEC);
      if (ioctl(seccompListener_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) >= 0) return;
    }
    decision = {Gate::SyscallDecision::Kind::kFailWithErrno, errno};
  }
  response.error = -decision.error;
  ioctl(seccompListener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response);
}

WorkerHandle::~WorkerHandle() = default;

kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> WorkerHandle::start(
    kj::AsyncIoContext& io, AuditLog& audit, const RunEvents& events, const WorkerLaunch& launch) {
  // cgroup v2 limits when the machine delegates a tree; otherwise the rlimits stand alone.
  std::string cgroupNote = launch.noCgroupReason;
  std::unique_ptr<WorkerCgroup> cgroup;
  if (CgroupTree* tree = launch.cgroups) {
    const ResourceLimits& limits = launch.policy->limits;
    auto created =
        tree->create(launch.pluginName, {limits.memoryBytes, limits.processes, limits.cpuPercent});
    if (!created.ok()) {  // a tree that cannot hold this worker's limits: fail closed
      audit.record("plugin.start_failed",
                   {{"plugin", launch.pluginName}, {"reason", created.error().message}});
      return Outcome<std::unique_ptr<WorkerHandle>>(created.error());
    }
    cgroup = std::move(created.value());
    cgroupNote = cgroup->path();
  } else {
    cgroupNote = "none: " + cgroupNote;
  }
  auto process = WorkerProcess::spawn(io, launch.workerBinary, launch.sandboxSpec, launch.pluginFd,
                                      cgroup ? cgroup->fd() : -1);
  if (!process.ok()) {
    audit.record("plugin.start_failed",
                 {{"plugin", launch.pluginName}, {"reason", process.error().message}});
    return Outcome<std::unique_ptr<WorkerHandle>>(process.error());
  }
  std::unique_ptr<WorkerHandle> handle(
      new WorkerHandle(io, audit, events, launch, std::move(cgroup), std::move(process.value())));
  nlohmann::json started = {{"plugin", launch.pluginName},
                            {"path", launch.pluginPath},
                            {"digest", launch.digest},
                            {"pid", handle->pid()},
                            {"memory_bytes", launch.policy->limits.memoryBytes},
                            {"cpu_seconds", launch.policy->limits.cpuSeconds},
                            {"cgroup", cgroupNote}};
  // A weakened sandbox says so where every start is recorded.
  if (auto danger = launch.policy->dangerModes(); !danger.empty()) started["danger"] = danger;
  audit.record("plugin.start", std::move(started));
  WorkerHandle& ref = *handle;
  return ref.describe().then([handle = std::move(handle)](Outcome<PluginIdentity> identity) mutable
                             -> kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> {
    if (!identity.ok()) {
      Error error = identity.error();
      WorkerHandle& doomed = *handle;
      return doomed.stop().then([handle = std::move(handle), error]() mutable {
        return Outcome<std::unique_ptr<WorkerHandle>>(error);
      });
    }
    handle->identity_ = identity.value();
    return Outcome<std::unique_ptr<WorkerHandle>>(std::move(handle));
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
                                              kj::Promise<Outcome<T>> call) {
  auto ended = call.then([](Outcome<T> result) { return CallEnd<T>(std::move(result)); },
                         [](kj::Exception&& e) { return CallEnd<T>(kj::mv(e)); });
  auto deadline = realDelay(io_.provider->getTimer(), policy_.callTimeout).then([]() {
    return CallEnd<T>(TimedOut{});
  });
  return ended.exclusiveJoin(kj::mv(deadline))
      .then([this, scope](CallEnd<T> end) -> kj::Promise<Outcome<T>> {
        gate_.closeScope(*scope);  // revokes the Host capability handed out for this call
        if (auto* result = std::get_if<Outcome<T>>(&end)) return std::move(*result);
        if (std::holds_alternative<TimedOut>(end)) {
          broken_ = true;
          process_->kill();
          return collectDeath(scope->step, true, nullptr).then([](Error e) {
            return Outcome<T>(e);
          });
        }
        kj::Exception& exception = std::get<kj::Exception>(end);
        if (scope->firstDenial && exception.getType() != kj::Exception::Type::DISCONNECTED) {
          return Outcome<T>(*scope->firstDenial);  // the gate refused the call; the worker is fine
        }
        broken_ = true;
        return collectDeath(scope->step, false, kj::mv(exception)).then([](Error e) {
          return Outcome<T>(e);
        });
      });
}

kj::Promise<Error> WorkerHandle::collectDeath(const std::string& step, bool killedForTimeout,
                                              kj::Maybe<kj::Exception> cause) {
  bool disconnected = true;
  std::string causeText;
  KJ_IF_MAYBE (e, cause) {
    disconnected = e->getType() == kj::Exception::Type::DISCONNECTED;
    causeText = e->getDescription().cStr();
  }
  // A worker that is still connected but sent something the RPC layer rejected is stopped now.
  if (!disconnected) process_->kill();
  // kj reports a message it could not parse as a DISCONNECTED exception too, so a dead
  // connection alone does not say who broke it. A worker that crashed or was stopped by the
  // sandbox is gone within milliseconds; one that is still there after the grace period lost its
  // connection because the supervisor dropped it for a protocol violation.
  auto lingered = std::make_shared<bool>(false);
  auto grace = realDelay(io_.provider->getTimer(), kExitGrace).then([this, lingered]() {
    *lingered = true;
    process_->kill();
    return process_->exited();
  });
  return process_->exited()
      .exclusiveJoin(kj::mv(grace))
      .then([this, step, killedForTimeout, disconnected, causeText, lingered](WorkerExit exit) {
        const WorkerPhase phase = !process_->sandboxComplete() ? WorkerPhase::kSettingUp
                                  : loading_                   ? WorkerPhase::kLoading
                                                               : WorkerPhase::kServing;
        ExitVerdict verdict =
            classifyWorkerExit(exit, policy_, killedForTimeout, violation_, phase);
        if (!killedForTimeout && !violation_ && exit.signaled && exit.code == SIGKILL && cgroup_ &&
            cgroup_->oomKilled()) {
          // Killed by the kernel at memory.max (only with a delegated cgroup v2 tree).
          verdict.error = makeError(ErrorCategory::kResourceLimit,
                                    "the worker reached its cgroup memory.max (" +
                                        std::to_string(policy_.limits.memoryBytes >> 20) +
                                        " MiB) and the kernel's cgroup OOM killer stopped it");
          verdict.auditEvent = "resource.limit";
          verdict.auditFields = {{"category", "resource_limit"},
                                 {"limit", "memory.max"},
                                 {"detail", verdict.error.message}};
        }
        bool cleanExit = !exit.signaled && exit.code == 0;
        if (!killedForTimeout && !violation_ && (!disconnected || *lingered || cleanExit)) {
          verdict.error = makeError(ErrorCategory::kProtocolError,
                                    "the worker broke the RPC contract: " + causeText);
          verdict.auditEvent = "protocol.error";
          verdict.auditFields["category"] = "protocol_error";
          verdict.auditFields["detail"] = verdict.error.message;
        }
        verdict.auditFields["plugin"] = pluginName_;
        verdict.auditFields["step"] = step;
        verdict.auditFields["pid"] = process_->pid();
        audit_.record(verdict.auditEvent, verdict.auditFields);
        audit_.record("plugin.stop", {{"plugin", pluginName_},
                                      {"pid", process_->pid()},
                                      {"exit", exit.describe()},
                                      {"max_rss_kib", exit.maxRssKib},
                                      {"cpu_seconds", exit.cpuSeconds}});
        stopped_ = true;
        return std::move(verdict.error).withStep(step);
      });
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
            broken_ = true;
            process_->kill();
            const std::string reason =
                "after loading, the worker holds code that was not mapped from a file or is "
                "writable (W^X): " +
                *code;
            nlohmann::json fields = {{"plugin", pluginName_},
                                     {"pid", process_->pid()},
                                     {"category", "sandbox_violation"}};
            setUntrusted(fields, "mapping", *code);
            setUntrusted(fields, "detail", reason);
            audit_.record("sandbox.violation", std::move(fields));
            return makeError(ErrorCategory::kSandboxViolation, reason);
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

kj::Promise<Outcome<ArtifactMap>> WorkerHandle::execute(const std::string& step,
                                                        const KeyValues& config,
                                                        const ArtifactMap& inputs) {
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
  request.setHost(kj::heap<HostService>(gate_, scope, inputs, events_));
  auto call = request.send().then(
      [this, scope](capnp::Response<ipc::Plugin::ExecuteResults> response) -> Outcome<ArtifactMap> {
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
          auto data = output.getData();
          total += data.size();
          outputs[name] =
              makeArtifact(std::string(reinterpret_cast<const char*>(data.begin()), data.size()));
        }
        if (auto denial = gate_.admitOutputs(*scope, outputs.size(), total)) return *denial;
        return outputs;
      });
  return guarded(scope, kj::mv(call)).then([step](Outcome<ArtifactMap> result) {
    if (!result.ok() && result.error().step.empty()) result.error().step = step;
    return result;
  });
}

kj::Promise<void> WorkerHandle::kill() {
  if (stopped_) return kj::READY_NOW;
  broken_ = true;
  process_->kill();
  return stop();
}

kj::Promise<void> WorkerHandle::stop() {
  if (stopped_) return kj::READY_NOW;
  kj::Promise<void> farewell = kj::READY_NOW;
  if (!broken_) {
    auto scope = beginCall("", PluginMethod::kShutdown);
    auto call = plugin_.shutdownRequest().send().then(
        [](capnp::Response<ipc::Plugin::ShutdownResults>) -> Outcome<Done> { return Done{}; });
    farewell = guarded(scope, kj::mv(call)).ignoreResult();
  }
  return farewell.then([this]() -> kj::Promise<void> {
    if (stopped_) return kj::READY_NOW;  // the shutdown call itself found the worker dead
    stopped_ = true;
    // Dropping the connection is the worker's signal to exit.
    plugin_ = nullptr;
    rpc_ = nullptr;
    network_ = nullptr;
    stream_ = nullptr;
    auto grace = realDelay(io_.provider->getTimer(), kExitGrace).then([this]() {
      process_->kill();
      return process_->exited();
    });
    return process_->exited().exclusiveJoin(kj::mv(grace)).then([this](WorkerExit exit) {
      audit_.record("plugin.stop", {{"plugin", pluginName_},
                                    {"pid", process_->pid()},
                                    {"exit", exit.describe()},
                                    {"max_rss_kib", exit.maxRssKib},
                                    {"cpu_seconds", exit.cpuSeconds}});
    });
  });
}

}  // namespace cordon
