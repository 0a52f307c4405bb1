#include "cli/commands.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "audit/audit_log.h"
#include "cli/preflight.h"
#include "cli/receipt_command.h"
#include "cli/run_console.h"
#include "cli/run_lock.h"
#include "cli/runs_commands.h"
#include "core/untrusted_text.h"
#include "dashboard/dashboard_routes.h"
#include "host/cordon_host.h"
#include "journal/journal_cache.h"
#include "journal/run_journal.h"
#include "plugins/manifest.h"
#include "policy/oci_profile.h"
#include "policy/policy_lint.h"
#include "policy/policy_parser.h"
#include "receipt/run_receipt.h"
#include "workflow/workflow_parser.h"

namespace cordon {

unsigned defaultJobs() {
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 0)
    return static_cast<unsigned>(CPU_COUNT(&cpus));
  return 1;
}

void printError(const Error& error) {
  // Messages carry plugins' and files' words: one line, no escapes reach the terminal.
  std::fprintf(stderr, "cordon: error: %s\n", forTerminal(error.describe()).c_str());
}

namespace {

constexpr size_t kShownOutputBytes = 4096;  // larger outputs are reported by size only
constexpr uint64_t kOutputChunkBytes = 1 << 20;

// An output on the terminal: `name: text` on one line, or each line indented under `name:`.
// Every line passes forTerminal, so an output cannot start a line of its own or hold escapes.
void printOutput(const std::string& name, const ArtifactBytes& artifact) {
  auto data = artifact.head(kShownOutputBytes);
  if (artifact.size() > kShownOutputBytes || !data.ok() || !isValidUtf8(data.value())) {
    std::printf("%s: (%llu bytes)\n", forTerminal(name).c_str(),
                static_cast<unsigned long long>(artifact.size()));
    return;
  }
  std::string_view text(data.value());
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.find('\n') == std::string_view::npos) {
    std::printf("%s: %s\n", forTerminal(name).c_str(), forTerminal(text).c_str());
    return;
  }
  std::printf("%s:\n", forTerminal(name).c_str());
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::printf("    %s\n", forTerminal(text.substr(start, end - start)).c_str());
    start = end + 1;
  }
}

nlohmann::json reportJson(const RunReport& report, const std::string& auditPath) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : report.steps) {
    nlohmann::json entry = {{"name", step.name},
                            {"plugin", step.plugin},
                            {"state", stepStateName(step.state)},
                            {"ms", step.milliseconds},
                            {"output_bytes", step.outputSizes}};
    if (step.state != StepState::kSkipped) {
      entry["started_ms"] = step.startedMs;  // from the run's start
      entry["ended_ms"] = step.endedMs;
    }
    if (step.workerPid != 0) entry["worker_pid"] = step.workerPid;
    if (step.state != StepState::kSkipped) entry["attempts"] = step.attempts;
    if (step.items != 0) entry["items"] = step.items;
    if (step.error) entry["error"] = toJson(*step.error);
    steps.push_back(entry);
  }
  nlohmann::json outputs = nlohmann::json::object();
  for (const auto& [name, data] : report.outputs) {
    nlohmann::json output = {{"bytes", data->size()}};
    if (data->size() <= kShownOutputBytes) {
      auto text = data->head(kShownOutputBytes);
      if (text.ok()) setUntrusted(output, "text", text.value());
    }
    outputs[name] = output;
  }
  nlohmann::json json = {{"workflow", report.workflow}, {"run", report.runId},
                         {"status", report.status()},   {"steps", steps},
                         {"outputs", outputs},          {"audit_log", auditPath}};
  if (report.error) json["error"] = toJson(*report.error);
  nlohmann::json denials = nlohmann::json::array();
  for (const DenialCount& denial : report.denials) {
    nlohmann::json entry = {
        {"step", denial.step}, {"method", denial.method}, {"count", denial.count}};
    if (!denial.direction.empty()) entry["direction"] = denial.direction;
    if (denial.category) entry["category"] = categoryName(*denial.category);
    denials.push_back(entry);
  }
  json["denials"] = {{"total", report.denialTotal()}, {"by_step", denials}};
  return json;
}

