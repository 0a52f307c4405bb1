// Runs a plan's graph on the event loop: every step whose inputs exist runs at once, up to
// `jobs` at a time, nothing blocking the loop. A step runs on a worker of its plugin's pool
// (worker/worker_pool.h): a stateful plugin's steps take turns on one worker, in the graph's
// order. A failed step skips every step that reads from it; independent branches go on, unless
// failFast stops new steps from starting (running ones finish). docs/architecture.md.
#pragma once

#include <kj/async-io.h>

#include <functional>

#include "core/error.h"
#include "engine/run_plan.h"
#include "run/artifact_store.h"
#include "run/resume_state.h"
#include "run/run_events.h"
#include "run/run_report.h"
#include "run/step_cache.h"
#include "worker/cgroup_limits.h"

namespace cordon {

struct EngineOptions {
  // The run's id, which its preflight's records already carry; empty: the run mints one.
  std::string runId;
  unsigned jobs = 1;      // --jobs: steps running at once
  bool failFast = false;  // --fail-fast
  bool prestart = true;   // start the next steps' workers while earlier steps run
  // The run's artifacts in memory (strings, memfds) at most; beyond it outputs go to
  // spillDirectory (content-addressed; empty: nothing spills). docs/state.md.
  uint64_t artifactMemoryBytes = kDefaultArtifactMemoryBytes;
  std::string spillDirectory;
  // Every output also goes into spillDirectory as soon as its step ends (a journaled run, which
  // cordon resume must be able to finish from the store and the journal alone).
  bool durableOutputs = false;
  // A run taken up again after its supervisor died: what the journal says ended or was cut
  // short. The run keeps options.runId. Must outlive the run.
  const ResumeState* resume = nullptr;
  // Where steps with `cache: true` find earlier results (the journal's); nullptr: no step is
  // cached, whatever the workflow says. Must outlive the run.
  StepCache* cache = nullptr;
  // SIGINT and SIGTERM cancel the run (the caller must have captured both signals with
  // kj::UnixEventPort::captureSignal before making the event loop).
  bool cancelOnSignals = false;
  // Publishes the workflow's outputs (the CLI's --output-dir) before run.end is written, so a
  // failure to publish fails the run in the audit log too. Called only for a successful run.
  std::function<Outcome<Done>(const ArtifactMap&)> publishOutputs;
};

// What a run uses of the process: the composition root's (host/).
struct EngineContext {
  kj::AsyncIoContext* io = nullptr;
  const RunEvents* events = nullptr;  // the run's, whose record is its audit log
  CgroupTree* cgroups = nullptr;      // nullptr: rlimits only
  std::string noCgroupReason;
};

// Never fails for what a plugin does: every step's outcome is in the report. The plan and the
// context must outlive the promise.
kj::Promise<RunReport> runPlan(const EngineContext& context, const RunPlan& plan,
                               const EngineOptions& options);

}  // namespace cordon
