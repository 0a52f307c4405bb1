// Workflow files (YAML) into Workflow values. Errors name file:line:field (InputError).
#pragma once

#include <string>

#include "core/yaml_document.h"
#include "workflow/workflow.h"

namespace cordon {

Workflow loadWorkflow(const std::string& path);
Workflow parseWorkflow(const YamlDocument& document);

}  // namespace cordon
