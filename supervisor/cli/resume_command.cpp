#include "cli/resume_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "audit/audit_log.h"
#include "cli/preflight.h"
#include "cli/run_lock.h"
#include "cli/runs_commands.h"
#include "core/untrusted_text.h"
#include "journal/journal_resume.h"
#include "journal/run_journal.h"
#include "run/artifact_digest.h"
#include "trust/plugin_verifier.h"

namespace cordon {
namespace {

int cannotResume(const std::string& why) {
  std::fprintf(stderr, "cordon: error: cannot resume: %s\n", forTerminal(why).c_str());
  return kExitBadInput;
}

// The run as it was asked for: the journal's invocation, with this command's host and options.
RunOptions runOptionsOf(const JournaledRun& run, const ResumeOptions& resume) {
  const nlohmann::json& asked = run.invocation;
  RunOptions options;
  options.workflow = run.workflowPath;
  options.policy = run.policyPath;
  options.auditLog = asked.value("audit_log", "");
  options.auditRotateMb = asked.value("audit_rotate_mb", options.auditRotateMb);
  // Bound to a name: items() of a temporary would outlive the object it walks.
  const nlohmann::json inputs = asked.value("inputs", nlohmann::json::object());
  for (const auto& [name, path] : inputs.items())
    options.inputFiles[name] = path.get<std::string>();
  options.outputDir = asked.value("output_dir", "");
  options.maxInputMb = asked.value("max_input_mb", options.maxInputMb);
  options.artifactMemoryMb = asked.value("artifact_memory_mb", options.artifactMemoryMb);
  options.spillDir = asked.value("spill_dir", "");
  options.jobs = resume.jobs != 0 ? resume.jobs : asked.value("jobs", 0u);
  options.failFast = asked.value("fail_fast", false);
  options.prestart = asked.value("prestart", true);
  options.receiptKey = asked.value("receipt_key", "");
  options.receipt = asked.value("receipt", "");
  options.trust = resume.trust;
  options.workerBinary = resume.workerBinary;
  options.json = resume.json;
  options.observe = resume.observe;
  return options;
}

// What is not as the run started: each difference in words, none when it may go on.
std::vector<std::string> differences(const JournaledRun& run, const Preflight& preflight,
                                     const Outcome<ArtifactMap>& inputs) {
  std::vector<std::string> found;
  auto compare = [&found](const std::string& what, const std::string& then,
                          const std::string& now) {
    if (then != now) found.push_back(what + " changed: the run had " + then + ", now " + now);
  };
  compare("workflow " + run.workflowPath, run.workflowDigest, sha256FileDigest(run.workflowPath));
  compare("policy " + run.policyPath, run.policyDigest, sha256FileDigest(run.policyPath));
  for (const auto& [name, verified] : preflight.plugins) {
    auto journaled = run.pluginDigests.find(name);
    if (journaled == run.pluginDigests.end() || journaled->second.empty()) {
      found.push_back("plugin " + name + " is not one the run journaled");
    } else if (journaled->second.count(verified.digest) == 0) {
      found.push_back("plugin " + name + " changed: the run had " + *journaled->second.begin() +
                      ", now " + verified.digest + " (" + verified.package.objectPath() + ")");
    }
  }
  if (!inputs.ok()) return found;  // said by the caller
  for (const auto& [name, artifact] : inputs.value()) {
    auto journaled = run.inputDigests.find(name);
    auto now = digestArtifact(*artifact);
    const std::string digest = now.ok() ? now.value() : "unreadable: " + now.error().message;
    if (journaled == run.inputDigests.end()) {
      // Killed before the digest was kept: harmless while no step had read the input.
      if (run.stepsStarted != 0)
        found.push_back("input " + name + ": the run journaled no digest of it");
    } else {
      compare("input " + name, journaled->second, digest);
    }
  }
  return found;
}

}  // namespace

int resumeCommand(const ResumeOptions& given) {
  // Absolute before the chdir below: this command's own paths mean what they meant where it ran.
  ResumeOptions options = given;
  auto absolute = [](std::string& path) {
    std::error_code error;
    if (!path.empty()) path = std::filesystem::absolute(path, error).lexically_normal().string();
  };
  absolute(options.trust.stateDir);
  absolute(options.trust.trustStore);
  absolute(options.workerBinary);
  for (std::string& directory : options.trust.pluginPath) absolute(directory);
  absolute(options.observe.metricsFile);
  absolute(options.observe.traceFile);
  if (options.trust.stateDir.empty()) return cannotResume("no state directory, so no journal");
  const std::string journalPath = journalPathIn(options.trust);
  auto opened = openJournal(journalPath);
  if (!opened.ok()) return cannotResume(opened.error().message);
  std::unique_ptr<SqliteDb> db = std::move(opened.value());
  auto found = journaledRun(*db, options.runId);
  if (!found.ok()) return cannotResume(found.error().message);
  const JournaledRun& run = found.value();
  if (run.state != "running") {
    return cannotResume("run " + run.id + " already ended (" + run.state +
                        "); only a run whose supervisor died can be resumed");
  }
  if (!run.invocation.is_object()) {
    return cannotResume("run " + run.id +
                        " was journaled by an older cordon, without how it was asked for");
  }
  {  // Its supervisor must be gone; the lock is taken for good once the run is set up.
    auto locked = RunLock::take(options.trust.stateDir, run.id);
    if (!locked.ok()) return cannotResume(locked.error().message);
  }
  // Relative paths in the workflow (its input files) read as they did when the run started.
  const std::string cwd = run.invocation.value("cwd", "");
  if (!cwd.empty() && chdir(cwd.c_str()) != 0)
    return cannotResume(cwd + " (where the run started): " + std::strerror(errno));
  RunOptions runOptions = runOptionsOf(run, options);
  if (runOptions.auditLog.empty()) return cannotResume("the run journaled no audit log");

  auto audit = AuditLog::open(runOptions.auditLog, {runOptions.auditRotateMb << 20});
  if (!audit.ok()) return cannotResume(audit.error().message);
  const RunAudit log(audit.value().get(), run.id);
  auto checked = preflight(runOptions.workflow, runOptions.policy, runOptions.trust, log);
  if (!checked.ok()) {
    return refuseRun(log, runOptions, checked.error(),
                     {{"workflow", runOptions.workflow}, {"policy", runOptions.policy}});
  }
  Preflight& p = *checked.value();
  auto inputs = loadWorkflowInputs(*p.workflow, runOptions.inputFiles, runOptions.maxInputMb << 20);
  if (!inputs.ok())
    return refuseRun(log, runOptions, inputs.error(), {{"workflow", run.workflowPath}});
  const std::vector<std::string> changed = differences(run, p, inputs);
  if (!changed.empty()) {
    nlohmann::json record = {{"workflow", run.workflowPath}};
    nlohmann::json list = nlohmann::json::array();
    for (const std::string& difference : changed) {
      nlohmann::json item;
      setUntrusted(item, "difference", difference);
      list.push_back(item["difference"]);
      std::fprintf(stderr, "cordon: error: %s\n", forTerminal(difference).c_str());
    }
    record["differences"] = std::move(list);
    log.record("run.resume_refused", std::move(record));
    std::fprintf(stderr,
                 "cordon: error: cannot resume run %s: it would not run what it started with "
                 "(%zu difference%s)\n",
                 run.id.c_str(), changed.size(), changed.size() == 1 ? "" : "s");
    return kExitBadInput;
  }
  std::vector<std::string> warnings;
  auto state = resumeStateOf(*db, run, artifactStoreOf(runOptions), warnings);
  if (!state.ok()) return cannotResume(state.error().message);
  db.reset();  // the run reopens it to write
  for (const std::string& warning : warnings)
    std::fprintf(stderr, "cordon: warning: %s\n", forTerminal(warning).c_str());
  std::fprintf(stderr, "cordon: resuming run %s: %zu step%s ended before, %zu cut short\n",
               run.id.c_str(), state.value().ended.size(),
               state.value().ended.size() == 1 ? "" : "s", state.value().interrupted.size());
  return runPreflighted(runOptions, p, std::move(inputs), log, &state.value());
}

}  // namespace cordon
