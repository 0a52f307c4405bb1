#include "policy/policy_canonical.h"

namespace cordon {
namespace {

const char* actionName(SyscallRule::Action action) {
  switch (action) {
    case SyscallRule::Action::kAllow:
      return "allow";
    case SyscallRule::Action::kErrno:
      return "errno";
    case SyscallRule::Action::kKill:
      return "kill";
    case SyscallRule::Action::kLog:
      return "log";
  }
  return "?";
}

nlohmann::json ruleJson(const SyscallRule& rule) {
  nlohmann::json conditions = nlohmann::json::array();
  for (const ArgCondition& condition : rule.conditions) {
    conditions.push_back(
        {condition.index, static_cast<int>(condition.op), condition.value, condition.mask});
  }
  return {{"name", rule.name},
          {"conditions", conditions},
          {"action", actionName(rule.action)},
          {"errno", rule.error}};
}

}  // namespace

nlohmann::json canonicalSection(const PluginPolicy& section) {
  // A field added to PluginPolicy must be added here too, or two sections that differ in it
  // would share cached results: this trips when the struct changes size.
  static_assert(sizeof(PluginPolicy) == 504, "PluginPolicy changed: render the new field below");
  nlohmann::json calls = nlohmann::json::array();
  for (PluginMethod method : section.calls) calls.push_back(pluginMethodName(method));
  nlohmann::json host = nlohmann::json::object();
  for (const auto& [capability, grant] : section.host) {
    host[hostCapabilityName(capability)] = {{"max_bytes", grant.maxBytes},
                                            {"max_calls", grant.maxCalls},
                                            {"rate_per_second", grant.ratePerSecond},
                                            {"paths", grant.pathPrefixes}};
  }
  nlohmann::json rules = nlohmann::json::array();
  for (const SyscallRule& rule : section.syscallRules) rules.push_back(ruleJson(rule));
  nlohmann::json oci = nlohmann::json::array();
  for (const auto& [path, left] : section.ociImports) oci.push_back({path, left});
  const ResourceLimits& limits = section.limits;
  return {
      {"calls", calls},
      {"host", host},
      {"syscall_groups", section.syscallGroups},
      {"syscalls", section.syscalls},
      {"syscall_rules", rules},
      {"danger_w_xor_x_off", section.dangerWXorXOff},
      {"limits",
       {{"memory_bytes", limits.memoryBytes},
        {"cpu_seconds", limits.cpuSeconds},
        {"open_files", limits.openFiles},
        {"processes", limits.processes},
        {"file_size_bytes", limits.fileSizeBytes},
        {"cpu_percent", limits.cpuPercent}}},
      {"timeout_ms", section.callTimeout.count()},
      {"max_output_bytes", section.maxOutputBytes},
      {"violation_errno",
       section.violationErrno ? nlohmann::json(*section.violationErrno) : nlohmann::json(nullptr)},
      {"read_only", section.readOnlyPaths},
      {"read_write", section.readWritePaths},
      {"scratch_bytes", section.scratchBytes},
      {"proc", section.mountProc},
      {"devices", section.devices},
      {"signature",
       {{"required", section.signature.required},
        {"allow_legacy", section.signature.allowLegacy},
        {"allow_rollback", section.signature.allowRollback}}},
      {"on_failure",
       {{"restarts", section.onFailure.restarts},
        {"backoff_ms", section.onFailure.backoff.count()}}},
      {"max_workers", section.maxWorkers},
      {"danger_learning", section.dangerLearning},
      {"oci_imports", oci},
  };
}

}  // namespace cordon
