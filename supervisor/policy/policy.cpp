#include "policy/policy.h"

#include <cerrno>

namespace cordon {
namespace {

constexpr std::pair<PluginMethod, const char*> kMethods[] = {
    {PluginMethod::kDescribe, "describe"},
    {PluginMethod::kInit, "init"},
    {PluginMethod::kExecute, "execute"},
    {PluginMethod::kShutdown, "shutdown"},
};
constexpr std::pair<int, const char*> kErrnoNames[] = {
    {EPERM, "EPERM"},   {EACCES, "EACCES"},   {ENOSYS, "ENOSYS"},
    {EINVAL, "EINVAL"}, {ENOTSUP, "ENOTSUP"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
    {ENOENT, "ENOENT"}, {EROFS, "EROFS"},     {ENOSPC, "ENOSPC"}};
constexpr std::pair<HostCapability, const char*> kCapabilities[] = {
    {HostCapability::kLog, "log"},
    {HostCapability::kReadInput, "read_input"},
    {HostCapability::kReadFile, "read_file"},
    {HostCapability::kMapInput, "map_input"},
};

}  // namespace

std::optional<PluginMethod> pluginMethodFromName(const std::string& name) {
  for (const auto& [method, text] : kMethods) {
    if (name == text) return method;
  }
  return std::nullopt;
}

std::optional<HostCapability> hostCapabilityFromName(const std::string& name) {
  for (const auto& [capability, text] : kCapabilities) {
    if (name == text) return capability;
  }
  return std::nullopt;
}

const char* pluginMethodName(PluginMethod method) {
  for (const auto& [candidate, text] : kMethods) {
    if (candidate == method) return text;
  }
  return "?";
}

const char* hostCapabilityName(HostCapability capability) {
  if (capability == HostCapability::kCreateOutput) return "create_output";  // not grantable
  for (const auto& [candidate, text] : kCapabilities) {
    if (candidate == capability) return text;
  }
  return "?";
}

bool ArgCondition::matches(const uint64_t (&args)[6]) const {
  const uint64_t arg = args[index];
  switch (op) {
    case Op::kEq:
      return arg == value;
    case Op::kNe:
      return arg != value;
    case Op::kLt:
      return arg < value;
    case Op::kLe:
      return arg <= value;
    case Op::kGt:
      return arg > value;
    case Op::kGe:
      return arg >= value;
    case Op::kMaskedEq:
      return (arg & mask) == value;
  }
  return false;
}

bool SyscallRule::matches(const uint64_t (&args)[6]) const {
  for (const ArgCondition& condition : conditions) {
    if (!condition.matches(args)) return false;
  }
  return true;
}

std::optional<int> errnoFromName(const std::string& name) {
  for (const auto& [error, text] : kErrnoNames) {
    if (name == text) return error;
  }
  return std::nullopt;
}

std::string errnoText(int error) {
  for (const auto& [candidate, text] : kErrnoNames) {
    if (candidate == error) return text;
  }
  return std::to_string(error);
}

std::vector<std::string> PluginPolicy::dangerModes() const {
  std::vector<std::string> modes;
  if (dangerWXorXOff) modes.emplace_back("danger_w_xor_x_off");
  if (!ociImports.empty()) modes.emplace_back("danger_oci_seccomp");
  if (dangerLearning) modes.emplace_back("danger_learning");
  return modes;
}

std::vector<PluginMethod> PluginPolicy::missingRunCalls() const {
  std::vector<PluginMethod> missing;
  for (PluginMethod method : kCallsEveryRunMakes) {
    if (!allows(method)) missing.push_back(method);
  }
  return missing;
}

std::string PluginPolicy::fieldPath(const std::string& key) const {
  const std::string section = name == "default" ? "default" : "plugins." + name;
  return key.empty() ? section : section + "." + key;
}

int PluginPolicy::lineOf(const std::string& key) const {
  auto line = fieldLines.find(key.substr(0, key.find('.')));
  return line != fieldLines.end() ? line->second : this->line;
}

std::string PluginPolicy::missingRunCallsText() const {
  const std::vector<PluginMethod> missing = missingRunCalls();
  if (missing.empty()) return "";
  std::string names;
  for (size_t i = 0; i < missing.size(); ++i) {
    names += (i == 0 ? "'" : i + 1 == missing.size() ? " and '" : ", '");
    names += pluginMethodName(missing[i]);
    names += "'";
  }
  return "lacks " + names + ", which every run calls (describe, init and execute, even for a " +
         "plugin whose init is NULL; shutdown to stop it in good order): calls: [describe, " +
         "init, execute, shutdown]";
}

const HostGrant* PluginPolicy::grant(HostCapability capability) const {
  auto it = host.find(capability);
  return it == host.end() ? nullptr : &it->second;
}

const PluginPolicy* Policy::forPlugin(const std::string& plugin) const {
  auto it = plugins.find(plugin);
  if (it != plugins.end()) return &it->second;
  return fallback ? &*fallback : nullptr;
}

}  // namespace cordon
