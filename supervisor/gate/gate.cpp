#include "gate/gate.h"

#include <capnp/membrane.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>

#include "cordon.capnp.h"
#include "core/syscall_arguments.h"
#include "policy/seccomp_compiler.h"
#include "policy/syscall_groups.h"
#include "worker_protocol.h"

namespace cordon {
namespace {

constexpr char kToPlugin[] = "supervisor->plugin";
constexpr char kToHost[] = "plugin->host";
constexpr char kToKernel[] = "plugin->kernel";

class GateMembrane final : public capnp::MembranePolicy, public kj::Refcounted {
 public:
  GateMembrane(Gate& gate, std::shared_ptr<std::shared_ptr<CallScope>> current)
      : gate_(gate), current_(std::move(current)) {}

  kj::Maybe<capnp::Capability::Client> inboundCall(uint64_t interfaceId, uint16_t methodId,
                                                   capnp::Capability::Client) override {
    CallScope& scope = **current_;
    std::optional<Error> denial;
    if (interfaceId == capnp::typeId<ipc::Plugin>() && methodId <= 3) {
      denial = gate_.admitPluginCall(scope, static_cast<PluginMethod>(methodId));
    } else {
      denial = makeError(ErrorCategory::kPolicyDenial, "unknown interface or method");
    }
    // A denied call is redirected to a broken capability: the caller gets the denial as its
    // call's exception and the connection stays up. (Throwing here would break the connection.)
    if (denial) return capnp::Capability::Client(denialException(*denial));
    return nullptr;
  }

  kj::Maybe<capnp::Capability::Client> outboundCall(uint64_t interfaceId, uint16_t methodId,
                                                    capnp::Capability::Client) override {
    // A Host method is admitted by the Host service against the call its capability was
    // handed out for (Gate::admitHostCall with that call's scope), so a capability kept from an
    // earlier call is judged, and recorded, as that call's, never as the one now in flight.
    if (interfaceId == capnp::typeId<ipc::Host>() && methodId <= 4) return nullptr;
    // Only capabilities the supervisor handed in may be called; anything else is forged.
    std::optional<Error> denial = gate_.admitHostCall(**current_, static_cast<HostCapability>(-1));
    // A denied call is redirected to a broken capability: the caller gets the denial as its
    // call's exception and the connection stays up. (Throwing here would break the connection.)
    if (denial) return capnp::Capability::Client(denialException(*denial));
    return nullptr;
  }

  kj::Own<capnp::MembranePolicy> addRef() override { return kj::addRef(*this); }
  bool shouldResolveBeforeRedirecting() override { return false; }

