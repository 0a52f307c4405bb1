// What happens in a run, as typed events. The engine emits them at one place each; the audit
// log (run/audit_subscriber), the console (cli/run_console) and the tests subscribe, and later
// subscribers (metrics, traces, a dashboard) need no new call sites.
//
// Events carry the plugin's words as they came (log messages, error texts): a subscriber that
// prints or records them makes them safe (core/untrusted_text), as every output does.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"

namespace cordon {

struct RunReport;

// One step of the workflow as planned: what the dashboard draws before the step runs.
struct PlannedNode {
  std::string step;
  std::string plugin;
  std::vector<std::string> needs;  // the steps it waits for (its graph edges)
};
struct RunStarted {
  std::string runId;
  std::string workflowPath;
  std::string workflowName;
  std::string policyPath;
  size_t steps = 0;
  unsigned jobs = 1;
  // Each plugin the plan verified: name -> "sha256:HEX" of the bytes that will run.
  std::map<std::string, std::string> pluginDigests;
  // A run taken up again after its supervisor died (cordon resume): the steps the journal shows
  // ended, which do not run again, and those it shows cut short, which run again as retries.
  bool resumed = false;
  std::vector<std::string> replayed;
  std::vector<std::string> interrupted;
  std::vector<PlannedNode> graph;  // every step, in the workflow's order
};
struct InputsRejected {
  std::string workflowPath;
  Error error;
};
struct StepStarted {
  std::string step;
  std::string plugin;
  // Resumed: the attempt the supervisor's death cut short (it counts as a failed attempt); 0
  // for a step starting afresh.
  unsigned interruptedAttempt = 0;
};
struct StepFinished {
  std::string step;
  std::string plugin;
  double milliseconds = 0;
  pid_t workerPid = 0;
  std::optional<Error> error;  // empty: it succeeded
  std::map<std::string, uint64_t> outputSizes;
  bool continued = false;  // failed, with on_error: continue (the run does not fail for it)
};
// A step with `cache: true` was keyed (before its plugin runs): a hit names the run and step
// whose outputs it takes instead (nothing runs); a miss runs it, and its key is kept so a later
// run can reuse what it produces. `rejected`: earlier results of this key that could not be
// used (an output gone from the store, or not hashing to its name).
struct StepCacheChecked {
  std::string step;
  std::string plugin;
  std::string key;      // sha256:HEX of the key's canonical JSON (docs/state.md)
  std::string fromRun;  // empty: a miss
  std::string fromStep;
  std::vector<std::string> rejected;
};
struct StepSkipped {
  std::string step;
  std::string plugin;
  std::string reason;
};
// The step runs again after `backoffMs`: its workflow's retry (attempt `restart` failed, of
// `of` retries), or its policy's on_failure (restart `restart` of `of`, on a new worker).
struct StepRetrying {
  enum class Why { kRetry, kWorkerRestart };
  std::string step;
  std::string plugin;
  unsigned restart = 0;
  unsigned of = 0;
  uint64_t backoffMs = 0;
  Error error;
  Why why = Why::kWorkerRestart;
};
struct RestartsExhausted {
  std::string step;
  std::string plugin;
  unsigned restarts = 0;
  Error error;
};
struct PluginLogged {
  std::string step;
  std::string level;
  std::string message;
};
// One call on a plugin (describe, init, execute, shutdown) ended, as the supervisor timed it.
struct CallFinished {
  std::string plugin;
  std::string step;  // "" for describe, init and shutdown
  std::string method;
  pid_t workerPid = 0;
  double milliseconds = 0;
  std::optional<Error> error;  // empty: it succeeded
  // The bytes the plugin moved through each host capability during the call (read_input, ...).
  std::map<std::string, uint64_t> hostBytes;
};
// A worker came up: its sandbox is in force and it was handed the plugin's verified bytes.
struct WorkerStarted {
  std::string plugin;
  std::string path;    // where the plugin's bytes were read
  std::string digest;  // "sha256:HEX"
  pid_t pid = 0;
  uint64_t memoryBytes = 0;
  uint64_t cpuSeconds = 0;
  std::string cgroup;               // its cgroup's path, or "none: " and why
  std::vector<std::string> danger;  // the danger_ modes that weaken its sandbox
};
// A started worker answered its first call (describe): how long each phase of its start took.
// Phases in order: spawn, namespaces, root_filesystem, seccomp, load, first_reply
// (docs/metrics.md). The load's end is the worker's own word after the plugin's constructors ran;
// it is clamped.
struct WorkerReady {
  std::string plugin;
  pid_t pid = 0;
  std::chrono::steady_clock::time_point began;
  std::vector<std::pair<std::string, double>> phaseSeconds;
  double totalSeconds = 0;
};
struct WorkerStartFailed {
  std::string plugin;
  std::string reason;
};
// What went wrong with a worker, as worker/exit_classifier decided (docs/errors.md).
struct WorkerFault {
  enum class Kind {
    kTimeout,           // plugin.timeout
    kSandboxViolation,  // sandbox.violation
    kResourceLimit,     // resource.limit
    kProtocolError,     // protocol.error
    kSetupFailed,       // sandbox.setup_failed
    kPluginRejected,    // plugin.rejected
    kCrash,             // plugin.crash
  };
  Kind kind = Kind::kCrash;
  Error error;          // its category and message
  std::string limit;    // kResourceLimit: memory, memory.max, cpu or file_size
  std::string signal;   // kCrash by a signal: SIGSEGV, ...
  std::string syscall;  // kSandboxViolation by a refused syscall, with its arguments in hex
  std::string args;
  std::string path;  // ... and what it named (the worker's words): a path, a socket address
  std::string address;
  std::string mapping;  // kSandboxViolation by W^X: the code mapping (the worker's words)
  std::string phase;    // kCrash: setting_up, loading or serving
};
// A worker is gone, reaped: why (fault, or none when it stopped in order) and what it used.
struct WorkerStopped {
  std::string plugin;
  std::string step;  // the call it ended in, "" between calls
  pid_t pid = 0;
  std::string exit;  // "exit code 0", "killed by signal 9 (SIGKILL)", ...
  uint64_t maxRssKib = 0;
  double cpuSeconds = 0;
  std::optional<WorkerFault> fault;
};
// A decision of the gate (gate/gate.h) on a call crossing a worker's boundary.
struct GateDecided {
  enum class Verdict {
    kAllow,           // gate.allow
    kDeny,            // gate.deny
    kLearn,           // gate.learn (danger_learning: what the plugin used)
    kDenySuppressed,  // gate.deny_suppressed (denials past the per-call record cap)
  };
  Verdict verdict = Verdict::kDeny;
  std::string plugin;
  std::string step;
  std::string direction;  // supervisor->plugin, plugin->host, plugin->kernel, plugin->supervisor
  std::string method;     // the method, capability or syscall
  std::optional<ErrorCategory> category;  // kDeny
  std::string reason;                     // may hold the plugin's bytes
  std::optional<std::string> path;        // the path the plugin asked for, as it was
  std::optional<std::string> address;     // the socket address a refused syscall named
  nlohmann::json detail;  // the verdict's own fields (docs/audit.md); null when it has none
  // Set by the gate when the decision's only effect is a message on the worker's RPC stream
  // (an allowed supervisor->plugin call): its record may wait for that stream's flush.
  bool effectIsWorkerMessage = false;
};
struct OutputsFailed {
  Error error;
};
// The SHA-256 of a step's output (large ones are hashed off the event loop; every one is
// recorded before the run ends and before any output is published).
struct ArtifactDigested {
  std::string step;
  std::string name;
  uint64_t bytes = 0;
  std::string digest;  // sha256:HEX, or "unavailable: WHY"
  // A durable output the store keeps inline rather than as a file (ArtifactStore::inlines): its
  // bytes, which the journal keeps under its digest (docs/state.md, "What is durable when"),
  // shared so that a listener may hold them past the event without a copy.
  std::shared_ptr<const std::string> inlineBytes;
};
// The SHA-256 of one of the workflow's inputs (a large file's hashed off the event loop, before
// the run ends), so the journal can tell when a resumed run would read other bytes.
struct InputDigested {
  std::string name;
  uint64_t bytes = 0;
  std::string digest;  // sha256:HEX, or "unavailable: WHY"
};
// An output went to the spill directory: the run's artifacts in memory were at their budget.
struct ArtifactSpilled {
  std::string step;
  std::string name;
  uint64_t bytes = 0;
  std::string digest;  // sha256:HEX
  std::string path;
};
struct RunFinished {
  const RunReport* report = nullptr;
};

using RunEvent =
    std::variant<RunStarted, InputsRejected, StepStarted, StepFinished, StepCacheChecked,
                 StepSkipped, StepRetrying, RestartsExhausted, PluginLogged, CallFinished,
                 WorkerStarted, WorkerReady, WorkerStartFailed, WorkerStopped, GateDecided,
                 OutputsFailed, ArtifactSpilled, ArtifactDigested, InputDigested, RunFinished>;

// Visits a RunEvent with one lambda per alternative: std::visit(Overloaded{...}, event).
template <class... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

class RunListener {
 public:
  virtual ~RunListener() = default;
  virtual void onEvent(const RunEvent& event) = 0;
  // The run's thread is about to wait (for a worker, a timer, a signal): a listener that holds
  // writes back until then (the journal's group commit) writes them now. Once after any events;
  // it must not emit.
  virtual void onQuiet() {}
};

// The subscriber whose record of an event must exist before what it records takes effect: the
// audit log (run/audit_subscriber). Every stream has one, so no decision goes unrecorded.
class RunRecord {
 public:
  virtual ~RunRecord() = default;
  // The error when the event could not be kept: then it must not take effect (fail closed).
  // A supervisor->plugin allow may be held back until flush() (docs/audit.md, "When a record is
  // written"): its only effect is the call's message, and the worker's stream flushes first.
  virtual std::optional<Error> keep(const RunEvent& event) = 0;
  // Writes what keep() held back; the error when it could not (then nothing may be sent).
  virtual std::optional<Error> flush() = 0;
  // Why the record can keep nothing more, once that is so (a failed audit log stays failed).
  virtual std::optional<Error> failure() const = 0;
  // Whether the record holds something until the next quiet point (the audit log's lock, held
  // between writes when the stream has quiet points: AuditLog::keepLockBetweenWrites).
  virtual bool holding() const { return false; }
  // A quiet point: let go of what holding() holds.
  virtual void quiet() {}
};

// The stream one run's events go to: the record first, then every listener in the order they
// subscribed. An event the record could not keep goes no further.
class RunEvents {
 public:
  explicit RunEvents(RunRecord& record) : record_(record) {}
  RunEvents(const RunEvents&) = delete;
  RunEvents& operator=(const RunEvents&) = delete;

