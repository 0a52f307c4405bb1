// The composition root. One CordonHost per process holds what is process-wide: the event loop
// (with SIGINT and SIGTERM captured when runs may be cancelled), the delegated cgroup v2 tree
// (adopted once, given back when the host goes) and the worker binary. It runs runs: a
// preflighted workflow becomes a plan, the plan runs on the engine, and the run's events go to
// the audit log and to the caller's listeners. `cordon run`, `cordon policy learn`, the tests
// and the benchmark all run workflows through it.
#pragma once

#include <kj/async-io.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "cli/preflight.h"
#include "engine/dag_scheduler.h"
#include "engine/run_plan.h"
#include "host/quiet_points.h"
#include "run/run_events.h"
#include "run/run_report.h"
#include "worker/cgroup_limits.h"

namespace cordon {

struct HostSettings {
  std::string workerBinary;
  bool cancelOnSignals = false;    // SIGINT and SIGTERM cancel a run (the CLI)
  bool announceNoCgroups = false;  // say once on stderr that workers get rlimits only
};

struct RunRequest {
  Preflight* preflight = nullptr;
  Outcome<ArtifactMap> inputs = ArtifactMap{};  // loadWorkflowInputs' result
  AuditLog* audit = nullptr;                    // where this run is recorded
  std::vector<RunListener*> listeners;          // besides the audit log (console, tests)
  EngineOptions options;
  // Called on the event loop every `tickEvery` while the run goes (a live terminal's redraw).
  std::function<void()> tick;
  std::chrono::milliseconds tickEvery{250};
};

class CordonHost {
 public:
  explicit CordonHost(HostSettings settings);
  ~CordonHost();
  CordonHost(const CordonHost&) = delete;
  CordonHost& operator=(const CordonHost&) = delete;

  // Runs one workflow to its end on the host's event loop.
  RunReport run(RunRequest request);

  kj::AsyncIoContext& io() { return io_; }
  CgroupTree* cgroups() { return cgroups_.get(); }
  const std::string& noCgroupReason() const { return noCgroupReason_; }
  const HostSettings& settings() const { return settings_; }

 private:
  kj::Promise<void> tickEvery(const std::function<void()>& tick, std::chrono::milliseconds period);

  HostSettings settings_;
  kj::AsyncIoContext io_;
  std::string noCgroupReason_;           // declared before cgroups_: detect() writes it
  std::unique_ptr<CgroupTree> cgroups_;  // declared after io_: given back before the loop goes
  bool announced_ = false;
};

}  // namespace cordon
