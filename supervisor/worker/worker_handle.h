// The supervisor's handle on one sandboxed plugin: the worker process, its RPC connection, and
// the gate every call passes through. Every call has a wall-clock budget; a worker that dies,
// hangs or breaks the protocol becomes an Error with the right category, never a crash here.
// Its start and its end (WorkerStarted, WorkerStopped, once each) go to the run's events.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <memory>
#include <optional>
#include <string>

#include "cordon.capnp.h"
#include "core/error.h"
#include "core/key_values.h"
#include "gate/gate.h"
#include "policy/policy.h"
#include "run/artifacts.h"
#include "run/run_events.h"
#include "worker/cgroup_limits.h"
#include "worker/exit_classifier.h"
#include "worker/syscall_listener.h"
#include "worker/worker_process.h"

namespace cordon {

struct PluginIdentity {
  std::string name;
  std::string version;
  std::string description;
};

struct WorkerLaunch {
  std::string pluginName;
  std::string pluginPath;  // where its bytes were read (for the audit log)
  int pluginFd = -1;       // sealed memfd of the verified bytes (trust/sealed_file.h)
  std::string digest;      // "sha256:HEX" of those bytes
  std::string version;     // what its manifest (and signature) say; the plugin must agree
  std::string workerBinary;
  const PluginPolicy* policy = nullptr;
  std::vector<unsigned char> sandboxSpec;  // from buildSandboxSpec
  // The delegated cgroup v2 tree the worker is born into (the host's), or nullptr: rlimits only.
  CgroupTree* cgroups = nullptr;
  std::string noCgroupReason;  // why there is none, for the plugin.start record
};

class WorkerHandle {
 public:
  // Spawns the worker and checks that the plugin it loaded is the one asked for.
  static kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> start(kj::AsyncIoContext& io,
                                                                   const RunEvents& events,
                                                                   const WorkerLaunch& launch);
  ~WorkerHandle();

  kj::Promise<Outcome<Done>> init(const KeyValues& config);
  // `budget`: what is left of the step's timeout_ms; the lower of it and the policy's per-call
  // timeout bounds the call.
  kj::Promise<Outcome<ArtifactMap>> execute(
      const std::string& step, const KeyValues& config, const ArtifactMap& inputs,
      std::optional<std::chrono::milliseconds> budget = std::nullopt);
  // Asks the plugin to shut down, closes the connection and reaps the worker.
  kj::Promise<void> stop();
  // Kills the worker at once (a cancelled run), closes the connection and reaps it.
  kj::Promise<void> kill();

  bool usable() const { return !broken_; }
  pid_t pid() const { return process_->pid(); }
  const PluginIdentity& identity() const { return identity_; }

 private:
  // How long each phase of this worker's start took, from `began` (before it was spawned) to
  // now (its describe reply).
  WorkerReady startPhases(std::chrono::steady_clock::time_point began);
  WorkerHandle(kj::AsyncIoContext& io, const RunEvents& events, const WorkerLaunch& launch,
               std::unique_ptr<WorkerCgroup> cgroup, std::unique_ptr<WorkerProcess> process);

  std::shared_ptr<CallScope> beginCall(const std::string& step, PluginMethod method);
  template <typename T>
  kj::Promise<Outcome<T>> guarded(const std::shared_ptr<CallScope>& scope,
                                  kj::Promise<Outcome<T>> call,
                                  std::optional<std::chrono::milliseconds> budget = std::nullopt);
  // A call failed with the worker gone or broken: reaps it and says why.
  kj::Promise<Error> collectDeath(const std::string& step, kj::Maybe<kj::Exception> cause);
  // Waits for the worker to exit (killing it after a grace period), classifies the exit and
  // reports it: once, however many paths ask. The fault's error, or nullopt for an orderly stop.
  kj::Promise<std::optional<Error>> reap(const std::string& step, CallEnding call,
                                         const std::string& rpcCause);
  // Stops the worker that failed to start and returns why it failed (its fault, if it had one).
  static kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>> abandon(
      std::unique_ptr<WorkerHandle> handle, const Error& error);
  WorkerPhase phase() const;
  Error resultError(const CallScope& scope, ipc::CallResult::Reader result);
  kj::Promise<Outcome<PluginIdentity>> describe();

  kj::AsyncIoContext& io_;
  const RunEvents& events_;
  std::string pluginName_;
  std::string pluginVersion_;
  const PluginPolicy& policy_;
  Gate gate_;
  std::unique_ptr<WorkerCgroup> cgroup_;  // removed after process_ is reaped (declared first)
  std::unique_ptr<WorkerProcess> process_;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyVatNetwork> network_;
  kj::Own<capnp::RpcSystem<capnp::rpc::twoparty::VatId>> rpc_;
  std::shared_ptr<std::shared_ptr<CallScope>> currentScope_;
  ipc::Plugin::Client plugin_;
  PluginIdentity identity_;
  std::unique_ptr<SyscallListener> syscalls_;
  kj::Promise<void> syscallWatch_ = nullptr;
  bool loading_ = true;  // until describe answers: the plugin is being mapped
  HostKill killed_;      // why the supervisor killed it, if it did (the first reason)
  bool broken_ = false;
  kj::Maybe<kj::ForkedPromise<std::optional<Error>>> reaped_;
};

}  // namespace cordon
