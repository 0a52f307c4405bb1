// The gate: the one place that decides whether a call crossing a worker's boundary may proceed,
// in either direction, and the one place that reports those decisions (GateDecided, on the run's
// event stream, whose record is the audit log: a decision that cannot be recorded is a refusal).
// Nothing else in Cordon makes a policy decision.
//
//  supervisor -> plugin   admitPluginCall   (via the membrane around the plugin capability)
//  plugin -> host         admitHostCall     (by the Host service, with the scope of the call its
//                                            capability was handed out for; the membrane
//                                            refuses every other capability as forged)
//                         chargeHostBudget  (by the Host service: bytes and call budgets)
//  plugin results         admitOutputs      (by the worker handle: output size)
#pragma once

#include <capnp/capability.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "gate/call_scope.h"
#include "gate/syscall_target.h"
#include "plugins/manifest.h"
#include "policy/policy.h"
#include "run/run_events.h"

namespace cordon {

struct FileGrant {
  std::string directory;  // a granted prefix (or the parent of a granted file)
  std::string relative;   // the rest of the path, below `directory`
};

class Gate {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  Gate(const PluginPolicy& policy, const RunEvents& events,
       Clock clock = std::chrono::steady_clock::now)
      : policy_(policy), events_(events), clock_(std::move(clock)) {}

  // Each returns the denial (and audits it), or nullopt when the call may proceed.
  std::optional<Error> admitPluginCall(CallScope& scope, PluginMethod method);
  std::optional<Error> admitHostCall(CallScope& scope, HostCapability capability);
  std::optional<Error> chargeHostBudget(CallScope& scope, HostCapability capability,
                                        uint64_t bytes);
  std::optional<Error> admitOutputs(CallScope& scope, uint64_t count, uint64_t totalBytes);
  // An output the plugin writes in place (Host.createOutput): `bytes` against max_output_bytes,
  // with the other in-place outputs of the call.
  std::optional<Error> chargeOutputBuffer(CallScope& scope, uint64_t bytes);

  // read_file: which granted prefix covers `path` (lexically: absolute, no '.'/'..'), as the
  // directory to open from and the path below it. The opener must resolve it beneath that
  // directory (openat2 RESOLVE_BENEATH) so a symlink cannot lead out of the grant.
  Outcome<FileGrant> admitFilePath(CallScope& scope, const std::string& path);
  // A refusal the mechanism found after the gate admitted the call (a symlink out of the
  // grant, a device instead of a file): audited here like every other denial.
  std::optional<Error> refuseHostCall(CallScope& scope, HostCapability capability,
                                      ErrorCategory category, const std::string& reason);

  // A syscall the worker's seccomp filter sent to the supervisor (user notification), with the
  // arguments the kernel saw. While the plugin is being loaded, what the dynamic loader needs
  // passes (allowedWhileLoading). Otherwise the first matching syscall rule decides: `log` lets
  // it run and audits it (gate.allow), `{ errno: N }` fails it (gate.deny), `kill` stops the
  // worker. Without a rule, on_violation decides the same way. The forbidden syscalls always
  // stop the worker (the caller records sandbox.violation).
  struct SyscallDecision {
    // kOpenOnHost (learning only): the supervisor opens the file on the host, read-only, and
    // hands the descriptor in as the syscall's result, after learnOpen has recorded it.
    enum class Kind { kAllow, kFailWithErrno, kStopWorker, kOpenOnHost } kind;
    int error = 0;
  };
  // `target`: what the syscall names (a path, a socket address), for the record only.
  SyscallDecision admitSyscall(CallScope& scope, bool loading, int number,
                               const uint64_t (&args)[6], const SyscallTarget& target = {});

  // Learning: an openat of `path` (read from the worker's memory) with `flags`. Recorded as
  // gate.learn (kind open); reads are brokered (kOpenOnHost), writes fail with EROFS.
  SyscallDecision learnOpen(CallScope& scope, const std::string& path, uint64_t flags);

  // Ends the call: its Host capability is revoked, and denials past the per-call record cap are
  // summarised in one gate.deny_suppressed record.
  void closeScope(CallScope& scope);

  // A plugin that hammers a refused capability must not flood the operator's audit log: past
  // this many gate.deny records in one call, further denials are counted, not written.
  static constexpr uint64_t kDenialRecordsPerCall = 16;

  // Wraps the worker's plugin capability in a membrane whose every crossing call is put to the
  // gate first: the supervisor's calls to admitPluginCall, under `current`, the scope of the
  // call being sent (a worker serves one call at a time; the caller keeps it up to date); the
  // plugin's calls on the Host pass to the Host service, which admits them under the scope of
  // the call that handed that Host out; a call on anything else is refused as forged.
  capnp::Capability::Client guard(capnp::Capability::Client plugin,
                                  std::shared_ptr<std::shared_ptr<CallScope>> current);

  const PluginPolicy& policy() const { return policy_; }

 private:
  // `path`: the bytes a plugin asked for, recorded as they were (hex too when not UTF-8).
  std::optional<Error> deny(CallScope& scope, ErrorCategory category, const std::string& direction,
                            const std::string& method, const std::string& reason,
                            std::optional<std::string_view> path = std::nullopt,
                            std::optional<std::string_view> address = std::nullopt,
                            std::optional<std::string_view> args = std::nullopt);
  // The allow's record, or the error that it could not be written (then the call is refused).
  std::optional<Error> allow(const CallScope& scope, const std::string& direction,
                             const std::string& method);

  // Where the policy file sets `rest` for this section ("plugins.NAME.host.log.max_bytes"): a
  // limit's error names the field to raise.
  std::string policyField(const std::string& rest) const;

  // rate_per_second: a token bucket per capability for the worker's life.
  bool takeRateToken(HostCapability capability, uint64_t ratePerSecond);

  const PluginPolicy& policy_;
  const RunEvents& events_;
  Clock clock_;
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
    bool started = false;
  };
  std::map<HostCapability, Bucket> buckets_;
  std::set<std::string> learned_;  // syscalls already recorded (learning only)
};

// Whether `plugin` may run at all, and under which section of the policy. A plugin the policy
// does not mention (and no `default:` section) is refused; the decision is audited either way.
Outcome<const PluginPolicy*> admitPlugin(const Policy& policy, const std::string& plugin,
                                         const std::string& step, const RunEvents& events);

// A plugin's manifest may ask only for what the policy section grants: host capabilities,
// syscalls (groups expanded) and read-only paths. Asking for more is refused with the full
// difference, never silently narrowed. Reported (when `events` is set) either way.
Outcome<Done> admitManifest(const PluginManifest& manifest, const PluginPolicy& section,
                            const std::string& step, const RunEvents* events);

// The exception a denied call fails with; its text carries the marker the worker's SDK maps to
// CORDON_ERR_DENIED or CORDON_ERR_LIMIT.
kj::Exception denialException(const Error& denial);

}  // namespace cordon
