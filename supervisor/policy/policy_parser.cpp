#include "policy/policy_parser.h"

#include <seccomp.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "policy/oci_profile.h"
#include "policy/syscall_groups.h"

namespace cordon {
namespace {

std::vector<std::string> parseHostPaths(const YamlDocument& doc, const YAML::Node& node,
                                        const std::string& field);

void parseHostGrants(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                     PluginPolicy& policy) {
  doc.requireMap(node, field);
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    const std::string grantField = field + "." + name;
    auto capability = hostCapabilityFromName(name);
    if (!capability) {
      doc.fail(entry.first, grantField,
               "unknown host capability (log, read_input, read_file, map_input)");
    }
    HostGrant grant;
    const YAML::Node& settings = entry.second;
    if (!settings.IsNull()) {
      doc.requireMap(settings, grantField);
      doc.rejectUnknownKeys(settings, grantField,
                            {"max_bytes", "max_calls", "rate_per_second", "paths"});
      if (settings["paths"]) {
        if (*capability != HostCapability::kReadFile) {
          doc.fail(settings["paths"], grantField + ".paths", "only read_file takes paths");
        }
        grant.pathPrefixes = parseHostPaths(doc, settings["paths"], grantField + ".paths");
      }
      if (settings["rate_per_second"]) {
        grant.ratePerSecond = doc.unsignedInteger(settings["rate_per_second"],
                                                  grantField + ".rate_per_second", 1, 1'000'000);
      }
      if (settings["max_bytes"]) {
        grant.maxBytes =
            doc.unsignedInteger(settings["max_bytes"], grantField + ".max_bytes", 1, 1ull << 40);
      }
      if (settings["max_calls"]) {
        grant.maxCalls =
            doc.unsignedInteger(settings["max_calls"], grantField + ".max_calls", 1, 1ull << 32);
      }
    }
    if (*capability == HostCapability::kReadFile && grant.pathPrefixes.empty()) {
      doc.fail(entry.second, grantField, "read_file needs paths: [ABSOLUTE_PATH, ...]");
    }
    if (grant.maxBytes == 0) {
      grant.maxBytes = *capability == HostCapability::kLog ? 4096 : 16 * kMiB;
    }
    policy.host[*capability] = grant;
  }
}

// An errno by name (errnoFromName) or, for the rest, by number (1 - 4095).
int parseErrnoName(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  std::string name = doc.scalar(node, field);
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<int>(doc.unsignedInteger(node, field, 1, 4095));
  }
  auto known = errnoFromName(name);
  if (!known) {
    doc.fail(node, field,
             "'" + name +
                 "' is not one of EPERM, EACCES, ENOSYS, EINVAL, ENOTSUP, EAFNOSUPPORT, ENOENT, "
                 "EROFS, ENOSPC (or an errno number)");
  }
  return *known;
}

// A syscall name a policy may write, or fails saying why not.
void checkGrantableSyscall(const YamlDocument& doc, const YAML::Node& node,
                           const std::string& field, const std::string& name) {
  if (isForbiddenSyscall(name)) {
    doc.fail(node, field, "'" + name + "' may not be granted to a plugin");
  }
  if (seccomp_syscall_resolve_name(name.c_str()) == __NR_SCMP_ERROR) {
    doc.fail(node, field, "'" + name + "' is neither a syscall group nor a syscall name");
  }
}

// Decimal or 0x-prefixed hexadecimal, the full 64 bits.
uint64_t parseArgValue(const YamlDocument& doc, const YAML::Node& node, const std::string& field) {
  const std::string text = doc.scalar(node, field);
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::string digits = hex ? text.substr(2) : text;
  const char* allowed = hex ? "0123456789abcdefABCDEF" : "0123456789";
  if (digits.empty() || digits.size() > (hex ? 16u : 20u) ||
      digits.find_first_not_of(allowed) != std::string::npos) {
    doc.fail(node, field, "'" + text + "' is not an unsigned 64-bit number (decimal or 0x hex)");
  }
  errno = 0;
  uint64_t value = std::strtoull(digits.c_str(), nullptr, hex ? 16 : 10);
  if (errno == ERANGE) doc.fail(node, field, "'" + text + "' does not fit in 64 bits");
  return value;
}

