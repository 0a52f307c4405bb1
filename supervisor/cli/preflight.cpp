#include "cli/preflight.h"

#include <unistd.h>

#include <set>

#include "core/yaml_document.h"
#include "policy/policy_parser.h"
#include "policy/seccomp_compiler.h"
#include "workflow/workflow_parser.h"

namespace cordon {

Outcome<std::shared_ptr<Preflight>> preflight(const std::string& workflowPath,
                                              const std::string& policyPath,
                                              const PluginLocator& locator) {
  auto result = std::make_shared<Preflight>();
  try {
    result->workflow = std::make_unique<Workflow>(loadWorkflow(workflowPath));
    result->policy = loadPolicy(policyPath);
  } catch (const InputError& e) {
    return makeError(ErrorCategory::kBadInput, e.what());
  }
  auto graph = WorkflowGraph::build(*result->workflow);
  if (!graph.ok()) return graph.error();
  result->graph = std::move(graph.value());

  std::set<std::string> checked;
  for (const Step& step : result->workflow->steps) {
    if (!checked.insert(step.plugin).second) continue;
    const std::string where = workflowPath + ":" + std::to_string(step.line) + ": field 'plugin': ";
    auto path = locator.locate(step.plugin);
    if (!path.ok())
      return makeError(ErrorCategory::kBadInput, where + path.error().message).withStep(step.name);
    const PluginPolicy* section = result->policy.forPlugin(step.plugin);
    if (section == nullptr) {
      return makeError(ErrorCategory::kPolicyDenial,
                       where + "the policy " + policyPath + " grants nothing to plugin '" +
                           step.plugin + "' (add a plugins." + step.plugin + " section)")
          .withStep(step.name);
    }
    for (const std::string& path : section->readOnlyPaths) {
      if (access(path.c_str(), F_OK) != 0) {
        return makeError(ErrorCategory::kBadInput,
                         policyPath + ":" + std::to_string(section->line) + ": field 'plugins." +
                             section->name + ".filesystem.read_only': '" + path +
                             "' does not exist")
            .withStep(step.name);
      }
    }
    auto programs = compileSeccompPrograms(*section);
    if (!programs.ok()) {
      return makeError(ErrorCategory::kBadInput, policyPath + ":" + std::to_string(section->line) +
                                                     ": " + programs.error().message);
    }
  }
  return result;
}

}  // namespace cordon
