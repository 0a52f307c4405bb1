// Policy files (YAML, docs/policy.md) into Policy values. Errors name file:line:field.
#pragma once

#include <string>

#include "core/yaml_document.h"
#include "policy/policy.h"

namespace cordon {

// Throws InputError.
Policy loadPolicy(const std::string& path);
Policy parsePolicy(const YamlDocument& document);

}  // namespace cordon