 private:
  Gate& gate_;
  std::shared_ptr<std::shared_ptr<CallScope>> current_;
};

// Plugin and Host method ordinals are the enum values (ipc-schema/cordon.capnp).
static_assert(static_cast<int>(PluginMethod::kDescribe) == 0 &&
              static_cast<int>(PluginMethod::kShutdown) == 3);
static_assert(static_cast<int>(HostCapability::kLog) == 0 &&
              static_cast<int>(HostCapability::kReadInput) == 1 &&
              static_cast<int>(HostCapability::kReadFile) == 2 &&
              static_cast<int>(HostCapability::kMapInput) == 3 &&
              static_cast<int>(HostCapability::kCreateOutput) == 4);

// W^X has no window, not even while the loader runs: the loader maps code from the plugin's
// file, never writable and never anonymous, and changes no mapping to executable (only an
// executable stack would, and that is refused too). Anything else is new machine code.
bool makesWritableOrAnonymousCode(const std::string& name, const uint64_t (&args)[6]) {
  const uint64_t prot = args[2];
  if ((prot & PROT_EXEC) == 0) return false;
  if (name == "mprotect") return true;
  if (name == "mmap") return (prot & PROT_WRITE) != 0 || (args[3] & MAP_ANONYMOUS) != 0;
  return false;
}

GateDecided decision(GateDecided::Verdict verdict, const std::string& plugin,
                     const std::string& step, const std::string& direction,
                     const std::string& method) {
  GateDecided decided;
  decided.verdict = verdict;
  decided.plugin = plugin;
  decided.step = step;
  decided.direction = direction;
  decided.method = method;
  return decided;
}

GateDecided learned(const CallScope& scope, const char* kind) {
  GateDecided decided = decision(GateDecided::Verdict::kLearn, scope.plugin, scope.step, "", "");
  decided.detail["kind"] = kind;
  return decided;
}

}  // namespace

Outcome<const PluginPolicy*> admitPlugin(const Policy& policy, const std::string& plugin,
                                         const std::string& step, const RunEvents& events) {
  const PluginPolicy* section = policy.forPlugin(plugin);
  if (section == nullptr) {
    GateDecided denied = decision(GateDecided::Verdict::kDeny, plugin, step, kToPlugin, "start");
    denied.category = ErrorCategory::kPolicyDenial;
    denied.reason = "the policy " + policy.path + " has no section for plugin '" + plugin +
                    "' and no default section";
    events.emit(denied);
    return makeError(ErrorCategory::kPolicyDenial, denied.reason).withStep(step);
  }
  GateDecided allowed = decision(GateDecided::Verdict::kAllow, plugin, step, kToPlugin, "start");
  allowed.detail["policy_section"] = section->name;
  if (auto failure = events.emit(allowed)) return Error{*failure}.withStep(step);
  return section;
}

Outcome<Done> admitManifest(const PluginManifest& manifest, const PluginPolicy& section,
                            const std::string& step, const RunEvents* events) {
  std::vector<std::string> excess;
  for (const std::string& name : manifest.hostCapabilities) {
    auto capability = hostCapabilityFromName(name);
    if (!capability || section.grant(*capability) == nullptr) excess.push_back("host " + name);
  }
  for (const std::string& request : manifest.syscalls) {
    auto group = syscallGroups().find(request);
    std::vector<std::string> wanted =
        group != syscallGroups().end() ? group->second : std::vector<std::string>{request};
    for (const std::string& syscall : wanted) {
      if (section.syscalls.count(syscall) == 0) {
        excess.push_back("syscall " + syscall +
                         (group != syscallGroups().end() ? " (group " + request + ")" : ""));
      }
    }
  }
  for (const std::string& path : manifest.readOnlyPaths) {
    bool covered = false;
    for (const std::string& granted : section.readOnlyPaths) {
      if (path == granted || path.rfind(granted + "/", 0) == 0) covered = true;
    }
    if (!covered) excess.push_back("read-only path " + path);
  }
  GateDecided decided =
      decision(GateDecided::Verdict::kAllow, manifest.name, step, kToPlugin, "start");
  decided.detail = {{"manifest", manifest.path}, {"policy_section", section.name}};
  if (excess.empty()) {
    if (events == nullptr) return Done{};
    if (auto failure = events->emit(decided)) return Error{*failure}.withStep(step);
    return Done{};
  }
  std::string list;
  for (const auto& item : excess) list += (list.empty() ? "" : ", ") + item;
  const std::string reason = manifest.path + " asks for more than the policy section '" +
                             section.name + "' grants: " + list +
                             " (grant them in the policy, or use a plugin that needs less)";
  decided.verdict = GateDecided::Verdict::kDeny;
  decided.category = ErrorCategory::kPolicyDenial;
  decided.reason = reason;
  decided.detail["not_granted"] = excess;
  if (events != nullptr) events->emit(decided);
  return makeError(ErrorCategory::kPolicyDenial, reason).withStep(step);
}

kj::Exception denialException(const Error& denial) {
  const char* marker = denial.category == ErrorCategory::kResourceLimit ? protocol::kBudgetMarker
                                                                        : protocol::kDeniedMarker;
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                       kj::str(marker, denial.message.c_str()));
}

std::optional<Error> Gate::deny(CallScope& scope, ErrorCategory category,
                                const std::string& direction, const std::string& method,
                                const std::string& reason, std::optional<std::string_view> path,
                                std::optional<std::string_view> address,
                                std::optional<std::string_view> args) {
  Error error = makeError(category, reason);
  error.step = scope.step;
  if (!scope.firstDenial) scope.firstDenial = error;
  if (scope.denialsRecorded >= kDenialRecordsPerCall) {
    ++scope.denialsSuppressed;
    return error;
  }
  ++scope.denialsRecorded;
  GateDecided denied =
      decision(GateDecided::Verdict::kDeny, scope.plugin, scope.step, direction, method);
  denied.category = category;
  denied.reason = reason;
  if (path) denied.path = std::string(*path);
  if (address) denied.address = std::string(*address);
  if (args) denied.detail["args"] = std::string(*args);
  events_.emit(denied);  // a denial stands whether or not it could be recorded
  return error;
}