  void subscribe(RunListener& listener) { listeners_.push_back(&listener); }
  // How the stream learns where its thread's quiet points are: `schedule` runs at the first
  // event after a quiet point and arranges for quiet() to run when the thread is next about to
  // wait (host/ wires it to the event loop). Without it every event is followed by one.
  void scheduleQuietWith(std::function<void()> schedule) { scheduleQuiet_ = std::move(schedule); }
  bool hasQuietPoints() const { return static_cast<bool>(scheduleQuiet_); }
  // A quiet point: the record's quiet(), then every listener's onQuiet().
  void quiet() const {
    busy_ = false;
    record_.quiet();
    for (RunListener* listener : listeners_) listener->onQuiet();
  }
  // nullopt once the event is recorded; otherwise why it could not be, and the caller refuses
  // what it would have allowed.
  std::optional<Error> emit(const RunEvent& event) const {
    if (auto failure = record_.keep(event)) return failure;
    for (RunListener* listener : listeners_) listener->onEvent(event);
    quietPointAhead();
    return std::nullopt;
  }
  std::optional<Error> recordFailure() const { return record_.failure(); }
  // Before anything leaves the supervisor: every record the stream's record held back is written.
  std::optional<Error> flushRecord() const {
    auto failure = record_.flush();
    // The write may have taken a lock the record holds till the next quiet point: one must come
    // (a long plugin call may follow, with no event to schedule it).
    if (record_.holding()) quietPointAhead();
    return failure;
  }

 private:
  // After what a quiet point ends (an event, a held lock): without quiet points scheduled, the
  // quiet point is now; otherwise one is arranged unless one is pending.
  void quietPointAhead() const {
    if (!scheduleQuiet_) {
      quiet();
    } else if (!busy_) {
      busy_ = true;
      scheduleQuiet_();
    }
  }

  RunRecord& record_;
  std::vector<RunListener*> listeners_;
  std::function<void()> scheduleQuiet_;
  mutable bool busy_ = false;  // events since the last quiet point
};

}  // namespace cordon