ArgCondition parseArgCondition(const YamlDocument& doc, const YAML::Node& node,
                               const std::string& field) {
  static const std::map<std::string, ArgCondition::Op> kOps = {
      {"eq", ArgCondition::Op::kEq},
      {"ne", ArgCondition::Op::kNe},
      {"lt", ArgCondition::Op::kLt},
      {"le", ArgCondition::Op::kLe},
      {"gt", ArgCondition::Op::kGt},
      {"ge", ArgCondition::Op::kGe},
      {"masked_eq", ArgCondition::Op::kMaskedEq}};
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"index", "op", "value", "mask"});
  ArgCondition condition;
  condition.index =
      static_cast<unsigned>(doc.unsignedInteger(node["index"], field + ".index", 0, 5));
  std::string op = node["op"] ? doc.scalar(node["op"], field + ".op") : "eq";
  auto known = kOps.find(op);
  if (known == kOps.end()) {
    doc.fail(node["op"], field + ".op",
             "'" + op + "' is not one of eq, ne, lt, le, gt, ge, masked_eq");
  }
  condition.op = known->second;
  condition.value = parseArgValue(doc, node["value"], field + ".value");
  if (condition.op == ArgCondition::Op::kMaskedEq) {
    condition.mask = parseArgValue(doc, node["mask"], field + ".mask");
  } else if (node["mask"]) {
    doc.fail(node["mask"], field + ".mask", "only masked_eq takes a mask");
  }
  return condition;
}

// allow | kill | log | { errno: NAME }
void parseRuleAction(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                     SyscallRule& rule) {
  if (node.IsScalar()) {
    const std::string& action = node.Scalar();
    if (action == "allow") return void(rule.action = SyscallRule::Action::kAllow);
    if (action == "kill") return void(rule.action = SyscallRule::Action::kKill);
    if (action == "log") return void(rule.action = SyscallRule::Action::kLog);
  }
  if (!node.IsMap()) doc.fail(node, field, "must be allow, kill, log or { errno: NAME }");
  doc.rejectUnknownKeys(node, field, {"errno"});
  rule.action = SyscallRule::Action::kErrno;
  rule.error = parseErrnoName(doc, node["errno"], field + ".errno");
}

SyscallRule parseSyscallRule(const YamlDocument& doc, const YAML::Node& node,
                             const std::string& field) {
  doc.rejectUnknownKeys(node, field, {"name", "args", "action"});
  SyscallRule rule;
  rule.line = node.Mark().line + 1;
  rule.name = doc.requireString(node, "name", field + ".name");
  checkGrantableSyscall(doc, node["name"], field + ".name", rule.name);
  if (rule.name == "mmap" || rule.name == "mprotect") {
    doc.fail(node["name"], field + ".name",
             "'" + rule.name + "' is governed by w_xor_x, not by rules");
  }
  if (node["args"]) {
    doc.requireSequence(node["args"], field + ".args");
    std::set<unsigned> compared;
    for (size_t i = 0; i < node["args"].size(); ++i) {
      const std::string argField = field + ".args[" + std::to_string(i) + "]";
      rule.conditions.push_back(parseArgCondition(doc, node["args"][i], argField));
      // The kernel filter (libseccomp 2.5) compares each argument once per rule.
      if (!compared.insert(rule.conditions.back().index).second) {
        doc.fail(node["args"][i], argField,
                 "argument " + std::to_string(rule.conditions.back().index) +
                     " is already compared in this rule (one condition per argument; use "
                     "masked_eq, or a second rule)");
      }
    }
  }
  if (node["action"]) parseRuleAction(doc, node["action"], field + ".action", rule);
  return rule;
}

