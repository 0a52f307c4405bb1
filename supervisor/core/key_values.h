// A step's config as written: keys and values in the workflow's order (docs/workflow.md).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cordon {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

}  // namespace cordon