// "2 denials: step 'probe' socket x2, step 'read' read_file" for the run's last line.
std::string denialSummary(const RunReport& report) {
  const uint64_t total = report.denialTotal();
  std::string text = std::to_string(total) + (total == 1 ? " denial: " : " denials: ");
  size_t shown = 0;
  for (const DenialCount& denial : report.denials) {
    if (shown++ == 4) {
      text += ", ...";
      break;
    }
    if (shown > 1) text += ", ";
    text += "step '" + forTerminal(denial.step, 64) + "' " + forTerminal(denial.method, 64);
    if (denial.count > 1) text += " x" + std::to_string(denial.count);
  }
  return text;
}

// Before anything runs: an output directory that cannot take the outputs fails now, not after
// every step has run.
Outcome<Done> prepareOutputDirectory(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error || !std::filesystem::is_directory(directory, error)) {
    return makeError(ErrorCategory::kBadInput, "--output-dir " + directory +
                                                   ": not a directory that can be created (" +
                                                   error.message() + ")");
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    return makeError(ErrorCategory::kBadInput,
                     "--output-dir " + directory + ": not writable: " + std::strerror(errno));
  }
  return Done{};
}

// Each output is written to a temporary file in the same directory and renamed into place, so
// a reader never sees half an output and a failed write leaves the previous file as it was.
Outcome<Done> writeOutputs(const ArtifactMap& outputs, const std::string& directory) {
  for (const auto& [name, data] : outputs) {
    const std::string target = (std::filesystem::path(directory) / name).string();
    const std::string temporary =
        (std::filesystem::path(directory) / ("." + name + ".tmp." + std::to_string(getpid())))
            .string();
    int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    bool ok = fd >= 0;
    int reason = errno;
    std::string chunk;
    for (uint64_t offset = 0; ok && offset < data->size();) {
      chunk.resize(
          static_cast<size_t>(std::min<uint64_t>(kOutputChunkBytes, data->size() - offset)));
      auto copied = data->copyTo(offset, chunk.size(), chunk.data());
      if (!copied.ok()) {
        close(fd);
        unlink(temporary.c_str());
        return copied.error();
      }
      for (size_t done = 0; ok && done < chunk.size();) {
        ssize_t n = write(fd, chunk.data() + done, chunk.size() - done);
        if (n < 0 && errno == EINTR) continue;
        ok = n > 0;
        if (ok) done += static_cast<size_t>(n);
      }
      reason = errno;
      offset += chunk.size();
    }
    if (fd >= 0 && close(fd) != 0 && ok) {
      ok = false;
      reason = errno;
    }
    if (ok && rename(temporary.c_str(), target.c_str()) != 0) {
      ok = false;
      reason = errno;
    }
    if (!ok) {
      unlink(temporary.c_str());
      return makeError(ErrorCategory::kInternal,
                       target + ": cannot write output: " + std::strerror(reason));
    }
  }
  return Done{};
}

}  // namespace

int validateCommand(const RunOptions& options) {
  if (options.policy.empty()) {
    // The workflow alone: its language, its graph and that each plugin it names is there.
    auto workflow = checkWorkflowAlone(options.workflow, options.trust);
    if (!workflow.ok()) {
      printError(workflow.error());
      return kExitBadInput;
    }
    std::printf(
        "ok: workflow '%s' (%zu step%s) is valid; no policy was checked (give --policy to check "
        "what its plugins may do)\n",
        forTerminal(workflow.value()->name).c_str(), workflow.value()->steps.size(),
        workflow.value()->steps.size() == 1 ? "" : "s");
    return kExitOk;
  }
  auto checked = preflight(options.workflow, options.policy, options.trust, RunAudit{});
  if (!checked.ok()) {
    printError(checked.error());
    return kExitBadInput;
  }
  const Preflight& p = *checked.value();
  std::printf("ok: workflow '%s' (%zu step%s) is valid under policy %s\n",
              forTerminal(p.workflow->name).c_str(), p.workflow->steps.size(),
              p.workflow->steps.size() == 1 ? "" : "s", forTerminal(options.policy).c_str());
  return kExitOk;
}

