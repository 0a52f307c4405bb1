// What each plugin may do: the in-memory form of a policy file (docs/policy.md). Everything
// absent is denied.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cordon {

inline constexpr uint64_t kMiB = 1ull << 20;  // policies give sizes in MiB

// Supervisor -> plugin methods (the Plugin interface in ipc-schema/cordon.capnp).
enum class PluginMethod { kDescribe, kInit, kExecute, kShutdown };
// Plugin -> host capabilities (the Host interface).
// kCreateOutput needs no grant (producing outputs is what execute is for): it is budgeted by
// max_output_bytes. The others are denied unless the policy's host section grants them.
enum class HostCapability { kLog, kReadInput, kReadFile, kMapInput, kCreateOutput };

std::optional<PluginMethod> pluginMethodFromName(const std::string& name);
std::optional<HostCapability> hostCapabilityFromName(const std::string& name);
const char* pluginMethodName(PluginMethod method);
const char* hostCapabilityName(HostCapability capability);

// The errnos a policy names (`{ errno: EPERM }`); any other errno is written as its number.
std::optional<int> errnoFromName(const std::string& name);
std::string errnoText(int error);  // "EPERM" for 1, "38" when it has no name here

struct HostGrant {
  uint64_t maxBytes = 0;  // log: per message; read_input, read_file: per init/execute call
  uint64_t maxCalls = 0;  // per init/execute call; 0 = unlimited
  // Calls per second across the worker's life, with a burst of the same size (a token bucket);
  // 0 = unlimited. Unlike max_calls it spans calls: it stops a plugin that floods the host.
  uint64_t ratePerSecond = 0;
  // read_file: the host directories (or files) it may read under, absolute and without `.`/`..`.
  std::vector<std::string> pathPrefixes;
};

struct ResourceLimits {
  uint64_t memoryBytes = 256ull << 20;  // RLIMIT_AS of the worker
  uint64_t cpuSeconds = 10;             // RLIMIT_CPU, for the worker's whole life
  uint64_t openFiles = 32;
  uint64_t processes = 1;
  uint64_t fileSizeBytes = 0;  // plugins write no files unless granted
  uint64_t cpuPercent = 100;   // cgroup v2 cpu.max: share of one CPU (only with a delegated tree)
};

// How much the plugin's signature must prove (docs/trust.md). Closed by default.
struct SignatureRules {
  bool required = true;        // false: an unsigned plugin may run (a signed one is still checked)
  bool allowLegacy = false;    // accept minisign's non-prehashed "Ed" signatures
  bool allowRollback = false;  // accept a version below the highest this host has run
};

// One argument test of a syscall rule: `args[index] OP value` (for kMaskedEq, `(args[index] &
// mask) == value`), on the register the kernel saw, never on memory it points to.
struct ArgCondition {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };
  unsigned index = 0;  // 0 - 5
  Op op = Op::kEq;
  uint64_t value = 0;
  uint64_t mask = 0;

  bool matches(const uint64_t (&args)[6]) const;
};

// A single syscall with argument conditions and what a call matching them gets (the map form of
// a `syscalls:` entry). kAllow runs in the kernel; the others reach the supervisor (user
// notification), which finds the rule again (Gate::admitSyscall) and audits what it decides.
struct SyscallRule {
  enum class Action { kAllow, kErrno, kKill, kLog };
  std::string name;
  std::vector<ArgCondition> conditions;  // all must hold; none = every call
  Action action = Action::kAllow;
  int error = 0;  // for kErrno
  int line = 0;

  bool matches(const uint64_t (&args)[6]) const;
};

// What the supervisor does when a plugin's worker dies mid-step (crash, timeout, resource limit):
// fail the step (the default: fail closed), or start a new worker and run the step again after
// a backoff that doubles each time, at most `restarts` times per plugin and run. Violations,
// denials and protocol errors are never retried: they are the plugin's intent, not bad luck.
struct FailurePolicy {
  unsigned restarts = 0;
  std::chrono::milliseconds backoff{100};
  static constexpr std::chrono::milliseconds kMaxBackoff{30000};

  std::chrono::milliseconds delayBefore(unsigned restart) const {  // restart = 1, 2, ...
    auto delay = backoff * (1u << std::min(restart - 1, 16u));
    return std::min(delay, kMaxBackoff);
  }
};

inline constexpr uint64_t kMaxWorkersPerPlugin = 64;

