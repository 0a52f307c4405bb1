// `cordon policy learn`: turns what one learning run did (its audit records: gate.learn,
// gate.allow, plugin.stop, step.end) into the smallest policy that lets the same run pass, with
// headroom on every measured figure. The operator reviews it, then enforces it.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "plugins/manifest.h"
#include "policy/policy.h"

namespace cordon {

// The everything-allowed-but-recorded section a learning run uses for every plugin (as the
// policy's `default`): all methods and host capabilities with budgets no real run reaches,
// generous limits, and `learning` set, so the gate lets each syscall through and records it.
Policy learningPolicy();

struct HostUse {
  uint64_t callsPerCall = 0;  // the most calls in one init/execute call
  uint64_t bytesPerCall = 0;  // the most bytes in one call (read_input: the total)
  uint64_t largestBytes = 0;  // the largest single call (log: one message)
};

struct LearnedPlugin {
  std::set<PluginMethod> calls;
  std::set<std::string> syscalls;     // recorded beyond the runtime set
  std::set<std::string> filePaths;    // read through read_file
  std::set<std::string> openedPaths;  // opened for reading (openat) inside the sandbox
  std::set<std::string> writeWanted;  // opened for writing: not brokered, not granted
  std::map<HostCapability, HostUse> host;
  std::vector<std::string> manifestSyscalls;  // groups and names the manifest asks for
  std::vector<std::string> readOnlyPaths;     // the manifest's filesystem requests
  uint64_t maxRssKib = 0;
  double cpuSeconds = 0;
  double longestStepMs = 0;
  uint64_t largestOutputBytes = 0;
};

class PolicyLearner {
 public:
  void observeRecord(const nlohmann::json& record);
  void observeManifest(const PluginManifest& manifest);
  void observeOutputs(const std::string& plugin, uint64_t totalBytes);

  const std::map<std::string, LearnedPlugin>& plugins() const { return plugins_; }

  // A policy file (YAML, docs/policy.md) with one section per plugin seen.
  std::string policyYaml(const std::string& workflowPath, const std::string& runId) const;

 private:
  std::map<std::string, LearnedPlugin> plugins_;
};

}  // namespace cordon
