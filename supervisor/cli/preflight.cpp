#include "cli/preflight.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/yaml_document.h"
#include "gate/gate.h"
#include "plugins/elf_audit.h"
#include "plugins/plugin_catalog.h"
#include "policy/policy_parser.h"
#include "policy/seccomp_compiler.h"
#include "policy/syscall_groups.h"
#include "run/audit_subscriber.h"
#include "workflow/workflow_parser.h"

namespace cordon {

Outcome<Done> loadTrust(const TrustOptions& options, std::optional<TrustStore>& store,
                        std::optional<VersionLedger>& ledger) {
  if (!options.trustStore.empty()) {
    try {
      store = TrustStore::load(options.trustStore);
    } catch (const InputError& e) {
      return makeError(ErrorCategory::kBadInput, e.what());
    }
  }
  if (!options.stateDir.empty()) {
    auto opened = VersionLedger::open(options.stateDir);
    if (!opened.ok()) return opened.error();
    ledger = std::move(opened.value());
  }
  return Done{};
}

namespace {

// A learning section made concrete for one plugin: it grants what the manifest asks for, so
// the plugin starts as it would under a policy written for it.
PluginPolicy learningSectionFor(const PluginPolicy& learning, const PluginManifest& manifest) {
  PluginPolicy section = learning;
  section.name = manifest.name;
  for (const std::string& request : manifest.syscalls) {
    auto group = syscallGroups().find(request);
    if (group != syscallGroups().end()) {
      section.syscalls.insert(group->second.begin(), group->second.end());
    } else {
      section.syscalls.insert(request);
    }
  }
  section.readOnlyPaths = manifest.readOnlyPaths;
  if (!section.readOnlyPaths.empty()) {
    section.syscalls.insert(fileSyscalls().begin(), fileSyscalls().end());
  }
  return section;
}

// W^X refuses what the loader would have to map writable and executable (a W+X LOAD segment, an
// executable stack), with a load error that says so, before any worker starts.
Outcome<Done> refuseWritableCode(const VerifiedPlugin& plugin, const PluginPolicy& section,
                                 const RunAudit& audit) {
  if (section.dangerWXorXOff) return Done{};
  auto elf = auditElf(std::string(plugin.object->bytes()), &section);
  if (!elf.ok()) return Done{};  // not for this check to judge: the loader refuses it
  for (const ElfFinding& finding : elf.value().findings) {
    if (finding.kind != "rwx-segment" && finding.kind != "execstack") continue;
    const std::string reason = plugin.package.objectPath() + ": " + finding.detail +
                               "; W^X (w_xor_x) refuses a plugin that needs writable code "
                               "(`cordon plugins audit` shows the same finding)";
    audit.record("plugin.rejected", {{"plugin", plugin.package.manifest.name},
                                     {"digest", plugin.digest},
                                     {"category", "bad_input"},
                                     {"detail", reason}});
    return makeError(ErrorCategory::kBadInput, "the plugin could not be loaded: " + reason);
  }
  return Done{};
}

}  // namespace

Outcome<std::shared_ptr<Preflight>> preflight(const std::string& workflowPath,
                                              const std::string& policyPath,
                                              const TrustOptions& trust, const RunAudit& audit) {
  Policy policy;
  try {
    policy = loadPolicy(policyPath);
  } catch (const InputError& e) {
    return makeError(ErrorCategory::kBadInput, e.what());
  }
  return preflight(workflowPath, std::move(policy), trust, audit);
}

Outcome<std::unique_ptr<Workflow>> checkWorkflowAlone(const std::string& workflowPath,
                                                      const TrustOptions& trust) {
  std::unique_ptr<Workflow> workflow;
  try {
    workflow = std::make_unique<Workflow>(loadWorkflow(workflowPath));
  } catch (const InputError& e) {
    return makeError(ErrorCategory::kBadInput, e.what());
  }
  auto graph = WorkflowGraph::build(*workflow);
  if (!graph.ok()) return graph.error();
  const PluginCatalog catalog = PluginCatalog::scan(trust.pluginPath);
  for (const Step& step : workflow->steps) {
    auto package = catalog.resolve(step.plugin, step.pluginRange);
    if (!package.ok()) {
      return makeError(ErrorCategory::kBadInput, workflowPath + ":" + std::to_string(step.line) +
                                                     ":" + std::to_string(step.column) +
                                                     ": field 'plugin': " + package.error().message)
          .withStep(step.name);
    }
  }
  return workflow;
}

Outcome<std::shared_ptr<Preflight>> preflight(const std::string& workflowPath, Policy policy,
                                              const TrustOptions& trust, const RunAudit& audit) {
  const std::string policyPath = policy.path;
  // The manifests' admissions are gate decisions, recorded before the run starts.
  std::unique_ptr<AuditSubscriber> record;
  std::unique_ptr<RunEvents> events;
  if (audit) {
    record = std::make_unique<AuditSubscriber>(*audit.log(), audit.runId());
    events = std::make_unique<RunEvents>(*record);
  }
  auto result = std::make_shared<Preflight>();
  result->policy = std::move(policy);
  try {
    result->workflow = std::make_unique<Workflow>(loadWorkflow(workflowPath));
  } catch (const InputError& e) {
    return makeError(ErrorCategory::kBadInput, e.what());
  }
  auto graph = WorkflowGraph::build(*result->workflow);
  if (!graph.ok()) return graph.error();
  result->graph = std::move(graph.value());
  auto loaded = loadTrust(trust, result->trustStore, result->ledger);
  if (!loaded.ok()) return loaded.error();
  const TrustContext context{result->trustStore ? &*result->trustStore : nullptr,
                             result->ledger ? &*result->ledger : nullptr};

  const PluginCatalog catalog = PluginCatalog::scan(trust.pluginPath);
  std::map<std::string, std::string> rangeOf;  // one package per plugin name in a workflow
  for (const Step& step : result->workflow->steps) {
    const std::string where = workflowPath + ":" + std::to_string(step.line) + ":" +
                              std::to_string(step.column) + ": field 'plugin': ";
    auto seen = rangeOf.find(step.plugin);
    if (seen != rangeOf.end()) {
      if (seen->second != step.pluginRange) {
        return makeError(ErrorCategory::kBadInput,
                         where + "plugin '" + step.plugin + "' is asked for as '" +
                             step.pluginRange + "' here and as '" + seen->second +
                             "' by another step; one workflow runs one version of a plugin")
            .withStep(step.name);
      }
      continue;
    }
    rangeOf[step.plugin] = step.pluginRange;
    auto package = catalog.resolve(step.plugin, step.pluginRange);
    if (!package.ok())
      return makeError(ErrorCategory::kBadInput, where + package.error().message)
          .withStep(step.name);
    const PluginPolicy* section = result->policy.forPlugin(step.plugin);
    if (section != nullptr && section->dangerLearning) {
      section = &result->policy.plugins
                     .emplace(step.plugin, learningSectionFor(*section, package.value().manifest))
                     .first->second;
    }
    if (section == nullptr) {
      return makeError(ErrorCategory::kPolicyDenial,
                       where + "the policy " + policyPath + " grants nothing to plugin '" +
                           step.plugin + "' (add a plugins." + step.plugin + " section)")
          .withStep(step.name);
    }
    if (!section->dangerLearning && !section->missingRunCalls().empty()) {
      // Refused now, not by the gate at the first init: the run could not succeed.
      return makeError(ErrorCategory::kPolicyDenial,
                       policyPath + ":" + std::to_string(section->lineOf("calls")) + ": field '" +
                           section->fieldPath("calls") + "': " + section->missingRunCallsText() +
                           " (plugin '" + step.plugin + "' of step '" + step.name + "' at " +
                           workflowPath + ":" + std::to_string(step.line) + ")")
          .withStep(step.name);
    }
    auto admitted = admitManifest(package.value().manifest, *section, step.name, events.get());
    if (!admitted.ok()) return admitted.error();
    if (section->maxWorkers > 1 && !package.value().manifest.stateless) {
      return makeError(ErrorCategory::kBadInput,
                       policyPath + ":" + std::to_string(section->lineOf("max_workers")) +
                           ": field '" + section->fieldPath("max_workers") + "': plugin '" +
                           step.plugin + "' may keep state across its steps (its manifest " +
                           package.value().manifest.path +
                           " does not say 'stateless: true'), so its steps run on one worker")
          .withStep(step.name);
    }
    static const std::vector<std::string> kNoPaths;
    // Configuration, not a call-time decision: every path the section names must exist.
    auto readFileGrant = section->host.find(HostCapability::kReadFile);
    const HostGrant* readFile =
        readFileGrant == section->host.end() ? nullptr : &readFileGrant->second;
    for (const auto& [key, paths] :
         {std::pair{"filesystem.read_only", &section->readOnlyPaths},
          std::pair{"filesystem.read_write", &section->readWritePaths},
          std::pair{"host.read_file.paths", readFile ? &readFile->pathPrefixes : &kNoPaths}}) {
      for (const std::string& path : *paths) {
        if (access(path.c_str(), F_OK) != 0) {
          return makeError(ErrorCategory::kBadInput,
                           policyPath + ":" + std::to_string(section->lineOf(key)) + ": field '" +
                               section->fieldPath(key) + "': '" + path + "' does not exist")
              .withStep(step.name);
        }
      }
    }
    auto programs = compileSeccompPrograms(*section);
    if (!programs.ok()) {
      return makeError(ErrorCategory::kBadInput, policyPath + ":" + std::to_string(section->line) +
                                                     ": " + programs.error().message);
    }
    auto verified = verifyPlugin(package.value(), section->signature, context, audit);
    if (!verified.ok()) return std::move(verified.error()).withStep(step.name);
    if (auto refused = refuseWritableCode(verified.value(), *section, audit); !refused.ok())
      return std::move(refused.error()).withStep(step.name);
    result->plugins.emplace(step.plugin, std::move(verified.value()));
    result->seccomp.emplace(step.plugin, std::move(programs.value()));
  }
  return result;
}

}  // namespace cordon