// Each entry is a group name, a syscall name (allowed whatever its arguments), or a rule map.
void parseSyscalls(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                   PluginPolicy& policy) {
  doc.requireSequence(node, field);
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string itemField = field + "[" + std::to_string(i) + "]";
    if (node[i].IsMap()) {
      SyscallRule rule = parseSyscallRule(doc, node[i], itemField);
      if (rule.action == SyscallRule::Action::kAllow && rule.conditions.empty()) {
        policy.syscalls.insert(rule.name);
      } else {
        policy.syscallRules.push_back(rule);
      }
      continue;
    }
    const std::string name = doc.scalar(node[i], itemField);
    policy.syscallGroups.push_back(name);
    auto group = syscallGroups().find(name);
    if (group != syscallGroups().end()) {
      policy.syscalls.insert(group->second.begin(), group->second.end());
    } else {
      checkGrantableSyscall(doc, node[i], itemField, name);
      policy.syscalls.insert(name);
    }
  }
}

void parseLimits(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                 ResourceLimits& limits) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(
      node, field,
      {"memory_mb", "cpu_seconds", "open_files", "processes", "file_size_mb", "cpu_percent"});
  if (node["cpu_percent"])
    limits.cpuPercent = doc.unsignedInteger(node["cpu_percent"], field + ".cpu_percent", 1, 6400);
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

// A list of host paths: absolute, no `.`/`..` components, not the root, not the kernel's pseudo
// filesystems nor the worker's own mounts.
std::vector<std::string> parseHostPaths(const YamlDocument& doc, const YAML::Node& node,
                                        const std::string& field) {
  auto paths = doc.stringList(node, field);
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    std::string why;
    if (path.empty() || path[0] != '/') why = "must be an absolute path";
    if (path == "/") why = "may not be the whole root";
    if (path.find("/./") != std::string::npos || path.find("/../") != std::string::npos ||
        path.ends_with("/.") || path.ends_with("/..")) {
      why = "may not contain '.' or '..' components";
    }
    for (const char* pseudo : {"/proc", "/sys", "/dev", "/plugin", "/scratch"}) {
      std::string prefix = pseudo;
      if (path == prefix || path.rfind(prefix + "/", 0) == 0) {
        why = "may not reach into " + prefix +
              " (kernel interfaces, or the worker's own mounts: filesystem.proc, "
              "filesystem.devices, filesystem.scratch_mb)";
      }
    }
    if (!why.empty())
      doc.fail(node[i], field + "[" + std::to_string(i) + "]", "'" + path + "' " + why);
  }
  return paths;
}

// filesystem: { read_only: [PATH], read_write: [PATH], scratch_mb: N, proc: BOOL, devices: BOOL }
void parseFilesystem(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                     PluginPolicy& policy) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"read_only", "read_write", "scratch_mb", "proc", "devices"});
  if (node["read_only"]) {
    for (auto& path : parseHostPaths(doc, node["read_only"], field + ".read_only"))
      policy.readOnlyPaths.push_back(path);
  }
  if (node["read_write"]) {
    for (auto& path : parseHostPaths(doc, node["read_write"], field + ".read_write"))
      policy.readWritePaths.push_back(path);
  }
  if (node["scratch_mb"]) {
    policy.scratchBytes =
        doc.unsignedInteger(node["scratch_mb"], field + ".scratch_mb", 1, uint64_t{64} * 1024)
        << 20;
  }
  if (node["proc"]) policy.mountProc = doc.boolean(node["proc"], field + ".proc");
  if (node["devices"]) policy.devices = doc.boolean(node["devices"], field + ".devices");
  const bool reads = !policy.readOnlyPaths.empty() || !policy.readWritePaths.empty() ||
                     policy.scratchBytes != 0 || policy.mountProc || policy.devices;
  if (reads) policy.syscalls.insert(fileSyscalls().begin(), fileSyscalls().end());
  if (!policy.readWritePaths.empty() || policy.scratchBytes != 0) {
    policy.syscalls.insert(writeSyscalls().begin(), writeSyscalls().end());
  }
}

// `kill` (the default) or `{ errno: NAME }`: what a syscall outside the allowlist gets.
std::optional<int> parseViolationAction(const YamlDocument& doc, const YAML::Node& node,
                                        const std::string& field) {
  if (node.IsScalar() && node.Scalar() == "kill") return std::nullopt;
  if (!node.IsMap()) doc.fail(node, field, "must be 'kill' or { errno: NAME }");
  doc.rejectUnknownKeys(node, field, {"errno"});
  return parseErrnoName(doc, node["errno"], field + ".errno");
}

