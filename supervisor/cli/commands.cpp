#include "cli/commands.h"

#include <kj/async-io.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "audit/audit_log.h"
#include "cli/console_observer.h"
#include "cli/preflight.h"
#include "policy/oci_profile.h"
#include "policy/policy_lint.h"
#include "policy/policy_parser.h"
#include "scheduler/scheduler.h"

namespace cordon {

void printError(const Error& error) {
  std::fprintf(stderr, "cordon: error: %s\n", error.describe().c_str());
}

namespace {

bool isPrintable(const std::string& text) {
  if (text.size() > 4096) return false;
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

nlohmann::json reportJson(const RunReport& report, const std::string& auditPath) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& step : report.steps) {
    const char* state = step.state == StepState::kSucceeded ? "succeeded"
                        : step.state == StepState::kFailed  ? "failed"
                                                            : "skipped";
    nlohmann::json entry = {{"name", step.name},
                            {"plugin", step.plugin},
                            {"state", state},
                            {"ms", step.milliseconds},
                            {"output_bytes", step.outputSizes}};
    if (step.error) entry["error"] = toJson(*step.error);
    steps.push_back(entry);
  }
  nlohmann::json outputs = nlohmann::json::object();
  for (const auto& [name, data] : report.outputs) {
    nlohmann::json output = {{"bytes", data->size()}};
    if (isPrintable(*data)) output["text"] = *data;
    outputs[name] = output;
  }
  nlohmann::json json = {{"workflow", report.workflow},
                         {"run", report.runId},
                         {"status", report.ok() ? "succeeded" : "failed"},
                         {"steps", steps},
                         {"outputs", outputs},
                         {"audit_log", auditPath}};
  if (report.error) json["error"] = toJson(*report.error);
  return json;
}

Outcome<Done> writeOutputs(const RunReport& report, const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  for (const auto& [name, data] : report.outputs) {
    std::ofstream out(std::filesystem::path(directory) / name, std::ios::binary);
    out << *data;
    if (!out)
      return makeError(ErrorCategory::kBadInput, directory + "/" + name + ": cannot write output");
  }
  return Done{};
}

}  // namespace

int validateCommand(const RunOptions& options) {
  auto checked = preflight(options.workflow, options.policy, options.trust, nullptr);
  if (!checked.ok()) {
    printError(checked.error());
    return kExitBadInput;
  }
  const Preflight& p = *checked.value();
  std::printf("ok: workflow '%s' (%zu step%s) is valid under policy %s\n", p.workflow->name.c_str(),
              p.workflow->steps.size(), p.workflow->steps.size() == 1 ? "" : "s",
              options.policy.c_str());
  return kExitOk;
}

int runCommand(const RunOptions& options) {
  auto audit = AuditLog::open(options.auditLog);
  if (!audit.ok()) {
    printError(audit.error());
    return kExitBadInput;
  }
  AuditLog& log = *audit.value();
  auto checked = preflight(options.workflow, options.policy, options.trust, &log);
  if (!checked.ok()) {
    log.record("input.rejected", {{"workflow", options.workflow},
                                  {"policy", options.policy},
                                  {"error", toJson(checked.error())}});
    printError(checked.error());
    return kExitBadInput;
  }
  Preflight& p = *checked.value();
  auto inputs = loadWorkflowInputs(*p.workflow, options.inputFiles);
  if (!inputs.ok()) {
    log.record("input.rejected",
               {{"workflow", options.workflow}, {"error", toJson(inputs.error())}});
    printError(inputs.error());
    return kExitBadInput;
  }

  std::fprintf(stderr, "cordon: running '%s' (%zu step%s) under %s; audit log %s\n",
               p.workflow->name.c_str(), p.workflow->steps.size(),
               p.workflow->steps.size() == 1 ? "" : "s", options.policy.c_str(),
               options.auditLog.c_str());
  auto io = kj::setupAsyncIo();
  ConsoleObserver observer;
  Scheduler scheduler(io, log, observer,
                      {options.workerBinary, p.plugins, p.ledger ? &*p.ledger : nullptr});
  RunReport report = scheduler.run(p.graph, p.policy, options.inputFiles);

  if (report.ok() && !options.outputDir.empty()) {
    auto written = writeOutputs(report, options.outputDir);
    if (!written.ok()) report.error = written.error();
  }
  if (options.json) {
    std::printf("%s\n", reportJson(report, options.auditLog).dump(2).c_str());
  } else if (report.ok()) {
    for (const auto& [name, data] : report.outputs) {
      if (isPrintable(*data)) {
        std::printf("%s: %s%s", name.c_str(), data->c_str(),
                    data->empty() || data->back() != '\n' ? "\n" : "");
      } else {
        std::printf("%s: (%zu bytes)\n", name.c_str(), data->size());
      }
    }
  }
  if (!report.ok()) {
    printError(*report.error);
    std::fprintf(stderr, "cordon: workflow failed; run %s, see %s\n", report.runId.c_str(),
                 options.auditLog.c_str());
    return kExitWorkflowFailed;
  }
  std::fprintf(stderr, "cordon: workflow succeeded; run %s\n", report.runId.c_str());
  return kExitOk;
}

int auditVerifyCommand(const std::string& path, bool json) {
  auto verified = verifyAuditLog(path);
  if (json) {
    nlohmann::json result = {{"path", path}, {"valid", verified.ok()}};
    if (verified.ok()) {
      result["records"] = verified.value().records;
      result["last_hash"] = verified.value().lastHash;
    } else {
      result["error"] = verified.error().message;
    }
    std::printf("%s\n", result.dump(2).c_str());
  } else if (verified.ok()) {
    std::printf("ok: %s: %llu records, chain intact, last hash %s\n", path.c_str(),
                static_cast<unsigned long long>(verified.value().records),
                verified.value().lastHash.c_str());
  } else {
    std::fprintf(stderr, "cordon: error: %s\n", verified.error().message.c_str());
  }
  return verified.ok() ? kExitOk : kExitWorkflowFailed;
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
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    for (const auto& finding : findings) {
      std::printf("%s:%d: field '%s': warning: %s\n", path.c_str(), finding.line,
                  finding.field.c_str(), finding.message.c_str());
    }
    if (findings.empty()) std::printf("ok: %s: no risky grants found\n", path.c_str());
  }
  return findings.empty() ? kExitOk : kExitWorkflowFailed;
}

int policyImportOciCommand(const std::string& path, const std::string& profileName) {
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
