// `cordon plugins list | inspect | audit` (docs/trust.md). Exit codes as in commands.h; audit
// exits 1 when it finds something at or above --fail-on.
#pragma once

#include <string>

#include "cli/preflight.h"

namespace cordon {

int pluginsListCommand(const TrustOptions& trust, bool json);
int pluginsInspectCommand(const TrustOptions& trust, const std::string& reference,
                          const std::string& policyPath, bool json);
// `target` is a package directory, or a plugin name (resolved on the search path).
int pluginsAuditCommand(const TrustOptions& trust, const std::string& target,
                        const std::string& policyPath, const std::string& failOn, bool json);

}  // namespace cordon