int runCommand(const RunOptions& options) {
  auto audit = AuditLog::open(options.auditLog, {options.auditRotateMb << 20});
  if (!audit.ok()) {
    printError(audit.error());
    return kExitBadInput;
  }
  const RunAudit log(audit.value().get(), newRunId());
  auto refuse = [&log, &options](const Error& error, nlohmann::json record) {
    return refuseRun(log, options, error, std::move(record));
  };
  auto checked = preflight(options.workflow, options.policy, options.trust, log);
  if (!checked.ok()) {
    return refuse(checked.error(), {{"workflow", options.workflow}, {"policy", options.policy}});
  }
  Preflight& p = *checked.value();
  auto inputs = loadWorkflowInputs(*p.workflow, options.inputFiles, options.maxInputMb << 20);
  if (!inputs.ok()) return refuse(inputs.error(), {{"workflow", options.workflow}});
  return runPreflighted(options, p, std::move(inputs), log, nullptr);
}

int refuseRun(const RunAudit& log, const RunOptions& options, const Error& error,
              nlohmann::json record) {
  record["error"] = toJson(error);
  log.record("input.rejected", std::move(record));
  printError(error);
  std::fprintf(stderr, "cordon: nothing ran; run %s, see %s\n", log.runId().c_str(),
               forTerminal(options.auditLog).c_str());
  return kExitBadInput;
}

nlohmann::json invocationOf(const RunOptions& options) {
  namespace fs = std::filesystem;
  auto absolute = [](const std::string& path) {
    std::error_code error;
    return path.empty() ? path : fs::absolute(path, error).lexically_normal().string();
  };
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [name, path] : options.inputFiles) inputs[name] = absolute(path);
  std::error_code error;
  return {{"cwd", fs::current_path(error).string()},
          {"audit_log", absolute(options.auditLog)},
          {"audit_rotate_mb", options.auditRotateMb},
          {"inputs", inputs},
          {"output_dir", absolute(options.outputDir)},
          {"max_input_mb", options.maxInputMb},
          {"artifact_memory_mb", options.artifactMemoryMb},
          {"spill_dir", absolute(options.spillDir)},
          {"jobs", options.jobs},
          {"fail_fast", options.failFast},
          {"prestart", options.prestart},
          {"receipt_key", absolute(options.receiptKey)},
          {"receipt", absolute(options.receipt)}};
}

std::string artifactStoreOf(const RunOptions& options) {
  if (!options.spillDir.empty()) return options.spillDir;
  return options.trust.stateDir.empty() ? "" : options.trust.stateDir + "/artifacts";
}

