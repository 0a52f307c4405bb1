#include "cli/policy_learn.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "audit/audit_log.h"
#include "cli/commands.h"
#include "cli/run_console.h"
#include "core/untrusted_text.h"
#include "core/yaml_document.h"
#include "host/cordon_host.h"
#include "policy/policy_learner.h"
#include "policy/policy_parser.h"

namespace cordon {
namespace {

// The records the learning run wrote (the log may hold earlier runs too).
void replayRun(const std::string& auditPath, const std::string& runId, PolicyLearner& learner) {
  std::ifstream in(auditPath);
  for (std::string line; std::getline(in, line);) {
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("run", "") == runId) learner.observeRecord(record);
  }
}

}  // namespace

int policyLearnCommand(const LearnOptions& options) {
  auto audit = AuditLog::open(options.auditLog);
  if (!audit.ok()) {
    printError(audit.error());
    return kExitBadInput;
  }
  const RunAudit log(audit.value().get(), newRunId());
  auto checked = preflight(options.workflow, learningPolicy(), options.trust, log);
  if (!checked.ok()) {
    log.record("input.rejected",
               {{"workflow", options.workflow}, {"error", toJson(checked.error())}});
    printError(checked.error());
    return kExitBadInput;
  }
  Preflight& p = *checked.value();
  PolicyLearner learner(options.headroom);
  for (const auto& [name, plugin] : p.plugins) learner.observeManifest(plugin.package.manifest);

  std::fprintf(stderr,
               "cordon: learning '%s': every call and syscall is allowed and recorded (audit log "
               "%s)\n",
               forTerminal(p.workflow->name).c_str(), forTerminal(options.auditLog).c_str());
  CordonHost host({options.workerBinary, true, true});
  RunConsole console;
  RunRequest request;
  request.preflight = &p;
  request.inputs = loadWorkflowInputs(*p.workflow, options.inputFiles);
  request.audit = log.log();
  request.options.runId = log.runId();
  request.listeners = {&console};
  // One step at a time: what each plugin did is learned from its own records, undisturbed.
  request.options.jobs = 1;
  request.options.cancelOnSignals = true;
  if (console.live()) request.tick = [&console]() { console.tick(); };
  RunReport report = host.run(std::move(request));
  if (!report.ok()) {
    printError(*report.error);
    std::fprintf(stderr,
                 "cordon: the learning run failed, so no policy lets it pass; nothing written "
                 "(run %s)\n",
                 report.runId.c_str());
    return kExitWorkflowFailed;
  }
  for (const StepReport& step : report.steps) {
    uint64_t total = 0;
    for (const auto& [name, size] : step.outputSizes) total += size;
    learner.observeOutputs(step.plugin, total);
  }
  replayRun(options.auditLog, report.runId, learner);
  const std::string policy = learner.policyYaml(options.workflow, report.runId);
  try {
    parsePolicy(YamlDocument::parse(policy, "(learned policy)"));  // never write what won't load
  } catch (const InputError& e) {
    printError(makeError(ErrorCategory::kInternal,
                         std::string("the learned policy does not parse: ") + e.what()));
    return kExitWorkflowFailed;
  }
  if (options.output == "-") {
    std::printf("%s", policy.c_str());
  } else {
    std::ofstream out(options.output);
    out << policy;
    if (!out.flush()) {
      printError(makeError(ErrorCategory::kBadInput, options.output + ": cannot write the policy"));
      return kExitBadInput;
    }
  }
  std::fprintf(stderr, "cordon: learned a policy for %zu plugin%s from run %s%s%s\n",
               learner.plugins().size(), learner.plugins().size() == 1 ? "" : "s",
               report.runId.c_str(), options.output == "-" ? "" : "; written to ",
               options.output == "-" ? "" : forTerminal(options.output).c_str());
  std::fprintf(stderr,
               "cordon: the sample is that one run (%s): review the budgets before enforcing, "
               "larger inputs may need more\n",
               learner.sampleText().c_str());
  return kExitOk;
}

}  // namespace cordon