// The supervisor calls describe (to check the plugin's identity), init and execute on every
// plugin it runs, a plugin whose init function is NULL included (the SDK answers it at once);
// shutdown when it stops a worker in good order (without it, the worker is only killed).
inline constexpr PluginMethod kCallsEveryRunMakes[] = {PluginMethod::kDescribe, PluginMethod::kInit,
                                                       PluginMethod::kExecute};

struct PluginPolicy {
  std::string name;                       // the plugin it applies to, or "default"
  std::string extends;                    // the profile it starts from, if any
  int line = 0;                           // where it starts in the policy file
  std::map<std::string, int> fieldLines;  // line of each key the section sets (for lint)
  // Where a key lives, as errors name it: "plugins.NAME.KEY", or "default.KEY" for the default
  // section; the section itself when `key` is empty.
  std::string fieldPath(const std::string& key = "") const;
  // The line that sets `key` (its first part: "host" for "host.log.max_bytes"), else the
  // section's own line.
  int lineOf(const std::string& key) const;
  std::set<PluginMethod> calls;
  std::map<HostCapability, HostGrant> host;
  std::vector<std::string> syscallGroups;  // as written: group names and single syscalls
  std::set<std::string> syscalls;          // expanded, without the runtime group
  std::vector<SyscallRule> syscallRules;   // the map-form entries, in the order written
  // Modes that weaken the sandbox carry a `danger` name, in the policy file, here and in every
  // plugin.start record (`"danger": [...]`), so that grep finds each of them.
  // danger_w_xor_x_off: executable mappings after loading (for plugins that generate code);
  // off by default, W^X holds.
  bool dangerWXorXOff = false;
  ResourceLimits limits;
  std::chrono::milliseconds callTimeout{10000};
  uint64_t maxOutputBytes = 16ull << 20;
  // A syscall outside the allowlist stops the worker (nullopt, the default) or fails with this
  // errno. The syscalls no policy may grant (isForbiddenSyscall) always stop the worker.
  std::optional<int> violationErrno;
  // Absolute host paths the worker sees, read-only, at the same place (filesystem.read_only).
  // Granting any also grants the syscalls to read them (fileSyscalls()).
  std::vector<std::string> readOnlyPaths;
  // Absolute host paths the worker may write, at the same place (filesystem.read_write); they
  // also grant writeSyscalls(). A lint warning each: prefer the scratch tmpfs.
  std::vector<std::string> readWritePaths;
  uint64_t scratchBytes = 0;  // filesystem.scratch_mb: a private tmpfs at /scratch, 0 = none
  bool mountProc = false;     // filesystem.proc: /proc of the worker's own PID namespace, read-only
  bool devices = false;       // filesystem.devices: /dev/null, /dev/zero, /dev/urandom
  SignatureRules signature;
  FailurePolicy onFailure;
  // max_workers: how many workers of this plugin may serve one run at once. Above 1 only for a
  // plugin whose manifest says `stateless: true` (preflight refuses it otherwise): a stateful
  // plugin keeps its state across its steps, so they run one after another on one worker.
  unsigned maxWorkers = 1;
  // danger_learning: `cordon policy learn` only, never from a file: every syscall but the
  // forbidden ones runs and is recorded (gate.learn), and host use is summarised per call.
  bool dangerLearning = false;
  // danger_oci_seccomp: OCI profiles imported (path as written, entries left out); container
  // profiles grant hundreds of syscalls.
  std::vector<std::pair<std::string, size_t>> ociImports;

  // The danger modes in force: "danger_w_xor_x_off", "danger_oci_seccomp", "danger_learning".
  std::vector<std::string> dangerModes() const;

  bool allows(PluginMethod method) const { return calls.count(method) != 0; }
  // Of the methods every run calls (kCallsEveryRunMakes), those `calls` lacks: a plugin under
  // this section cannot run (preflight refuses it, lint names it).
  std::vector<PluginMethod> missingRunCalls() const;
  // "lacks 'init', which every run calls ..." for the errors and lint that name it; "" if none.
  std::string missingRunCallsText() const;
  const HostGrant* grant(HostCapability capability) const;
};

struct Policy {
  std::string path;
  std::map<std::string, PluginPolicy> profiles;  // `profiles:`: bases sections extend
  std::map<std::string, PluginPolicy> plugins;
  std::optional<PluginPolicy> fallback;  // the `default:` section, for plugins not listed

  // The section that governs `plugin`, or nullptr: that plugin may not run at all.
  const PluginPolicy* forPlugin(const std::string& plugin) const;
};

}  // namespace cordon