int runPreflighted(const RunOptions& options, Preflight& p, Outcome<ArtifactMap> inputs,
                   const RunAudit& log, const ResumeState* resume) {
  auto refuse = [&log, &options](const Error& error, nlohmann::json record) {
    return refuseRun(log, options, error, std::move(record));
  };
  if (!options.outputDir.empty()) {
    auto prepared = prepareOutputDirectory(options.outputDir);
    if (!prepared.ok()) return refuse(prepared.error(), {{"workflow", options.workflow}});
  }

  // The receipt's key is read before anything runs: a run that was asked for a receipt and
  // could not sign one would leave the operator nothing to prove it with.
  std::optional<minisign::SecretKey> receiptKey;
  if (!options.receiptKey.empty()) {
    auto loaded = loadReceiptKey(options.receiptKey);
    if (!loaded.ok()) return refuse(loaded.error(), {{"workflow", options.workflow}});
    receiptKey = loaded.value();
  }

  const unsigned jobs = options.jobs == 0 ? defaultJobs() : options.jobs;
  std::fprintf(stderr, "cordon: running '%s' (%zu step%s, %u at a time) under %s; audit log %s\n",
               forTerminal(p.workflow->name).c_str(), p.workflow->steps.size(),
               p.workflow->steps.size() == 1 ? "" : "s", jobs, forTerminal(options.policy).c_str(),
               forTerminal(options.auditLog).c_str());
  std::unique_ptr<RunObservation> observation;
  // With a state directory, the plane also serves the dashboard of the journal this run writes.
  std::unique_ptr<DashboardRoutes> dashboard;
  ObserveOptions observe = options.observe;
  if (!observe.listen.empty() && !options.trust.stateDir.empty()) {
    auto token = AccessToken::generate();
    if (!token.ok()) return refuse(token.error(), {{"workflow", options.workflow}});
    dashboard = std::make_unique<DashboardRoutes>(
        DashboardOptions{journalPathIn(options.trust), token.value(), /*guardPlaneRoutes=*/false});
    observe.routes = dashboard.get();
  }
  if (observe.any()) {
    auto started = RunObservation::start(observe, *log.log());
    if (!started.ok()) return refuse(started.error(), {{"workflow", options.workflow}});
    observation = std::move(started.value());
    if (!options.observe.listen.empty()) {
      const ListenAddress& address = observation->address();
      const bool v6 = address.host.find(':') != std::string::npos;
      std::fprintf(stderr, "cordon: serving /metrics and /healthz on http://%s%s%s:%u\n",
                   v6 ? "[" : "", address.host.c_str(), v6 ? "]" : "", observation->port());
      if (dashboard) {
        std::fprintf(stderr, "cordon: dashboard on http://%s%s%s:%u/?token=%s\n", v6 ? "[" : "",
                     address.host.c_str(), v6 ? "]" : "", observation->port(),
                     dashboard->token().c_str());
      }
      if (!address.loopback) {
        std::fprintf(stderr,
                     "cordon: warning: --listen %s is not a loopback address: anyone who reaches "
                     "it can read this run's metrics (plugin and step names, timings, denials)\n",
                     address.host.c_str());
      }
    }
  }
  // The run journal (docs/state.md): where runs, steps, attempts and digests are kept.
  std::unique_ptr<SqliteDb> journalDb;
  std::optional<RunJournal> journal;
  std::optional<RunLock> lock;
  if (!options.trust.stateDir.empty()) {
    std::error_code made;
    std::filesystem::create_directories(options.trust.stateDir, made);
    auto opened = openJournal(journalPathIn(options.trust));
    auto locked = opened.ok() ? RunLock::take(options.trust.stateDir, log.runId())
                              : Outcome<RunLock>(opened.error());
    if (opened.ok() && locked.ok()) {
      journalDb = std::move(opened.value());
      journal.emplace(*journalDb, invocationOf(options));
      lock.emplace(std::move(locked.value()));
    } else if (resume != nullptr) {
      return refuse(locked.error(), {{"workflow", options.workflow}});
    } else {
      const Error& why = opened.ok() ? locked.error() : opened.error();
      std::fprintf(stderr, "cordon: warning: this run is not journaled: %s\n",
                   forTerminal(why.message).c_str());
    }
  }
  CordonHost host({options.workerBinary, true, true});
  RunConsole console;
  RunRequest request;
  request.preflight = &p;
  request.inputs = std::move(inputs);
  request.audit = log.log();
  request.options.runId = log.runId();
  request.listeners = {&console};
  if (observation) {
    for (RunListener* listener : observation->listeners()) request.listeners.push_back(listener);
  }
  if (journal) request.listeners.push_back(&*journal);
  std::optional<ReceiptRecorder> receipt;
  if (receiptKey) {
    std::map<std::string, std::string> signers;
    for (const auto& [name, verified] : p.plugins) signers[name] = verified.keyId;
    std::map<std::string, std::string> published;
    for (const WorkflowOutput& output : p.workflow->outputs)
      published[output.name] = output.from.source + "." + output.from.name;
    receipt.emplace(std::move(signers), std::move(published));
    request.listeners.push_back(&*receipt);
  }
  request.options.jobs = jobs;
  request.options.failFast = options.failFast;
  request.options.prestart = options.prestart;
  request.options.artifactMemoryBytes = options.artifactMemoryMb << 20;
  request.options.spillDirectory = artifactStoreOf(options);
  // A journaled run keeps every output in the store: cordon resume finishes it from there.
  request.options.durableOutputs = journal.has_value() && !request.options.spillDirectory.empty();
  // Cached results (cache: true) are found in the journal, through a connection of their own.
  std::unique_ptr<SqliteDb> cacheDb;
  std::optional<JournalStepCache> cache;
  const Workflow& workflow = *p.workflow;
  const bool caches = std::any_of(workflow.steps.begin(), workflow.steps.end(),
                                  [&workflow](const Step& step) { return workflow.caches(step); });
  if (caches && request.options.durableOutputs) {
    auto reader = openJournal(journalPathIn(options.trust), /*readOnly=*/true);
    if (reader.ok()) {
      cacheDb = std::move(reader.value());
      cache.emplace(*cacheDb, request.options.spillDirectory);
      request.options.cache = &*cache;
    } else {
      std::fprintf(stderr, "cordon: warning: no step is cached: %s\n",
                   forTerminal(reader.error().message).c_str());
    }
  } else if (caches) {
    std::fprintf(stderr,
                 "cordon: warning: no step is cached: cached results come from the journal, "
                 "and this run is not journaled\n");
  }
  request.options.resume = resume;
  request.options.cancelOnSignals = true;
  if (!options.outputDir.empty()) {
    request.options.publishOutputs = [&options](const ArtifactMap& outputs) {
      return writeOutputs(outputs, options.outputDir);
    };
  }
  if (console.live()) request.tick = [&console]() { console.tick(); };
  RunReport report = host.run(std::move(request));
  if (receipt) {
    // Right after the run, the log's last record is this run's run.end: the receipt binds it.
    const std::string path = !options.receipt.empty()
                                 ? options.receipt
                                 : options.trust.stateDir + "/receipts/" + report.runId + ".json";
    auto written = writeReceipt(receipt->statement(options.auditLog, log.log()->lastHash()),
                                *receiptKey, path);
    if (!written.ok()) {
      // The run happened; what failed is the proof of it. Said, recorded, and the exit says so.
      Error error = written.error();
      nlohmann::json fields;
      setUntrusted(fields, "error", error.message);
      log.record("run.receipt_failed", std::move(fields));
      printError(error);
      if (report.ok()) report.error = error;
    } else {
      nlohmann::json fields = {{"digest", written.value()},
                               {"key_id", minisign::keyIdText(receiptKey->id)}};
      setUntrusted(fields, "path", path);
      log.record("run.receipt", std::move(fields));
      std::fprintf(stderr, "cordon: receipt %s\n", forTerminal(path).c_str());
    }
  }
  if (journal) journal->finish();
  if (journal && journal->failure()) {
    // The run and its outputs stand (the audit log, not the journal, is the record that must
    // exist first), but it may not be resumable or listed whole: said, and recorded.
    const Error& failure = *journal->failure();
    nlohmann::json fields = {{"category", categoryName(failure.category)}};
    setUntrusted(fields, "error", failure.message);
    log.record("run.journal_failed", std::move(fields));
    std::fprintf(stderr, "cordon: warning: the journal stopped recording this run: %s\n",
                 forTerminal(failure.message).c_str());
  }
  if (observation) {
    for (const std::string& warning : observation->finish())
      std::fprintf(stderr, "cordon: warning: %s\n", forTerminal(warning).c_str());
  }

  if (options.json) {
    std::printf("%s\n", jsonText(reportJson(report, options.auditLog), 2).c_str());
  } else if (report.ok()) {
    for (const auto& [name, data] : report.outputs) printOutput(name, *data);
  }
  if (!report.ok()) {
    printError(*report.error);
    if (report.cancelledBy) {
      std::fprintf(stderr, "cordon: workflow cancelled; run %s, see %s\n", report.runId.c_str(),
                   forTerminal(options.auditLog).c_str());
      return 128 + *report.cancelledBy;  // 130 for SIGINT, 143 for SIGTERM, as shells expect
    }
    std::fprintf(stderr, "cordon: workflow failed; run %s, see %s\n", report.runId.c_str(),
                 forTerminal(options.auditLog).c_str());
    return kExitWorkflowFailed;
  }
  if (report.denialTotal() == 0) {
    std::fprintf(stderr, "cordon: workflow succeeded; run %s\n", report.runId.c_str());
  } else {
    // Succeeded, but the plugins were refused things on the way: the operator should look.
    std::fprintf(stderr, "cordon: workflow succeeded with %s; run %s, see %s\n",
                 denialSummary(report).c_str(), report.runId.c_str(),
                 forTerminal(options.auditLog).c_str());
  }
  return kExitOk;
}

