#include "policy/policy_parser.h"

#include <seccomp.h>

#include <cerrno>
#include <map>
#include <optional>

#include "policy/syscall_groups.h"

namespace cordon {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

void parseHostGrants(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                     PluginPolicy& policy) {
  doc.requireMap(node, field);
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const std::string grantField = field + "." + name;
    auto capability = hostCapabilityFromName(name);
    if (!capability) doc.fail(entry.first, grantField, "unknown host capability (log, read_input)");
    HostGrant grant;
    const YAML::Node& settings = entry.second;
    if (!settings.IsNull()) {
      doc.requireMap(settings, grantField);
      doc.rejectUnknownKeys(settings, grantField, {"max_bytes", "max_calls"});
      if (settings["max_bytes"]) {
        grant.maxBytes =
            doc.unsignedInteger(settings["max_bytes"], grantField + ".max_bytes", 1, 1ull << 40);
      }
      if (settings["max_calls"]) {
        grant.maxCalls =
            doc.unsignedInteger(settings["max_calls"], grantField + ".max_calls", 1, 1ull << 32);
      }
    }
    if (grant.maxBytes == 0) {
      grant.maxBytes = *capability == HostCapability::kLog ? 4096 : 16 * kMiB;
    }
    policy.host[*capability] = grant;
  }
}

void parseSyscalls(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                   PluginPolicy& policy) {
  policy.syscallGroups = doc.stringList(node, field);
  for (size_t i = 0; i < policy.syscallGroups.size(); ++i) {
    const std::string& name = policy.syscallGroups[i];
    const std::string itemField = field + "[" + std::to_string(i) + "]";
    auto group = syscallGroups().find(name);
    if (group != syscallGroups().end()) {
      policy.syscalls.insert(group->second.begin(), group->second.end());
    } else if (isForbiddenSyscall(name)) {
      doc.fail(node[i], itemField, "'" + name + "' may not be granted to a plugin");
    } else if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) {
      doc.fail(node[i], itemField, "'" + name + "' is neither a syscall group nor a syscall name");
    } else {
      policy.syscalls.insert(name);
    }
  }
}

void parseLimits(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                 ResourceLimits& limits) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field,
                        {"memory_mb", "cpu_seconds", "open_files", "processes", "file_size_mb"});
  // Lower bounds are what the worker itself needs to start; upper bounds catch unit mistakes.
  if (node["memory_mb"])
    limits.memoryBytes =
        doc.unsignedInteger(node["memory_mb"], field + ".memory_mb", 32, 1 << 20) * kMiB;
  if (node["cpu_seconds"])
    limits.cpuSeconds = doc.unsignedInteger(node["cpu_seconds"], field + ".cpu_seconds", 1, 86400);
  if (node["open_files"])
    limits.openFiles = doc.unsignedInteger(node["open_files"], field + ".open_files", 16, 65536);
  if (node["processes"])
    limits.processes = doc.unsignedInteger(node["processes"], field + ".processes", 1, 4096);
  if (node["file_size_mb"])
    limits.fileSizeBytes =
        doc.unsignedInteger(node["file_size_mb"], field + ".file_size_mb", 0, 1 << 20) * kMiB;
}

// filesystem: { read_only: [ABSOLUTE_PATH, ...] }. Paths are taken as written: absolute, no
// `.`/`..` components, not the root, not the kernel's pseudo filesystems.
void parseFilesystem(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                     PluginPolicy& policy) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"read_only"});
  if (!node["read_only"]) return;
  auto paths = doc.stringList(node["read_only"], field + ".read_only");
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    const std::string itemField = field + ".read_only[" + std::to_string(i) + "]";
    std::string why;
    if (path.empty() || path[0] != '/') why = "must be an absolute path";
    if (path == "/") why = "may not be the whole root";
    if (path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
        path.ends_with("/.") || path.ends_with("/..")) {
      why = "may not contain '.' or '..' components";
    }
    for (const char* pseudo : {"/proc", "/sys", "/dev", "/plugin"}) {
      std::string prefix = pseudo;
      if (path == prefix || path.rfind(prefix + "/", 0) == 0) {
        why = "may not reach into " + prefix + " (kernel interfaces, or the plugin's own mount)";
      }
    }
    if (!why.empty()) doc.fail(node["read_only"][i], itemField, "'" + path + "' " + why);
    policy.readOnlyPaths.push_back(path);
  }
  if (!policy.readOnlyPaths.empty()) {
    policy.syscalls.insert(fileSyscalls().begin(), fileSyscalls().end());
  }
}