Gate::SyscallDecision Gate::admitSyscall(CallScope& scope, bool loading, int number,
                                         const uint64_t (&args)[6], const SyscallTarget& target) {
  auto orNone = [](const std::string& text) -> std::optional<std::string_view> {
    if (text.empty()) return std::nullopt;
    return text;
  };
  using Kind = SyscallDecision::Kind;
  std::string name = syscallName(number);
  if (loading && allowedWhileLoading(number) && !makesWritableOrAnonymousCode(name, args))
    return {Kind::kAllow};
  if (isForbiddenSyscall(name)) return {Kind::kStopWorker};
  if (policy_.dangerLearning) {
    if (name == "openat") return {Kind::kOpenOnHost};  // learnOpen records it with its path
    if (learned_.insert(name).second) {
      GateDecided learnt = learned(scope, "syscall");
      learnt.detail["name"] = name;
      learnt.detail["args"] = syscallArgumentsText(args);
      if (events_.emit(learnt)) return {Kind::kStopWorker};
    }
    return {Kind::kAllow};
  }
  const std::string argText = syscallArgumentsText(args);
  const std::string call = name + "(" + argText + ")";
  for (const SyscallRule& rule : policy_.syscallRules) {
    if (rule.name != name || !rule.matches(args)) continue;
    const std::string which = "the syscall rule at line " + std::to_string(rule.line);
    switch (rule.action) {
      case SyscallRule::Action::kAllow:
        return {Kind::kAllow};
      case SyscallRule::Action::kLog: {
        GateDecided logged =
            decision(GateDecided::Verdict::kAllow, scope.plugin, scope.step, kToKernel, name);
        logged.reason = call + " allowed and logged by " + which;
        logged.detail["args"] = argText;
        if (auto path = orNone(target.path)) logged.path = std::string(*path);
        if (auto address = orNone(target.address)) logged.address = std::string(*address);
        if (events_.emit(logged)) return {Kind::kStopWorker};
        return {Kind::kAllow};
      }
      case SyscallRule::Action::kErrno:
        deny(scope, ErrorCategory::kSandboxViolation, kToKernel, name,
             call + " failed with errno " + std::to_string(rule.error) + " by " + which,
             orNone(target.path), orNone(target.address), argText);
        return {Kind::kFailWithErrno, rule.error};
      case SyscallRule::Action::kKill:
        return {Kind::kStopWorker};
    }
  }
  if (!policy_.violationErrno) return {Kind::kStopWorker};
  deny(scope, ErrorCategory::kSandboxViolation, kToKernel, name,
       "syscall " + call + " is outside the policy's allowlist; it failed with errno " +
           std::to_string(*policy_.violationErrno) + " (on_violation)",
       orNone(target.path), orNone(target.address), argText);
  return {Kind::kFailWithErrno, *policy_.violationErrno};
}

Gate::SyscallDecision Gate::learnOpen(CallScope& scope, const std::string& path, uint64_t flags) {
  using Kind = SyscallDecision::Kind;
  const bool writes = (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) != 0;
  if (!policy_.dangerLearning || path.empty() || path[0] != '/')
    return {Kind::kFailWithErrno, ENOENT};
  if (learned_.insert((writes ? "open-write " : "open ") + path).second) {
    GateDecided learnt = learned(scope, "open");
    learnt.detail["write"] = writes;
    learnt.path = path;
    if (events_.emit(learnt)) return {Kind::kStopWorker};
  }
  if (writes) return {Kind::kFailWithErrno, EROFS};
  return {Kind::kOpenOnHost};
}

void Gate::closeScope(CallScope& scope) {
  scope.open = false;
  if (policy_.dangerLearning && !scope.callsUsed.empty()) {
    nlohmann::json usage = nlohmann::json::object();
    for (const auto& [capability, calls] : scope.callsUsed) {
      usage[hostCapabilityName(capability)] = {{"calls", calls},
                                               {"bytes", scope.bytesUsed[capability]},
                                               {"largest_bytes", scope.largestBytes[capability]}};
    }
    GateDecided learnt = learned(scope, "host");
    learnt.method = pluginMethodName(scope.method);
    learnt.detail["usage"] = usage;
    events_.emit(learnt);
  }
  if (scope.denialsSuppressed == 0) return;
  GateDecided suppressed = decision(GateDecided::Verdict::kDenySuppressed, scope.plugin, scope.step,
                                    "", pluginMethodName(scope.method));
  suppressed.detail = {{"recorded", scope.denialsRecorded},
                       {"suppressed", scope.denialsSuppressed}};
  events_.emit(suppressed);
  scope.denialsSuppressed = 0;
}

