// cordon: runs workflows of untrusted plugins, each in its own sandbox, under an operator's
// policy, and writes a tamper-evident audit log of what they did.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <tuple>

#include "cli/audit_commands.h"
#include "cli/commands.h"
#include "cli/host_config.h"
#include "cli/install_paths.h"
#include "cli/plugin_commands.h"
#include "cli/policy_learn.h"
#include "cli/receipt_command.h"
#include "cli/resume_command.h"
#include "cli/runs_commands.h"
#include "cli/ui_command.h"
#include "core/untrusted_text.h"

namespace {

// Where plugins, keys and state live: every command that touches plugins takes these.
void addHostOptions(CLI::App& command, cordon::HostFlags& host) {
  command.add_option("--plugin-path", host.pluginPath,
                     "Directories holding plugin packages, ':'-separated; default "
                     "$CORDON_PLUGIN_PATH, the config file, else the build tree's plugins/");
  command.add_option("--trust-store", host.trustStore,
                     "Trust store directory (trust.yaml and keys); default $CORDON_TRUST_STORE, "
                     "else the config file");
  command.add_option("--state-dir", host.stateDir,
                     "Where the run journal, the artifact store, the rollback ledger and the "
                     "audit log live; default $CORDON_STATE_DIR, the config file, else "
                     "$XDG_STATE_HOME/cordon");
  command.add_option("--config", host.config,
                     "Host config file (YAML: plugin_path, trust_store, state_dir); default "
                     "$CORDON_CONFIG, else /etc/cordon/config.yaml when it exists");
}

void addRunOptions(CLI::App& command, cordon::RunOptions& options, cordon::HostFlags& host,
                   bool policyRequired = true) {
  command.add_option("workflow", options.workflow, "Workflow file (YAML, see docs/workflow.md)")
      ->required()
      ->check(CLI::ExistingFile);
  auto* policy =
      command
          .add_option("--policy", options.policy,
                      policyRequired
                          ? "Policy file (YAML, see docs/policy.md); default $CORDON_POLICY"
                          : "Policy file (YAML, see docs/policy.md); default "
                            "$CORDON_POLICY; without one only the workflow is checked")
          ->envname("CORDON_POLICY");
  if (policyRequired) policy->required();
  addHostOptions(command, host);
}

// The command words a user typed, checked against the commands that exist: CLI11 alone says
// "The following argument was not expected", which does not name the mistake.
std::optional<std::string> unknownCommand(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path;
  for (int i = 1; i < argc && level != nullptr; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') return std::nullopt;  // options: CLI11 judges those
    auto subcommands = level->get_subcommands([](CLI::App*) { return true; });
    if (subcommands.empty()) return std::nullopt;  // a positional argument of a leaf command
    CLI::App* next = nullptr;
    std::string names;
    for (CLI::App* sub : subcommands) {
      if (sub->get_name() == word) next = sub;
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (next == nullptr) {
      return "unknown command '" + path + word + "' (" +
             (path.empty() ? std::string("commands")
                           : "'" + path.substr(0, path.size() - 1) + "' has") +
             ": " + names + ")";
    }
    path += word + " ";
    level = next;
  }
  return std::nullopt;
}

// "audit verify " for the deepest command that was parsed, for the --help hint.
std::string helpPathFor(CLI::App& app) {
  std::string path;
  for (CLI::App* level = &app;;) {
    CLI::App* parsed = nullptr;
    for (CLI::App* sub : level->get_subcommands()) parsed = sub;
    if (parsed == nullptr) return path;
    path += parsed->get_name() + " ";
    level = parsed;
  }
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a worker dying mid-write must not take the supervisor with it
  CLI::App app{"cordon: run untrusted plugins in sandboxes under a policy, with an audit log"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cordon 0.1.0");

  cordon::RunOptions options;
  cordon::HostFlags host;
  std::vector<std::string> inputs;

  CLI::App* run = app.add_subcommand(
      "run", "Run a workflow; exit 0 on success, 1 if it failed, 2 on bad input");
  addRunOptions(*run, options, host);
  run->add_option("--audit-log", options.auditLog,
                  "Audit log to append to (JSON lines); default $CORDON_AUDIT_LOG, else "
                  "STATE_DIR/audit.jsonl")
      ->envname("CORDON_AUDIT_LOG");
  run->add_option("--audit-rotate-mb", options.auditRotateMb,
                  "Close the audit log as a numbered segment once it reaches this size; 0: never")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  run->add_option("--input", inputs, "Replace workflow input NAME with the content of FILE")
      ->type_name("NAME=FILE");
  run->add_option("--output-dir", options.outputDir,
                  "Write each workflow output to DIR/NAME (atomically; DIR is checked first)");
  run->add_option("--max-input-mb", options.maxInputMb,
                  "Refuse an input file larger than this, before reading it")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  run->add_option("--artifact-memory-mb", options.artifactMemoryMb,
                  "Hold at most this much of the run's artifacts in memory; beyond it outputs "
                  "go to the spill directory")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 24));
  run->add_option("--spill-dir", options.spillDir,
                  "Content-addressed directory for outputs beyond --artifact-memory-mb "
                  "(default: STATE_DIR/artifacts)");
  run->add_flag("--json", options.json, "Print the run report as JSON on stdout");
  run->add_option("--receipt-key", options.receiptKey,
                  "Sign a run receipt with this minisign secret key (unencrypted); default "
                  "$CORDON_RECEIPT_KEY, else no receipt")
      ->envname("CORDON_RECEIPT_KEY");
  run->add_option("--receipt", options.receipt,
                  "Where the receipt goes (default STATE_DIR/receipts/RUN_ID.json)");
  run->add_option("--jobs,-j", options.jobs,
                  "Run at most N steps at once (default: the number of CPUs)")
      ->type_name("N")
      ->check(CLI::Range(1, 1024));
  run->add_option("--listen", options.observe.listen,
                  "Serve /metrics (Prometheus), /healthz and, with a state directory, the "
                  "dashboard on HOST:PORT while the run goes (port 0: any free port, printed); "
                  "loopback unless you say otherwise")
      ->type_name("HOST:PORT");
  run->add_option("--metrics-file", options.observe.metricsFile,
                  "Write the run's final metrics (Prometheus text format) to FILE at the end")
      ->type_name("FILE");
  run->add_option("--trace", options.observe.traceFile,
                  "Write the run's spans as OTLP/JSON (OpenTelemetry) to FILE at the end")
      ->type_name("FILE");
  run->add_option("--otlp-endpoint", options.observe.otlpEndpoint,
                  "Send the run's spans over OTLP/HTTP (JSON) at the end, e.g. "
                  "http://127.0.0.1:4318/v1/traces")
      ->type_name("URL");
  run->add_flag("--fail-fast", options.failFast,
                "After the first failed step start no new step; running steps finish");
  run->add_flag("!--no-prestart", options.prestart,
                "Start each worker only when its step runs, not ahead while earlier steps run");

  CLI::App* validate =
      app.add_subcommand("validate", "Check a workflow and policy without running anything");
  addRunOptions(*validate, options, host, /*policyRequired=*/false);

  std::string graphPath, graphFormat = "dot";
  CLI::App* graph = app.add_subcommand(
      "graph", "Print a workflow's graph of steps as Graphviz dot or Mermaid, to stdout");
  graph->add_option("workflow", graphPath, "Workflow file")->required()->check(CLI::ExistingFile);
  graph->add_option("--format", graphFormat, "dot or mermaid")
      ->capture_default_str()
      ->check(CLI::IsMember({"dot", "mermaid"}));

  cordon::ResumeOptions resumeOptions;
  CLI::App* resume = app.add_subcommand(
      "resume",
      "Finish a run whose supervisor died: steps that ended do not run again (docs/state.md)");
  addHostOptions(*resume, host);
  resume->add_option("run", resumeOptions.runId, "Run id (or 4 or more of its first hex digits)")
      ->required();
  resume
      ->add_option("--jobs,-j", resumeOptions.jobs,
                   "Run at most N steps at once (default: the run's own)")
      ->type_name("N")
      ->check(CLI::Range(1, 1024));
  resume->add_flag("--json", resumeOptions.json, "Print the run report as JSON on stdout");
  resume
      ->add_option("--listen", resumeOptions.observe.listen,
                   "Serve /metrics and /healthz on HOST:PORT while the run goes")
      ->type_name("HOST:PORT");
  resume
      ->add_option("--metrics-file", resumeOptions.observe.metricsFile,
                   "Write the resumed run's final metrics to FILE at the end")
      ->type_name("FILE");
  resume
      ->add_option("--trace", resumeOptions.observe.traceFile,
                   "Write the resumed run's spans as OTLP/JSON to FILE at the end")
      ->type_name("FILE");

  std::string uiListen = "127.0.0.1:0";
  CLI::App* ui = app.add_subcommand(
      "ui", "Serve the dashboard: runs, their graphs and audit trails, from the journal");
  addHostOptions(*ui, host);
  ui->add_option("--listen", uiListen,
                 "HOST:PORT to serve on (port 0: any free port); loopback unless you say otherwise")
      ->capture_default_str()
      ->type_name("HOST:PORT");

  CLI::App* runs = app.add_subcommand("runs", "The run journal: past and running runs");
  runs->require_subcommand(1);
  bool runsJson = false;
  size_t runsLimit = 50;
  std::string runsId;
  CLI::App* runsList = runs->add_subcommand("list", "List runs, newest first");
  addHostOptions(*runsList, host);
  runsList->add_option("--limit", runsLimit, "At most this many runs")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  runsList->add_flag("--json", runsJson, "Print the runs as JSON");
  CLI::App* runsShow =
      runs->add_subcommand("show", "One run: its steps, attempts, transitions and digests");
  addHostOptions(*runsShow, host);
  runsShow->add_option("run", runsId, "Run id (or 4 or more of its first hex digits)")->required();
  runsShow->add_flag("--json", runsJson, "Print the run as JSON");

  cordon::RunsGcOptions gcOptions;
  size_t gcKeep = 0;
  std::string gcOlderThan;
  CLI::App* runsGc = runs->add_subcommand(
      "gc", "Remove ended runs from the journal and the stored outputs no remaining run names");
  addHostOptions(*runsGc, host);
  CLI::Option* keepOption = runsGc->add_option("--keep", gcKeep, "Keep the newest N ended runs")
                                ->type_name("N")
                                ->check(CLI::Range(0, 1000000000));
  CLI::Option* olderOption =
      runsGc->add_option("--older-than", gcOlderThan, "Remove ended runs started longer ago than D")
          ->type_name("D (30s, 15m, 12h, 7d)");
  runsGc->add_option("--store", gcOptions.store,
                     "The artifact store to sweep (default: STATE_DIR/artifacts)");
  runsGc->add_flag("--dry-run", gcOptions.dryRun, "Say what would go; remove nothing");
  runsGc->add_flag("--json", gcOptions.json, "Print what was removed as JSON");

  CLI::App* receipt = app.add_subcommand("receipt", "Work with signed run receipts");
  receipt->require_subcommand(1);
  cordon::ReceiptVerifyRequest receiptRequest;
  bool receiptJson = false;
  CLI::App* receiptVerify = receipt->add_subcommand(
      "verify",
      "Check a run receipt's signature and, when asked, the outputs and the audit log it names; "
      "exit 0 when it holds, 1 when it does not, 2 on bad input");
  receiptVerify->add_option("receipt", receiptRequest.receipt, "Receipt (a DSSE envelope)")
      ->required()
      ->check(CLI::ExistingFile);
  receiptVerify
      ->add_option("--key", receiptRequest.publicKey,
                   "The operator's minisign public key; default $CORDON_RECEIPT_PUBLIC_KEY")
      ->envname("CORDON_RECEIPT_PUBLIC_KEY")
      ->required();
  receiptVerify->add_option(
      "--artifacts", receiptRequest.artifacts,
      "Check each output in DIR (the run's --output-dir) against the receipt");
  receiptVerify->add_option("--audit-log", receiptRequest.auditLog,
                            "Check the log verifies and holds the run up to the hash it names");
  receiptVerify->add_flag("--json", receiptJson, "Print the result and the statement as JSON");

  CLI::App* audit = app.add_subcommand("audit", "Work with audit logs");
  audit->require_subcommand(1);
  std::string auditPath;
  bool auditJson = false;
  CLI::App* verify =
      audit->add_subcommand("verify",
                            "Check an audit log's hash chain (and its checkpoint); exit 1 if "
                            "broken or cut short, 3 if only its final record is torn");
  verify->add_option("file", auditPath, "Audit log")->required()->check(CLI::ExistingFile);
  verify->add_flag("--json", auditJson, "Print the result as JSON");
  CLI::App* recover = audit->add_subcommand(
      "recover",
      "Cut a torn final record (a crash mid-write) off an audit log and continue its chain with "
      "an audit.recovered record; refuses any other defect");
  recover->add_option("file", auditPath, "Audit log")->required()->check(CLI::ExistingFile);
  CLI::App* rotate = audit->add_subcommand(
      "rotate",
      "Close an audit log's live file as its next numbered segment (FILE.000001, ...) and go on "
      "in a new one; the chain runs on across segments");
  rotate->add_option("file", auditPath, "Audit log")->required()->check(CLI::ExistingFile);
  cordon::AuditFilter auditFilter;
  CLI::App* query = audit->add_subcommand(
      "query",
      "Print an audit log's records that match every filter given, oldest first, across its "
      "segments: JSON lines, or --format table");
  query->add_option("file", auditPath, "Audit log")->required()->check(CLI::ExistingFile);
  query->add_option("--run", auditFilter.run, "Only this run's records (its id)");
  query->add_option("--plugin", auditFilter.plugin, "Only records about this plugin");
  query->add_option("--step", auditFilter.step, "Only this step's records (and its items')");
  query->add_option("--event", auditFilter.event,
                    "Only this event, or a prefix ending in '*' (gate.*)");
  query->add_option("--since", auditFilter.since,
                    "Only records at or after this UTC time (2026-12-03, 2026-12-03T14:05, ...)");
  query->add_option("--until", auditFilter.until,
                    "Only records up to this UTC time, inclusive at its precision");
  std::string queryFormat = "json";
  query
      ->add_option("--format", queryFormat,
                   "json (one record per line), table, or ocsf (OCSF 1.1 events, one per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "table", "ocsf"}));
  std::string summaryRun, summaryPlugin;
  CLI::App* summary = audit->add_subcommand(
      "summary",
      "What each plugin of one run did and tried: calls made and refused, host capabilities, "
      "syscalls refused with what they named, files, sockets, how each worker ended, a timeline");
  summary->add_option("file", auditPath, "Audit log")->required()->check(CLI::ExistingFile);
  summary->add_option("--run", summaryRun, "The run's id (cordon run prints it)")->required();
  summary->add_option("--plugin", summaryPlugin, "Only this plugin");
  summary->add_flag("--json", auditJson, "Print the summary as JSON");

  CLI::App* policyCommand = app.add_subcommand("policy", "Work with policy files");
  policyCommand->require_subcommand(1);
  std::string lintPath;
  bool lintJson = false;
  CLI::App* lint = policyCommand->add_subcommand(
      "lint", "Check a policy and warn about risky grants; exit 0 clean, 1 warnings, 2 invalid");
  lint->add_option("file", lintPath, "Policy file")->required()->check(CLI::ExistingFile);
  lint->add_flag("--json", lintJson, "Print the findings as JSON");
  std::string ociPath, ociProfileName = "imported";
  CLI::App* importOci = policyCommand->add_subcommand(
      "import-oci",
      "Print an OCI/Docker seccomp profile (JSON) as a Cordon policy profile, for review");
  importOci->add_option("file", ociPath, "OCI seccomp profile")
      ->required()
      ->check(CLI::ExistingFile);
  importOci->add_option("--name", ociProfileName, "Name of the profile")->capture_default_str();

  cordon::LearnOptions learnOptions;
  CLI::App* learn = policyCommand->add_subcommand(
      "learn",
      "Run a workflow with every call and syscall allowed but recorded, and write the smallest "
      "policy that lets that run pass: cordon policy learn [--out FILE] -- WORKFLOW.yaml");
  learn->add_option("workflow", learnOptions.workflow, "Workflow file")
      ->required()
      ->check(CLI::ExistingFile);
  learn->add_option("--out", learnOptions.output, "Where to write the policy ('-': stdout)")
      ->capture_default_str();
  learn->add_option("--audit-log", learnOptions.auditLog,
                    "Audit log of the learning run; default STATE_DIR/learn-audit.jsonl");
  learn->add_option("--input", inputs, "NAME=FILE: read workflow input NAME from FILE");
  learn
      ->add_option("--headroom", learnOptions.headroom,
                   "Each budget is the largest figure the learning run showed times this")
      ->capture_default_str()
      ->check(CLI::Range(1.0, cordon::PolicyLearner::kMaxHeadroom));
  addHostOptions(*learn, host);

  CLI::App* plugins = app.add_subcommand("plugins", "Find, inspect and audit plugin packages");
  plugins->require_subcommand(1);
  std::string pluginReference, pluginsPolicy, failOn = "high";
  bool pluginsJson = false;
  CLI::App* list = plugins->add_subcommand(
      "list", "Every package on the search path: version, ABI, signer, requests, trust");
  addHostOptions(*list, host);
  list->add_flag("--json", pluginsJson, "Print the packages as JSON");
  CLI::App* inspect = plugins->add_subcommand(
      "inspect", "One package: manifest, digest, signature, and what the policy grants of it");
  inspect->add_option("plugin", pluginReference, "NAME or NAME@RANGE")->required();
  inspect->add_option("--policy", pluginsPolicy, "Compare the manifest with this policy");
  addHostOptions(*inspect, host);
  inspect->add_flag("--json", pluginsJson, "Print as JSON");
  CLI::App* elfAudit = plugins->add_subcommand(
      "audit",
      "Static audit of a package's shared object; exit 1 on findings at or above --fail-on");
  elfAudit->add_option("package", pluginReference, "Package directory, NAME or NAME@RANGE")
      ->required();
  elfAudit->add_option("--policy", pluginsPolicy, "Judge imports against this policy's section");
  elfAudit->add_option("--fail-on", failOn, "low, medium or high")->capture_default_str();
  addHostOptions(*elfAudit, host);
  elfAudit->add_flag("--json", pluginsJson, "Print the findings as JSON");

  if (auto unknown = unknownCommand(app, argc, argv)) {
    std::fprintf(stderr, "cordon: error: %s\ncordon: see 'cordon --help'\n",
                 cordon::forTerminal(*unknown).c_str());
    return cordon::kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // Every usage error in one form: prefixed, one line, and what to read next.
    std::fprintf(stderr, "cordon: error: %s\ncordon: see 'cordon %s--help'\n",
                 cordon::forTerminal(e.what()).c_str(), helpPathFor(app).c_str());
    return cordon::kExitBadInput;
  }

  auto resolved = cordon::resolveHostConfig(host);
  if (!resolved.ok()) {
    cordon::printError(resolved.error());
    return cordon::kExitBadInput;
  }
  options.trust = resolved.value();
  options.workerBinary = cordon::defaultWorkerBinary();
  for (auto [command, path, file] :
       {std::tuple{run, &options.auditLog, "audit.jsonl"},
        std::tuple{learn, &learnOptions.auditLog, "learn-audit.jsonl"}}) {
    if (!command->parsed() || !path->empty()) continue;
    auto inStateDir = cordon::auditLogInStateDir(options.trust, file);
    if (!inStateDir.ok()) {
      cordon::printError(inStateDir.error());
      return cordon::kExitBadInput;
    }
    *path = inStateDir.value();
  }
  for (const auto& entry : inputs) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "cordon: error: --input %s: expected NAME=FILE\n",
                   cordon::forTerminal(entry).c_str());
      return cordon::kExitBadInput;
    }
    options.inputFiles[entry.substr(0, eq)] = entry.substr(eq + 1);
  }

  if (graph->parsed()) return cordon::graphCommand(graphPath, graphFormat);
  if (lint->parsed()) return cordon::policyLintCommand(lintPath, lintJson);
  if (learn->parsed()) {
    learnOptions.trust = options.trust;
    learnOptions.workerBinary = options.workerBinary;
    learnOptions.inputFiles = options.inputFiles;
    return cordon::policyLearnCommand(learnOptions);
  }
  if (importOci->parsed()) return cordon::policyImportOciCommand(ociPath, ociProfileName);
  if (list->parsed()) return cordon::pluginsListCommand(options.trust, pluginsJson);
  if (inspect->parsed()) {
    return cordon::pluginsInspectCommand(options.trust, pluginReference, pluginsPolicy,
                                         pluginsJson);
  }
  if (elfAudit->parsed()) {
    return cordon::pluginsAuditCommand(options.trust, pluginReference, pluginsPolicy, failOn,
                                       pluginsJson);
  }
  if (recover->parsed()) return cordon::auditRecoverCommand(auditPath);
  if (query->parsed()) return cordon::auditQueryCommand(auditPath, auditFilter, queryFormat);
  if (summary->parsed())
    return cordon::auditSummaryCommand(auditPath, summaryRun, summaryPlugin, auditJson);
  if (rotate->parsed()) return cordon::auditRotateCommand(auditPath);
  if (ui->parsed()) return cordon::uiCommand(options.trust, uiListen);
  if (runsList->parsed()) return cordon::runsListCommand(options.trust, runsLimit, runsJson);
  if (runsShow->parsed()) return cordon::runsShowCommand(options.trust, runsId, runsJson);
  if (runsGc->parsed()) {
    if (keepOption->count() != 0) gcOptions.keep = gcKeep;
    if (olderOption->count() != 0) gcOptions.olderThan = gcOlderThan;
    return cordon::runsGcCommand(options.trust, gcOptions);
  }
  if (resume->parsed()) {
    resumeOptions.trust = options.trust;
    resumeOptions.workerBinary = options.workerBinary;
    return cordon::resumeCommand(resumeOptions);
  }
  if (receiptVerify->parsed()) return cordon::receiptVerifyCommand(receiptRequest, receiptJson);
  if (run->parsed()) return cordon::runCommand(options);
  if (validate->parsed()) return cordon::validateCommand(options);
  return cordon::auditVerifyCommand(auditPath, auditJson);
}