int auditVerifyCommand(const std::string& path, bool json) {
  auto scanned = scanAuditLog(path);
  if (!scanned.ok()) {
    printError(scanned.error());
    return kExitBadInput;
  }
  const AuditScan& scan = scanned.value();
  const char* defect = scan.defect == AuditDefect::kNone            ? "none"
                       : scan.defect == AuditDefect::kTruncatedTail ? "truncated_tail"
                       : scan.defect == AuditDefect::kTruncated     ? "truncated"
                                                                    : "tampered";
  if (json) {
    nlohmann::json result = {{"path", path},
                             {"valid", scan.defect == AuditDefect::kNone},
                             {"defect", defect},
                             {"records", scan.records},
                             {"segments", scan.segments},
                             {"last_hash", scan.lastHash},
                             {"checkpoint", scan.checkpointFound}};
    if (scan.defect != AuditDefect::kNone) setUntrusted(result, "error", scan.problem);
    std::printf("%s\n", jsonText(result, 2).c_str());
  } else if (scan.defect == AuditDefect::kNone) {
    const std::string segments =
        scan.segments == 1 ? "" : " in " + std::to_string(scan.segments) + " segments";
    std::printf("ok: %s: %llu records%s, chain intact%s, last hash %s\n", forTerminal(path).c_str(),
                static_cast<unsigned long long>(scan.records), segments.c_str(),
                scan.checkpointFound ? " and matching its checkpoint" : "", scan.lastHash.c_str());
  } else {
    std::fprintf(stderr, "cordon: error: %s\n", forTerminal(scan.problem).c_str());
  }
  // 3: only the final record is cut short (a crash mid-write), which `audit recover` mends.
  if (scan.defect == AuditDefect::kTruncatedTail) return kExitAuditTornTail;
  return scan.defect == AuditDefect::kNone ? kExitOk : kExitWorkflowFailed;
}