std::optional<Error> Gate::allow(const CallScope& scope, const std::string& direction,
                                 const std::string& method) {
  GateDecided allowed =
      decision(GateDecided::Verdict::kAllow, scope.plugin, scope.step, direction, method);
  // The supervisor's call goes out as one message on the worker's RPC stream, which writes the
  // held-back records before any byte (worker/recorded_stream.h); a Host call's reply does
  // too, but its data may also leave by the control socket, so its record is written at once.
  allowed.effectIsWorkerMessage = direction == kToPlugin;
  auto failure = events_.emit(allowed);
  if (!failure) return std::nullopt;
  // An allow that cannot be recorded is not given: nothing may happen that the log lacks.
  return Error{*failure}.withStep(scope.step);
}

std::optional<Error> Gate::admitPluginCall(CallScope& scope, PluginMethod method) {
  const char* name = pluginMethodName(method);
  if (!policy_.allows(method)) {
    return deny(scope, ErrorCategory::kPolicyDenial, kToPlugin, name,
                std::string("the policy does not let the supervisor call '") + name +
                    "' on plugin '" + scope.plugin + "'");
  }
  return allow(scope, kToPlugin, name);
}

std::optional<Error> Gate::admitHostCall(CallScope& scope, HostCapability capability) {
  const bool known =
      capability == HostCapability::kLog || capability == HostCapability::kReadInput ||
      capability == HostCapability::kReadFile || capability == HostCapability::kMapInput ||
      capability == HostCapability::kCreateOutput;
  const std::string name = known ? hostCapabilityName(capability) : "(unknown capability)";
  if (!known) {
    return deny(scope, ErrorCategory::kPolicyDenial, kToHost, name,
                "plugin '" + scope.plugin + "' called a capability the host never granted");
  }
  if (!scope.open) {
    return deny(scope, ErrorCategory::kPolicyDenial, kToHost, name,
                "the call this capability belonged to has ended");
  }
  if (capability != HostCapability::kCreateOutput && policy_.grant(capability) == nullptr) {
    return deny(scope, ErrorCategory::kPolicyDenial, kToHost, name,
                "the policy does not grant host capability '" + name + "' to plugin '" +
                    scope.plugin + "'");
  }
  return allow(scope, kToHost, name);
}

std::optional<Error> Gate::chargeOutputBuffer(CallScope& scope, uint64_t bytes) {
  const std::string name = hostCapabilityName(HostCapability::kCreateOutput);
  uint64_t& used = scope.bytesUsed[HostCapability::kCreateOutput];
  ++scope.callsUsed[HostCapability::kCreateOutput];
  if (bytes > policy_.maxOutputBytes || used + bytes > policy_.maxOutputBytes) {
    return deny(scope, ErrorCategory::kResourceLimit, kToHost, name,
                "an output of " + std::to_string(bytes) + " bytes (" +
                    std::to_string(used + bytes) + " in this call) exceeds max_output_bytes " +
                    std::to_string(policy_.maxOutputBytes) + " (" +
                    policyField("max_output_bytes") + ")");
  }
  used += bytes;
  return std::nullopt;
}

std::optional<Error> Gate::chargeHostBudget(CallScope& scope, HostCapability capability,
                                            uint64_t bytes) {
  const std::string name = hostCapabilityName(capability);
  const HostGrant* grant = policy_.grant(capability);
  if (!scope.open || grant == nullptr) {
    return deny(scope, ErrorCategory::kPolicyDenial, kToHost, name,
                !scope.open ? "the call this capability belonged to has ended"
                            : "the policy does not grant host capability '" + name + "'");
  }
  uint64_t calls = ++scope.callsUsed[capability];
  scope.largestBytes[capability] = std::max(scope.largestBytes[capability], bytes);
  if (grant->maxCalls != 0 && calls > grant->maxCalls) {
    return deny(scope, ErrorCategory::kResourceLimit, kToHost, name,
                "more than " + std::to_string(grant->maxCalls) + " '" + name +
                    "' calls in one call (" + policyField("host." + name + ".max_calls") + ")");
  }
  if (grant->ratePerSecond != 0 && !takeRateToken(capability, grant->ratePerSecond)) {
    return deny(scope, ErrorCategory::kResourceLimit, kToHost, name,
                "more than " + std::to_string(grant->ratePerSecond) + " '" + name +
                    "' calls per second (" + policyField("host." + name + ".rate_per_second") +
                    ")");
  }
  if (capability == HostCapability::kLog) {  // per message; read_input, read_file: per call
    if (bytes > grant->maxBytes) {
      return deny(scope, ErrorCategory::kResourceLimit, kToHost, name,
                  "log message of " + std::to_string(bytes) + " bytes exceeds max_bytes " +
                      std::to_string(grant->maxBytes) + " (" +
                      policyField("host." + name + ".max_bytes") + ")");
    }
    scope.bytesUsed[capability] += bytes;
  } else {
    uint64_t total = scope.bytesUsed[capability] + bytes;
    if (total > grant->maxBytes) {
      return deny(scope, ErrorCategory::kResourceLimit, kToHost, name,
                  std::string(capability == HostCapability::kMapInput ? "mapping " : "reading ") +
                      std::to_string(total) + " bytes exceeds max_bytes " +
                      std::to_string(grant->maxBytes) + " for one call (" +
                      policyField("host." + name + ".max_bytes") + ")");
    }
    scope.bytesUsed[capability] = total;
  }
  return std::nullopt;
}

