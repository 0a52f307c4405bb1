#include "worker/sandbox_spec_builder.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include "cordon.capnp.h"
#include "policy/seccomp_compiler.h"
#include "worker/cgroup_limits.h"

namespace cordon {

uint64_t maxRpcMessageWords(const PluginPolicy& policy) {
  // Outputs are the largest thing a worker sends; inputs travel in readInput chunks of 1 MiB.
  constexpr uint64_t kSlackWords = (4ull << 20) / 8;
  return policy.maxOutputBytes / 8 + kSlackWords;
}

Outcome<std::vector<unsigned char>> buildSandboxSpec(const std::string& pluginName,
                                                     const std::string& pluginPath,
                                                     const PluginPolicy& policy,
                                                     MemoryLimitBy memoryLimit) {
  auto programs = compileSeccompPrograms(policy);
  if (!programs.ok()) return programs.error();
  return buildSandboxSpec(pluginName, pluginPath, policy, programs.value(), memoryLimit);
}

std::vector<unsigned char> buildSandboxSpec(const std::string& pluginName,
                                            const std::string& pluginPath,
                                            const PluginPolicy& policy,
                                            const SeccompPrograms& programs,
                                            MemoryLimitBy memoryLimit) {
  capnp::MallocMessageBuilder message;
  auto spec = message.initRoot<ipc::SandboxSpec>();
  spec.setPluginPath(pluginPath);
  spec.setPluginName(pluginName);
  auto limits = spec.initLimits();
  limits.setAddressSpaceBytes(memoryLimit == MemoryLimitBy::kCgroup
                                  ? addressSpaceBackstop(policy.limits.memoryBytes)
                                  : policy.limits.memoryBytes);
  limits.setCpuSeconds(policy.limits.cpuSeconds);
  limits.setOpenFiles(policy.limits.openFiles);
  limits.setProcesses(policy.limits.processes);
  limits.setFileSizeBytes(policy.limits.fileSizeBytes);
  auto asData = [](const std::vector<unsigned char>& bytes) {
    return capnp::Data::Reader(bytes.data(), bytes.size());
  };
  spec.setLoaderFilter(asData(programs.filter));
  spec.setMaxRpcMessageWords(maxRpcMessageWords(policy));
  auto paths = spec.initReadOnlyPaths(static_cast<unsigned>(policy.readOnlyPaths.size()));
  for (unsigned i = 0; i < paths.size(); ++i) paths.set(i, policy.readOnlyPaths[i]);
  auto writable = spec.initReadWritePaths(static_cast<unsigned>(policy.readWritePaths.size()));
  for (unsigned i = 0; i < writable.size(); ++i) writable.set(i, policy.readWritePaths[i]);
  spec.setScratchBytes(policy.scratchBytes);
  spec.setMountProc(policy.mountProc);
  spec.setDevices(policy.devices);
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::vector<unsigned char>(bytes.begin(), bytes.end());
}

}  // namespace cordon