// signature: { required, allow_legacy, allow_rollback } (docs/trust.md); all closed by default.
SignatureRules parseSignatureRules(const YamlDocument& doc, const YAML::Node& node,
                                   const std::string& field) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(node, field, {"required", "allow_legacy", "allow_rollback"});
  SignatureRules rules;
  if (node["required"]) rules.required = doc.boolean(node["required"], field + ".required");
  if (node["allow_legacy"])
    rules.allowLegacy = doc.boolean(node["allow_legacy"], field + ".allow_legacy");
  if (node["allow_rollback"])
    rules.allowRollback = doc.boolean(node["allow_rollback"], field + ".allow_rollback");
  return rules;
}

// `fail` (the default) or { restart: N, backoff_ms: M }.
void parseFailurePolicy(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
                        PluginPolicy& policy) {
  if (node.IsScalar() && node.Scalar() == "fail") {
    policy.onFailure = FailurePolicy{};
    return;
  }
  if (!node.IsMap()) doc.fail(node, field, "must be 'fail' or { restart: N, backoff_ms: M }");
  doc.rejectUnknownKeys(node, field, {"restart", "backoff_ms"});
  policy.onFailure.restarts =
      static_cast<unsigned>(doc.unsignedInteger(node["restart"], field + ".restart", 1, 10));
  if (node["backoff_ms"]) {
    policy.onFailure.backoff = std::chrono::milliseconds(
        doc.unsignedInteger(node["backoff_ms"], field + ".backoff_ms", 0, 60000));
  }
}

// danger_oci_seccomp: FILE.json, relative to the policy file. Its default action becomes
// on_violation (which the section may still set itself); its entries add syscalls and rules.
void importOci(const YamlDocument& doc, const YAML::Node& node, const std::string& field,
               PluginPolicy& policy) {
  const std::string written = doc.scalar(node, field);
  std::string path = written;
  if (!path.empty() && path[0] != '/') {
    const std::string& dir = doc.path();
    size_t slash = dir.rfind('/');
    path = (slash == std::string::npos ? "" : dir.substr(0, slash + 1)) + path;
  }
  OciImport import;
  try {
    import = importOciProfile(path);
  } catch (const InputError& e) {
    doc.fail(node, field, e.what());
  }
  policy.syscalls.insert(import.syscalls.begin(), import.syscalls.end());
  const int line = node.Mark().line + 1;
  for (SyscallRule rule : import.rules) {
    rule.line = line;
    policy.syscallRules.push_back(rule);
  }
  policy.violationErrno = import.violationErrno;
  policy.ociImports.emplace_back(written, import.skipped.size());
}

// A section's keys laid over `base` (a profile it extends, or the closed defaults): scalars and
// limits replace, grant lists (calls, host capabilities, syscalls, paths) add to the base's.
PluginPolicy parsePluginPolicy(const YamlDocument& doc, const YAML::Node& node,
                               const std::string& name, const std::string& field,
                               PluginPolicy base) {
  doc.requireMap(node, field);
  doc.rejectUnknownKeys(
      node, field,
      {"extends", "calls", "host", "syscalls", "limits", "timeout_ms", "max_output_bytes",
       "on_violation", "filesystem", "signature", "danger_w_xor_x_off", "danger_oci_seccomp",
       "on_failure", "max_workers", "w_xor_x", "oci_seccomp"});
  PluginPolicy policy = std::move(base);
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
  // The old names of the danger modes: refused with the new name, never quietly honoured.
  if (node["w_xor_x"]) {
    doc.fail(node["w_xor_x"], field + ".w_xor_x",
             "W^X is on unless the section says 'danger_w_xor_x_off: true' (the key was renamed "
             "so that every mode that weakens the sandbox is found by grepping for danger)");
  }
  if (node["oci_seccomp"]) {
    doc.fail(node["oci_seccomp"], field + ".oci_seccomp",
             "renamed 'danger_oci_seccomp' (an imported container profile grants hundreds of "
             "syscalls; every mode that weakens the sandbox is found by grepping for danger)");
  }
  if (node["danger_oci_seccomp"]) {
    importOci(doc, node["danger_oci_seccomp"], field + ".danger_oci_seccomp", policy);
  }
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
  if (node["on_failure"])
    parseFailurePolicy(doc, node["on_failure"], field + ".on_failure", policy);
  const bool writes = !policy.readWritePaths.empty() || policy.scratchBytes != 0;
  if (writes && policy.limits.fileSizeBytes == 0) {
    doc.fail(node["filesystem"] ? node["filesystem"] : node, field + ".filesystem",
             "grants writes (read_write or scratch_mb) but limits.file_size_mb is 0, so every "
             "write would fail with EFBIG; set limits.file_size_mb");
  }
  if (node["max_workers"]) {
    policy.maxWorkers = static_cast<unsigned>(
        doc.unsignedInteger(node["max_workers"], field + ".max_workers", 1, kMaxWorkersPerPlugin));
  }
  if (node["danger_w_xor_x_off"]) {
    policy.dangerWXorXOff = doc.boolean(node["danger_w_xor_x_off"], field + ".danger_w_xor_x_off");
  }
  return policy;
}

