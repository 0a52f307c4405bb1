// `cordon policy lint`: a policy that parses can still grant more than an operator means to.
// These are the grants a reviewer should look at twice; each finding names file:line:field.
#pragma once

#include <string>
#include <vector>

#include "policy/policy.h"

namespace cordon {

struct LintFinding {
  int line = 0;
  std::string field;    // "plugins.NAME.filesystem.read_only[0]"
  std::string message;  // what is risky and why
};

std::vector<LintFinding> lintPolicy(const Policy& policy);

}  // namespace cordon