Outcome<FileGrant> Gate::admitFilePath(CallScope& scope, const std::string& path) {
  const char* name = hostCapabilityName(HostCapability::kReadFile);
  const HostGrant* grant = policy_.grant(HostCapability::kReadFile);
  auto refused = [&](ErrorCategory category, const std::string& reason) -> Outcome<FileGrant> {
    return *deny(scope, category, kToHost, name, reason, path);
  };
  if (!scope.open || grant == nullptr) {
    return refused(ErrorCategory::kPolicyDenial,
                   !scope.open ? "the call this capability belonged to has ended"
                               : "the policy does not grant host capability 'read_file'");
  }
  // Lexical first: absolute, no empty, '.' or '..' component; symlinks are the opener's job.
  bool plain = !path.empty() && path[0] == '/' && path.find('\0') == std::string::npos;
  for (size_t start = 1; plain && start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string component = path.substr(start, end - start);
    if (component.empty() || component == "." || component == "..") plain = false;
    start = end + 1;
  }
  if (!plain) {
    return refused(ErrorCategory::kPolicyDenial,
                   "read_file path '" + path +
                       "' is not a plain absolute path (no empty, '.' or '..' components)");
  }
  if (policy_.dangerLearning) {
    GateDecided learnt = learned(scope, "file");
    learnt.path = path;
    if (auto failure = events_.emit(learnt)) return Error{*failure};
    return FileGrant{"/", path.substr(1)};
  }
  for (const std::string& prefix : grant->pathPrefixes) {
    if (path == prefix) {
      // The grant is the file itself: open it from its directory.
      size_t slash = prefix.rfind('/');
      return FileGrant{slash == 0 ? "/" : prefix.substr(0, slash), prefix.substr(slash + 1)};
    }
    if (path.rfind(prefix + "/", 0) == 0) return FileGrant{prefix, path.substr(prefix.size() + 1)};
  }
  return refused(ErrorCategory::kPolicyDenial,
                 "read_file path '" + path + "' is outside the granted paths");
}

std::optional<Error> Gate::refuseHostCall(CallScope& scope, HostCapability capability,
                                          ErrorCategory category, const std::string& reason) {
  return deny(scope, category, kToHost, hostCapabilityName(capability), reason);
}

std::string Gate::policyField(const std::string& rest) const {
  return policy_.fieldPath(rest);
}

bool Gate::takeRateToken(HostCapability capability, uint64_t ratePerSecond) {
  Bucket& bucket = buckets_[capability];
  const auto now = clock_();
  const auto rate = static_cast<double>(ratePerSecond);
  if (!bucket.started) {
    bucket = {rate, now, true};
  } else {
    const double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
    bucket.tokens = std::min(rate, bucket.tokens + elapsed * rate);
    bucket.refilled = now;
  }
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

std::optional<Error> Gate::admitOutputs(CallScope& scope, uint64_t count, uint64_t totalBytes) {
  if (totalBytes > policy_.maxOutputBytes) {
    return deny(scope, ErrorCategory::kResourceLimit, "plugin->supervisor", "execute.outputs",
                std::to_string(count) + " outputs of " + std::to_string(totalBytes) +
                    " bytes exceed max_output_bytes " + std::to_string(policy_.maxOutputBytes) +
                    " (" + policyField("max_output_bytes") + ")");
  }
  return std::nullopt;
}

capnp::Capability::Client Gate::guard(capnp::Capability::Client plugin,
                                      std::shared_ptr<std::shared_ptr<CallScope>> current) {
  return capnp::membrane(kj::mv(plugin), kj::refcounted<GateMembrane>(*this, std::move(current)));
}

}  // namespace cordon
