// What the tests share: where the build put the worker and the plugins, scratch directories,
// and a harness that runs a workflow through the real scheduler, real workers and a real audit
// log, in this process, as `cordon run` does.
#pragma once

#include <kj/async-io.h>

#include <sys/types.h>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "cli/preflight.h"
#include "engine/dag_scheduler.h"
#include "host/cordon_host.h"
#include "run/audit_subscriber.h"
#include "run/run_events.h"
#include "run/run_report.h"

namespace cordon::test {

std::string sourcePath(const std::string& relative);  // in the source tree
std::string workerBinary();
std::string cordonBinary();
std::string signBinary();  // cordon-sign
// Example plugins, hostile ones, then the engine tests' (tests/integration/plugins).
std::vector<std::string> pluginDirectories();
std::string trustStoreDirectory();  // tests/fixtures/trust: the development key
std::string devSecretKey();         // what the build signs every plugin with
// The search path, the test trust store, and no rollback ledger.
TrustOptions trustOptions(const std::vector<std::string>& pluginDirs = pluginDirectories());

// A fresh directory, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const { return (root_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path root_;
};

// The kj event loop of this process: one per thread, made on first use.
kj::AsyncIoContext& eventLoop();

// The test process's composition root: one event loop and cgroup tree for every test.
CordonHost& host();

// Collects what a run tells its listeners: the plugins' log lines, the skipped steps, and every
// event in order.
// An event stream whose record is `audit`, as every run's is (for a gate or a worker on its own).
struct AuditedEvents {
  explicit AuditedEvents(AuditLog& audit) : record(audit), events(record) {}
  AuditSubscriber record;
  RunEvents events;
};

class RecordingListener final : public RunListener {
 public:
  void onEvent(const RunEvent& event) override;
  std::vector<std::string> logs;     // "STEP LEVEL: MESSAGE"
  std::vector<std::string> skipped;  // step names
  std::vector<RunEvent> events;
};

struct RunResult {
  RunReport report;
  std::vector<nlohmann::json> audit;  // the records this run appended
  std::vector<std::string> logs;
  std::vector<RunEvent> events;
};

// The engine options the tests run with unless they say otherwise: four steps at once, so
// every workflow's independent steps (a hostile plugin's beside its siblings) run in parallel.
EngineOptions testEngineOptions();

// Runs `workflowPath` under `policyPath`, appending to the audit log at `auditPath`. Fails the
// current test (not the process) when preflight rejects the workflow.
RunResult runWorkflow(const std::string& workflowPath, const std::string& policyPath,
                      const std::string& auditPath,
                      const std::vector<std::string>& pluginDirs = pluginDirectories(),
                      const EngineOptions& options = testEngineOptions());
// Runs what preflight accepted, through the host, recording into `audit`.
RunResult runPreflighted(Preflight& preflight, AuditLog& audit,
                         const EngineOptions& options = testEngineOptions());

std::vector<nlohmann::json> readAudit(const std::string& path);

// The report of step `name`; fails the test when the run has no such step.
const StepReport& stepOf(const RunReport& report, const std::string& name);

// All the bytes of an artifact (a test's outputs are small); fails the test if they cannot be read.
std::string bytesOf(const Artifact& artifact);

// Records of `event` (optionally only those whose field `key` equals `value`).
std::vector<nlohmann::json> withEvent(const std::vector<nlohmann::json>& records,
                                      const std::string& event);

// A one-step workflow: plugin `plugin` reads a literal text input and its outputs are the
// workflow's `result` (when it has one).
std::string oneStepWorkflow(const std::string& plugin, const std::string& output = "");

// Step `attack` runs `plugin`; an independent step `sibling` upper-cases the same input with
// text-transform (its output is the workflow's `sibling`, "SOME TEXT FOR THE PLUGIN").
std::string attackWithSibling(const std::string& plugin);

struct Command {
  int exitCode;
  std::string output;  // stdout and stderr together (stdout alone with runCordonStdout)
};

// Runs a shell command line of the test's own, as a user would type it.
Command runShell(const std::string& line);

// A file's bytes ("" when it cannot be read).
std::string readFile(const std::string& path);
// How often each line occurs in a file: a test plugin's ledger (one line per execute).
std::map<std::string, int> ledgerCounts(const std::string& path);
// `cordon ARGS` with the build's plugins, worker, test trust store and a private state dir.
Command runCordon(const std::string& args);
// The shell words of `cordon ARGS` as runCordon runs it (for a test that starts it itself).
std::string cordonCommandLine(const std::string& args);
// `cordon ARGS` started in the background, its output (both streams) in `outputPath`; its pid.
pid_t startCordon(const std::string& args, const std::string& outputPath);
// Waits until the run appending to `auditPath` has a worker in a step: that worker's
// plugin.start record, or null when none came within `timeout`.
nlohmann::json waitForRunningStep(const std::string& auditPath, std::chrono::milliseconds timeout);
// The same, keeping stdout apart (stderr goes to `stderrPath`).
Command runCordonStdout(const std::string& args, const std::string& stderrPath);

}  // namespace cordon::test