int auditRecoverCommand(const std::string& path) {
  auto recovered = recoverAuditLog(path);
  if (!recovered.ok()) {
    printError(recovered.error());
    return kExitWorkflowFailed;
  }
  if (recovered.value().droppedBytes == 0) {
    std::printf("ok: %s: nothing to recover (%llu records, chain intact)\n",
                forTerminal(path).c_str(),
                static_cast<unsigned long long>(recovered.value().records));
  } else {
    std::printf(
        "recovered: %s: dropped a torn final record of %llu bytes after record %llu; the log "
        "goes on with an audit.recovered record that names it\n",
        forTerminal(path).c_str(), static_cast<unsigned long long>(recovered.value().droppedBytes),
        static_cast<unsigned long long>(recovered.value().records));
  }
  return kExitOk;
}

int auditRotateCommand(const std::string& path) {
  auto log = AuditLog::open(path);
  if (!log.ok()) {
    printError(log.error());
    return kExitWorkflowFailed;
  }
  const uint64_t closing = log.value()->liveSegment();
  if (!log.value()->rotate()) {
    printError(*log.value()->failure());
    return kExitWorkflowFailed;
  }
  std::printf("rotated: %s: closed as %s; the log goes on in %s (segment %llu)\n",
              forTerminal(path).c_str(), forTerminal(auditSegmentPath(path, closing)).c_str(),
              forTerminal(path).c_str(),
              static_cast<unsigned long long>(log.value()->liveSegment()));
  return kExitOk;
}

int policyLintCommand(const std::string& path, bool json) {
  Policy policy;
  try {
    policy = loadPolicy(path);
  } catch (const InputError& e) {
    printError(makeError(ErrorCategory::kBadInput, e.what()));
    return kExitBadInput;
  }
  auto findings = lintPolicy(policy);
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& finding : findings) {
      out.push_back({{"file", path},
                     {"line", finding.line},
                     {"field", finding.field},
                     {"message", finding.message}});
    }
    std::printf("%s\n", jsonText(out, 2).c_str());
  } else {
    for (const auto& finding : findings) {
      std::printf("%s:%d: field '%s': warning: %s\n", forTerminal(path).c_str(), finding.line,
                  forTerminal(finding.field).c_str(), forTerminal(finding.message).c_str());
    }
    if (findings.empty()) std::printf("ok: %s: no risky grants found\n", path.c_str());
  }
  return findings.empty() ? kExitOk : kExitWorkflowFailed;
}

