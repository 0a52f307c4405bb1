// `cordon policy learn`: turns what one learning run did (its audit records: gate.learn,
// gate.allow, plugin.stop, step.end) into the smallest policy that lets the same run pass, with
// headroom on every measured figure (x2, or --headroom). One run is a small sample: the policy
// says how big it was. The operator reviews it, then enforces it.
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
  uint64_t steps = 0;         // the sample: steps run (step.end records) ...
  uint64_t executeCalls = 0;  // ... and execute calls made (one per step, or per item)
};

class PolicyLearner {
 public:
  static constexpr double kDefaultHeadroom = 2.0;
  static constexpr double kMaxHeadroom = 1000.0;
  // Every budget is the largest figure the run showed times `headroom` (at least 1).
  explicit PolicyLearner(double headroom = kDefaultHeadroom) : headroom_(headroom) {}

  void observeRecord(const nlohmann::json& record);
  void observeManifest(const PluginManifest& manifest);
  void observeOutputs(const std::string& plugin, uint64_t totalBytes);

  const std::map<std::string, LearnedPlugin>& plugins() const { return plugins_; }

  // A policy file (YAML, docs/policy.md) with one section per plugin seen.
  std::string policyYaml(const std::string& workflowPath, const std::string& runId) const;
  // "3 steps and 12 execute calls, every budget x2 (--headroom)": what the policy stands on.
  std::string sampleText() const;
  double headroom() const { return headroom_; }

 private:
  uint64_t withHeadroom(uint64_t seen, uint64_t floor) const;
  uint64_t withHeadroom(double seen) const;

  double headroom_;
  std::map<std::string, LearnedPlugin> plugins_;
};

}  // namespace cordon
