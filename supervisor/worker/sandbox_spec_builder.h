// Builds the SandboxSpec message a new worker reads on fd 4: the plugin, its rlimits and the
// seccomp programs compiled from its policy.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"
#include "policy/seccomp_compiler.h"

namespace cordon {

// How the worker's memory_mb is enforced: by RLIMIT_AS alone, or by cgroup v2 memory.max with
// RLIMIT_AS as a looser backstop (worker/cgroup_limits.h).
enum class MemoryLimitBy { kAddressSpace, kCgroup };

Outcome<std::vector<unsigned char>> buildSandboxSpec(
    const std::string& pluginName, const std::string& pluginPath, const PluginPolicy& policy,
    MemoryLimitBy memoryLimit = MemoryLimitBy::kAddressSpace);
// The same with the policy's seccomp programs compiled already (the run plan's).
std::vector<unsigned char> buildSandboxSpec(const std::string& pluginName,
                                            const std::string& pluginPath,
                                            const PluginPolicy& policy,
                                            const SeccompPrograms& programs,
                                            MemoryLimitBy memoryLimit);

// The largest RPC message either side accepts from the other, in 8-byte words.
uint64_t maxRpcMessageWords(const PluginPolicy& policy);

}  // namespace cordon