// `kill` (the default) or `{ errno: NAME }`: what a syscall outside the allowlist gets.
std::optional<int> parseViolationAction(const YamlDocument& doc, const YAML::Node& node,
                                        const std::string& field) {
  static const std::map<std::string, int> kErrnos = {
      {"EPERM", EPERM},   {"EACCES", EACCES},   {"ENOSYS", ENOSYS},
      {"EINVAL", EINVAL}, {"ENOTSUP", ENOTSUP}, {"EAFNOSUPPORT", EAFNOSUPPORT},
      {"ENOENT", ENOENT}};
  if (node.IsScalar() && node.Scalar() == "kill") return std::nullopt;
  if (!node.IsMap()) doc.fail(node, field, "must be 'kill' or { errno: NAME }");
  doc.rejectUnknownKeys(node, field, {"errno"});
  std::string name = doc.scalar(node["errno"], field + ".errno");
  auto known = kErrnos.find(name);
  if (known == kErrnos.end()) {
    doc.fail(node["errno"], field + ".errno",
             "'" + name +
                 "' is not one of EPERM, EACCES, ENOSYS, EINVAL, ENOTSUP, EAFNOSUPPORT, "
                 "ENOENT");
  }
  return known->second;
}

bool parseBoolean(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  const std::string text = doc.scalar(node, field);
  if (text != "true" && text != "false") doc.fail(node, field, "must be true or false");
  return text == "true";
}

// signature: { required, allow_legacy, allow_rollback } (docs/trust.md); all closed by default.
SignatureRules parseSignatureRules(const YamlDocument& doc, const YAML::Node& node,
                                   const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"required", "allow_legacy", "allow_rollback"});
  SignatureRules rules;
  if (node["required"]) rules.required = parseBoolean(doc, node["required"], field + ".required");
  if (node["allow_legacy"])
    rules.allowLegacy = parseBoolean(doc, node["allow_legacy"], field + ".allow_legacy");
  if (node["allow_rollback"])
    rules.allowRollback = parseBoolean(doc, node["allow_rollback"], field + ".allow_rollback");
  return rules;
}

PluginPolicy parsePluginPolicy(const YamlDocument& doc, const YAML::Node& node,
                               const std::string& name, const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field,
                        {"calls", "host", "syscalls", "limits", "timeout_ms", "max_output_bytes",
                         "on_violation", "filesystem", "signature"});
  PluginPolicy policy;
  policy.name = name;
  policy.line = node.Mark().line + 1;
  for (const auto& entry : node)
    policy.fieldLines[entry.first.Scalar()] = entry.first.Mark().line + 1;
  if (node["calls"]) {
    auto calls = doc.stringList(node["calls"], field + ".calls");
    for (size_t i = 0; i < calls.size(); ++i) {
      auto method = pluginMethodFromName(calls[i]);
      if (!method) {
        doc.fail(node["calls"][i], field + ".calls[" + std::to_string(i) + "]",
                 "unknown method '" + calls[i] + "' (describe, init, execute, shutdown)");
      }
      policy.calls.insert(*method);
    }
  }
  if (node["host"]) parseHostGrants(doc, node["host"], field + ".host", policy);
  if (node["syscalls"]) parseSyscalls(doc, node["syscalls"], field + ".syscalls", policy);
  if (node["limits"]) parseLimits(doc, node["limits"], field + ".limits", policy.limits);
  if (node["timeout_ms"]) {
    policy.callTimeout = std::chrono::milliseconds(
        doc.unsignedInteger(node["timeout_ms"], field + ".timeout_ms", 1, uint64_t{3600} * 1000));
  }
  if (node["max_output_bytes"]) {
    policy.maxOutputBytes =
        doc.unsignedInteger(node["max_output_bytes"], field + ".max_output_bytes", 0, 1ull << 32);
  }
  if (node["filesystem"]) parseFilesystem(doc, node["filesystem"], field + ".filesystem", policy);
  if (node["signature"])
    policy.signature = parseSignatureRules(doc, node["signature"], field + ".signature");
  if (node["on_violation"]) {
    policy.violationErrno =
        parseViolationAction(doc, node["on_violation"], field + ".on_violation");
  }
  return policy;
}

}  // namespace

Policy parsePolicy(const YamlDocument& doc) {
  const YAML::Node& root = doc.root();
  doc.requireMap(root, "(top level)");
  doc.rejectUnknownKeys(root, "", {"version", "plugins", "default"});
  if (doc.unsignedInteger(root["version"], "version", 1, 1) != 1)
    doc.fail(root, "version", "must be 1");
  Policy policy;
  policy.path = doc.path();
  if (root["plugins"]) {
    doc.requireMap(root["plugins"], "plugins");
    for (const auto& entry : root["plugins"]) {
      const std::string name = entry.first.Scalar();
      if (policy.plugins.count(name) != 0) doc.fail(entry.first, "plugins." + name, "listed twice");
      policy.plugins.emplace(name, parsePluginPolicy(doc, entry.second, name, "plugins." + name));
    }
  }
  if (root["default"])
    policy.fallback = parsePluginPolicy(doc, root["default"], "default", "default");
  return policy;
}

Policy loadPolicy(const std::string& path) {
  return parsePolicy(YamlDocument::load(path));
}

}  // namespace cordon
