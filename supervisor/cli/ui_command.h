// `cordon ui`: the dashboard (docs/dashboard.md) over a state directory's journal, served until
// SIGINT or SIGTERM.
#pragma once

#include <string>

#include "cli/host_config.h"

namespace cordon {

// 0 after a signal stops it; 2 when the address cannot be served.
int uiCommand(const TrustOptions& options, const std::string& listen);

}  // namespace cordon