// Resolves `extends:` chains: profiles may extend profiles written before or after them; a cycle
// or an unknown name is an error at the `extends` that names it.
class SectionParser {
 public:
  SectionParser(const YamlDocument& doc, Policy& policy) : doc_(doc), policy_(policy) {
    const YAML::Node& profiles = doc.root()["profiles"];
    if (!profiles) return;
    doc.requireMap(profiles, "profiles");
    for (const auto& entry : profiles) profileNodes_[entry.first.Scalar()] = entry.second;
    for (const auto& entry : profiles) profile(entry.first.Scalar());
  }

  PluginPolicy section(const YAML::Node& node, const std::string& name, const std::string& field) {
    PluginPolicy base;
    if (node.IsMap() && node["extends"]) {
      const std::string baseName = doc_.scalar(node["extends"], field + ".extends");
      if (profileNodes_.count(baseName) == 0) {
        doc_.fail(node["extends"], field + ".extends", "no profile named '" + baseName + "'");
      }
      if (resolving_.count(baseName) != 0) {
        doc_.fail(node["extends"], field + ".extends",
                  "profile '" + baseName + "' extends itself (through " + name + ")");
      }
      base = profile(baseName);
    }
    PluginPolicy parsed = parsePluginPolicy(doc_, node, name, field, std::move(base));
    if (node.IsMap() && node["extends"]) parsed.extends = node["extends"].Scalar();
    return parsed;
  }

 private:
  const PluginPolicy& profile(const std::string& name) {
    auto done = policy_.profiles.find(name);
    if (done != policy_.profiles.end()) return done->second;
    resolving_.insert(name);
    PluginPolicy parsed = section(profileNodes_.at(name), name, "profiles." + name);
    resolving_.erase(name);
    return policy_.profiles.emplace(name, std::move(parsed)).first->second;
  }

  const YamlDocument& doc_;
  Policy& policy_;
  std::map<std::string, YAML::Node> profileNodes_;
  std::set<std::string> resolving_;
};

}  // namespace

Policy parsePolicy(const YamlDocument& doc) {
  const YAML::Node& root = doc.root();
  doc.requireMap(root, "(top level)");
  doc.rejectUnknownKeys(root, "", {"version", "profiles", "plugins", "default"});
  if (doc.unsignedInteger(root["version"], "version", 1, 1) != 1)
    doc.fail(root, "version", "must be 1");
  Policy policy;
  policy.path = doc.path();
  SectionParser sections(doc, policy);
  if (root["plugins"]) {
    doc.requireMap(root["plugins"], "plugins");
    for (const auto& entry : root["plugins"]) {
      const std::string name = entry.first.Scalar();
      if (policy.plugins.count(name) != 0) doc.fail(entry.first, "plugins." + name, "listed twice");
      policy.plugins.emplace(name, sections.section(entry.second, name, "plugins." + name));
    }
  }
  if (root["default"]) policy.fallback = sections.section(root["default"], "default", "default");
  return policy;
}

Policy loadPolicy(const std::string& path) {
  return parsePolicy(YamlDocument::load(path));
}

}  // namespace cordon