int policyImportOciCommand(const std::string& path, const std::string& profileName) {
  if (!isPluginName(profileName)) {
    printError(makeError(
        ErrorCategory::kBadInput,
        "--name '" + profileName + "': a profile name is 1-64 characters of a-z, 0-9, '_' or '-'"));
    return kExitBadInput;
  }
  OciImport import;
  try {
    import = importOciProfile(path);
  } catch (const InputError& e) {
    printError(makeError(ErrorCategory::kBadInput, e.what()));
    return kExitBadInput;
  }
  std::printf("%s", ociImportAsPolicy(import, profileName).c_str());
  std::fprintf(stderr,
               "cordon: imported %zu syscalls and %zu rules from %s; %zu entries left out\n",
               import.syscalls.size(), import.rules.size(), path.c_str(), import.skipped.size());
  return kExitOk;
}

}  // namespace cordon

namespace cordon {
namespace {

// Step and plugin names are identifiers (the parser holds them to it), so they need no quoting
// in either language. The workflow's name is free text: only its letters, digits, spaces and
// '-', '_', '.' reach the title, and every printed line still passes forTerminal.
std::string titleOf(const std::string& name) {
  std::string title;
  for (char c : name.substr(0, 200)) {
    const bool plain = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ' ' || c == '-' ||
                       c == '_' || c == '.';
    title += plain ? c : '_';
  }
  return title;
}

std::string dotGraph(const WorkflowGraph& graph) {
  std::string out =
      "digraph workflow {\n  label=\"" + titleOf(graph.workflow->name) + "\";\n  rankdir=LR;\n";
  out += "  node [shape=box];\n";
  for (const GraphNode& node : graph.nodes) {
    out += "  \"" + node.step->name + "\" [label=\"" + node.step->name + " (" + node.step->plugin +
           ")\"];\n";
  }
  for (const GraphNode& node : graph.nodes) {
    for (size_t dependency : node.dependsOn) {
      // Data flows along solid edges; `needs` and conditions only order (dashed).
      const bool data =
          std::find(node.dataFrom.begin(), node.dataFrom.end(), dependency) != node.dataFrom.end();
      out += "  \"" + graph.nodes[dependency].step->name + "\" -> \"" + node.step->name + "\"" +
             (data ? "" : " [style=dashed]") + ";\n";
    }
  }
  return out + "}\n";
}

std::string mermaidGraph(const WorkflowGraph& graph) {
  std::string out = "---\ntitle: " + titleOf(graph.workflow->name) + "\n---\nflowchart LR\n";
  for (const GraphNode& node : graph.nodes) {
    out +=
        "  " + node.step->name + "[\"" + node.step->name + "<br/>(" + node.step->plugin + ")\"]\n";
  }
  for (const GraphNode& node : graph.nodes) {
    for (size_t dependency : node.dependsOn) {
      const bool data =
          std::find(node.dataFrom.begin(), node.dataFrom.end(), dependency) != node.dataFrom.end();
      out += "  " + graph.nodes[dependency].step->name + (data ? " --> " : " -.-> ") +
             node.step->name + "\n";
    }
  }
  return out;
}

}  // namespace

int graphCommand(const std::string& workflowPath, const std::string& format) {
  Workflow workflow;
  try {
    workflow = loadWorkflow(workflowPath);
  } catch (const InputError& e) {
    printError(makeError(ErrorCategory::kBadInput, e.what()));
    return kExitBadInput;
  }
  auto graph = WorkflowGraph::build(workflow);
  if (!graph.ok()) {
    printError(graph.error());
    return kExitBadInput;
  }
  const std::string text =
      format == "mermaid" ? mermaidGraph(graph.value()) : dotGraph(graph.value());
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    std::printf("%s\n", forTerminal(std::string_view(text).substr(start, end - start)).c_str());
    start = end + 1;
  }
  return kExitOk;
}

}  // namespace cordon
