// cordon: runs workflows of untrusted plugins, each in its own sandbox, under an operator's
// policy, and writes a tamper-evident audit log of what they did.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/install_paths.h"
#include "plugins/plugin_locator.h"

namespace {

void addRunOptions(CLI::App& command, cordon::RunOptions& options, std::string& pluginPath) {
  command.add_option("workflow", options.workflow, "Workflow file (YAML, see docs/workflow.md)")
      ->required()
      ->check(CLI::ExistingFile);
  command
      .add_option("--policy", options.policy,
                  "Policy file (YAML, see docs/policy.md); default $CORDON_POLICY")
      ->envname("CORDON_POLICY")
      ->required();
  command.add_option("--plugin-path", pluginPath,
                     "Directories holding NAME.so plugins, ':'-separated; default "
                     "$CORDON_PLUGIN_PATH, else the build tree's plugins/");
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);  // a worker dying mid-write must not take the supervisor with it
  CLI::App app{"cordon: run untrusted plugins in sandboxes under a policy, with an audit log"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cordon 0.1.0");

  cordon::RunOptions options;
  std::string pluginPath;
  std::vector<std::string> inputs;

  CLI::App* run = app.add_subcommand(
      "run", "Run a workflow; exit 0 on success, 1 if it failed, 2 on bad input");
  addRunOptions(*run, options, pluginPath);
  run->add_option("--audit-log", options.auditLog, "Audit log to append to (JSON lines)")
      ->capture_default_str();
  run->add_option("--input", inputs, "Replace workflow input NAME with the content of FILE")
      ->type_name("NAME=FILE");
  run->add_option("--output-dir", options.outputDir, "Write each workflow output to DIR/NAME");
  run->add_flag("--json", options.json, "Print the run report as JSON on stdout");

  CLI::App* validate =
      app.add_subcommand("validate", "Check a workflow and policy without running anything");
  addRunOptions(*validate, options, pluginPath);

  CLI::App* audit = app.add_subcommand("audit", "Work with audit logs");
  audit->require_subcommand(1);
  std::string auditPath;
  bool auditJson = false;
  CLI::App* verify =
      audit->add_subcommand("verify", "Check an audit log's hash chain; exit 1 if broken");
  verify->add_option("file", auditPath, "Audit log")->required()->check(CLI::ExistingFile);
  verify->add_flag("--json", auditJson, "Print the result as JSON");

  CLI::App* policyCommand = app.add_subcommand("policy", "Work with policy files");
  policyCommand->require_subcommand(1);
  std::string lintPath;
  bool lintJson = false;
  CLI::App* lint = policyCommand->add_subcommand(
      "lint", "Check a policy and warn about risky grants; exit 0 clean, 1 warnings, 2 invalid");
  lint->add_option("file", lintPath, "Policy file")->required()->check(CLI::ExistingFile);
  lint->add_flag("--json", lintJson, "Print the findings as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? cordon::kExitOk : cordon::kExitBadInput;
  }

  options.pluginPath = pluginPath.empty() ? cordon::defaultPluginDirectories()
                                          : cordon::PluginLocator::splitSearchPath(pluginPath);
  options.workerBinary = cordon::defaultWorkerBinary();
  for (const auto& entry : inputs) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "cordon: error: --input %s: expected NAME=FILE\n", entry.c_str());
      return cordon::kExitBadInput;
    }
    options.inputFiles[entry.substr(0, eq)] = entry.substr(eq + 1);
  }

  if (lint->parsed()) return cordon::policyLintCommand(lintPath, lintJson);
  if (run->parsed()) return cordon::runCommand(options);
  if (validate->parsed()) return cordon::validateCommand(options);
  return cordon::auditVerifyCommand(auditPath, auditJson);
}
