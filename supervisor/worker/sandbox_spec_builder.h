// Builds the SandboxSpec message a new worker reads on fd 4: the plugin, its rlimits and the
// seccomp programs compiled from its policy.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace cordon {

Outcome<std::vector<unsigned char>> buildSandboxSpec(const std::string& pluginName,
                                                     const std::string& pluginPath,
                                                     const PluginPolicy& policy);

// The largest RPC message either side accepts from the other, in 8-byte words.
uint64_t maxRpcMessageWords(const PluginPolicy& policy);

}  // namespace cordon
