#include "policy/oci_profile.h"

#include <seccomp.h>
#include <sys/utsname.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "core/untrusted_text.h"
#include "core/yaml_document.h"
#include "policy/syscall_groups.h"

namespace cordon {
namespace {

using nlohmann::json;

// The names OCI profiles use for this machine's architecture (libseccomp's and Go's).
#if defined(__x86_64__)
const std::set<std::string> kNativeArch = {"SCMP_ARCH_X86_64", "amd64", "x86_64"};
#elif defined(__aarch64__)
const std::set<std::string> kNativeArch = {"SCMP_ARCH_AARCH64", "arm64", "aarch64"};
#else
#error "add this architecture's OCI names"
#endif

class OciReader {
 public:
  OciReader(const std::string& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& field, const std::string& message) const {
    throw InputError(path_ + ": field '" + field + "': " + message);
  }

  const json& member(const json& object, const char* key, const std::string& field) const {
    if (!object.contains(key)) fail(field, "is missing");
    return object.at(key);
  }

  std::string text(const json& value, const std::string& field) const {
    if (!value.is_string()) fail(field, "must be a string");
    return value.get<std::string>();
  }

  uint64_t number(const json& value, const std::string& field) const {
    if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
      fail(field, "must be an unsigned integer");
    }
    return value.get<uint64_t>();
  }

  std::vector<std::string> texts(const json& value, const std::string& field) const {
    if (value.is_null()) return {};
    if (!value.is_array()) fail(field, "must be an array of strings");
    std::vector<std::string> out;
    for (size_t i = 0; i < value.size(); ++i) {
      out.push_back(text(value[i], field + "[" + std::to_string(i) + "]"));
    }
    return out;
  }

  int errnoOf(const json& entry, const char* key, const std::string& field) const {
    if (!entry.contains(key) || entry.at(key).is_null()) return EPERM;  // the OCI default
    uint64_t value = number(entry.at(key), field + "." + key);
    if (value == 0 || value > 4095) fail(field + "." + key, "must be an errno (1 - 4095)");
    return static_cast<int>(value);
  }

 private:
  std::string path_;
};

// "6.18.44-fc" -> {6, 18}; a part that is not a number reads as 0.
std::pair<unsigned long, unsigned long> majorMinor(const char* version) {
  char* end = nullptr;
  unsigned long major = std::strtoul(version, &end, 10);
  unsigned long minor = *end == '.' ? std::strtoul(end + 1, nullptr, 10) : 0;
  return {major, minor};
}

bool kernelAtLeast(const std::string& wanted) {
  struct utsname host {};
  if (uname(&host) != 0) return false;
  return majorMinor(host.release) >= majorMinor(wanted.c_str());
}

bool mentionsNativeArch(const std::vector<std::string>& arches) {
  for (const std::string& arch : arches) {
    if (kNativeArch.count(arch) != 0) return true;
  }
  return false;
}

// Why an entry does not apply to a Cordon worker on this machine, or "" when it does. The
// worker holds no capability at all, so `includes.caps` never holds and `excludes.caps` never
// excludes.
std::string whyNotApplicable(const OciReader& reader, const json& entry, const std::string& field) {
  if (entry.contains("includes") && !entry.at("includes").is_null()) {
    const json& includes = entry.at("includes");
    auto arches = includes.contains("arches")
                      ? reader.texts(includes.at("arches"), field + ".includes.arches")
                      : std::vector<std::string>{};
    if (!arches.empty() && !mentionsNativeArch(arches)) return "for another architecture";
    auto caps = includes.contains("caps")
                    ? reader.texts(includes.at("caps"), field + ".includes.caps")
                    : std::vector<std::string>{};
    if (!caps.empty()) return "only with " + caps[0] + ", and workers hold no capability";
    if (includes.contains("minKernel") && !includes.at("minKernel").is_null()) {
      std::string version = reader.text(includes.at("minKernel"), field + ".includes.minKernel");
      if (!kernelAtLeast(version)) return "only from kernel " + version;
    }
  }
  if (entry.contains("excludes") && !entry.at("excludes").is_null()) {
    const json& excludes = entry.at("excludes");
    auto arches = excludes.contains("arches")
                      ? reader.texts(excludes.at("arches"), field + ".excludes.arches")
                      : std::vector<std::string>{};
    if (mentionsNativeArch(arches)) return "excluded on this architecture";
  }
  return "";
}

ArgCondition readCondition(const OciReader& reader, const json& arg, const std::string& field) {
  static const std::map<std::string, ArgCondition::Op> kOps = {
      {"SCMP_CMP_EQ", ArgCondition::Op::kEq},
      {"SCMP_CMP_NE", ArgCondition::Op::kNe},
      {"SCMP_CMP_LT", ArgCondition::Op::kLt},
      {"SCMP_CMP_LE", ArgCondition::Op::kLe},
      {"SCMP_CMP_GT", ArgCondition::Op::kGt},
      {"SCMP_CMP_GE", ArgCondition::Op::kGe},
      {"SCMP_CMP_MASKED_EQ", ArgCondition::Op::kMaskedEq}};
  if (!arg.is_object()) reader.fail(field, "must be an object");
  ArgCondition condition;
  uint64_t index = reader.number(reader.member(arg, "index", field), field + ".index");
  if (index > 5) reader.fail(field + ".index", "must be 0 - 5");
  condition.index = static_cast<unsigned>(index);
  std::string op = reader.text(reader.member(arg, "op", field), field + ".op");
  auto known = kOps.find(op);
  if (known == kOps.end()) reader.fail(field + ".op", "unknown comparison '" + op + "'");
  condition.op = known->second;
  uint64_t value = reader.number(reader.member(arg, "value", field), field + ".value");
  uint64_t valueTwo =
      arg.contains("valueTwo") ? reader.number(arg.at("valueTwo"), field + ".valueTwo") : 0;
  // OCI's masked_eq is (arg & value) == valueTwo.
  if (condition.op == ArgCondition::Op::kMaskedEq) {
    condition.mask = value;
    condition.value = valueTwo;
  } else {
    condition.value = value;
  }
  return condition;
}

void importEntry(const OciReader& reader, const json& entry, const std::string& field,
                 OciImport& import) {
  if (!entry.is_object()) reader.fail(field, "must be an object");
  std::vector<std::string> names;
  if (entry.contains("names")) names = reader.texts(entry.at("names"), field + ".names");
  if (entry.contains("name")) names.push_back(reader.text(entry.at("name"), field + ".name"));
  if (names.empty()) reader.fail(field, "has neither 'names' nor 'name'");
  const std::string action = reader.text(reader.member(entry, "action", field), field + ".action");

  SyscallRule rule;
  if (action == "SCMP_ACT_ALLOW") {
    rule.action = SyscallRule::Action::kAllow;
  } else if (action == "SCMP_ACT_ERRNO") {
    rule.action = SyscallRule::Action::kErrno;
    rule.error = reader.errnoOf(entry, "errnoRet", field);
  } else if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_PROCESS" ||
             action == "SCMP_ACT_KILL_THREAD" || action == "SCMP_ACT_TRAP") {
    rule.action = SyscallRule::Action::kKill;
  } else if (action == "SCMP_ACT_LOG") {
    rule.action = SyscallRule::Action::kLog;
  } else if (action == "SCMP_ACT_TRACE" || action == "SCMP_ACT_NOTIFY") {
    for (const auto& name : names)
      import.skipped.push_back(name + ": " + action + " has no tracer or notifier in Cordon");
    return;
  } else {
    reader.fail(field + ".action", "unknown action '" + action + "'");
  }
  std::set<unsigned> compared;
  bool repeatsAnArgument = false;
  if (entry.contains("args") && !entry.at("args").is_null()) {
    const json& args = entry.at("args");
    if (!args.is_array()) reader.fail(field + ".args", "must be an array");
    for (size_t i = 0; i < args.size(); ++i) {
      rule.conditions.push_back(
          readCondition(reader, args[i], field + ".args[" + std::to_string(i) + "]"));
      if (!compared.insert(rule.conditions.back().index).second) repeatsAnArgument = true;
    }
  }
  const std::string why = whyNotApplicable(reader, entry, field);
  for (const std::string& name : names) {
    std::string skip = why;
    int number = seccomp_syscall_resolve_name(name.c_str());
    if (skip.empty() && number == __NR_SCMP_ERROR) skip = "unknown to this libseccomp";
    if (skip.empty() && number < 0) skip = "not a syscall on this architecture";
    if (skip.empty() && isForbiddenSyscall(name))
      skip = "forbidden to every plugin; it stops the worker";
    if (skip.empty() && (name == "mmap" || name == "mprotect")) skip = "governed by w_xor_x";
    if (skip.empty() && repeatsAnArgument)
      skip = "compares one argument twice, which the filter cannot";
    if (!skip.empty()) {
      import.skipped.push_back(name + ": " + skip);
      continue;
    }
    if (rule.action == SyscallRule::Action::kAllow && rule.conditions.empty()) {
      import.syscalls.insert(name);
      continue;
    }
    SyscallRule named = rule;
    named.name = name;
    import.rules.push_back(named);
  }
}

std::string conditionYaml(const ArgCondition& c) {
  static const char* kOps[] = {"eq", "ne", "lt", "le", "gt", "ge", "masked_eq"};
  std::string out = "{ index: " + std::to_string(c.index) + ", op: " + kOps[static_cast<int>(c.op)];
  if (c.op == ArgCondition::Op::kMaskedEq) {
    char mask[32];
    std::snprintf(mask, sizeof mask, "0x%llx", static_cast<unsigned long long>(c.mask));
    out += std::string(", mask: ") + mask;
  }
  return out + ", value: " + std::to_string(c.value) + " }";
}

}  // namespace

OciImport parseOciProfile(const std::string& text, const std::string& path) {
  OciReader reader(path);
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(path + ": not valid JSON (byte " + std::to_string(e.byte) + ")");
  } catch (const json::exception& e) {
    // A number that does not fit (found by tests/fuzz/fuzz_oci.cpp), and the like.
    throw InputError(path + ": not usable JSON: " + e.what());
  }
  if (!root.is_object()) reader.fail("(top level)", "must be an object");
  OciImport import;
  import.path = path;

  const std::string defaultAction =
      reader.text(reader.member(root, "defaultAction", "defaultAction"), "defaultAction");
  if (defaultAction == "SCMP_ACT_ERRNO") {
    import.violationErrno = reader.errnoOf(root, "defaultErrnoRet", "(top level)");
  } else if (defaultAction == "SCMP_ACT_KILL" || defaultAction == "SCMP_ACT_KILL_PROCESS" ||
             defaultAction == "SCMP_ACT_KILL_THREAD" || defaultAction == "SCMP_ACT_TRAP") {
    import.violationErrno = std::nullopt;
  } else {
    reader.fail("defaultAction", "'" + defaultAction +
                                     "' lets unlisted syscalls run; Cordon profiles deny by "
                                     "default (use SCMP_ACT_ERRNO or SCMP_ACT_KILL)");
  }

  std::vector<std::string> arches;
  if (root.contains("architectures"))
    arches = reader.texts(root.at("architectures"), "architectures");
  if (root.contains("archMap") && !root.at("archMap").is_null()) {
    const json& archMap = root.at("archMap");
    if (!archMap.is_array()) reader.fail("archMap", "must be an array");
    for (size_t i = 0; i < archMap.size(); ++i) {
      const std::string field = "archMap[" + std::to_string(i) + "]";
      if (!archMap[i].is_object()) reader.fail(field, "must be an object");
      arches.push_back(
          reader.text(reader.member(archMap[i], "architecture", field), field + ".architecture"));
    }
  }
  if (!arches.empty() && !mentionsNativeArch(arches)) {
    reader.fail("archMap",
                "does not cover this machine's architecture (" + *kNativeArch.begin() + ")");
  }

  if (root.contains("syscalls") && !root.at("syscalls").is_null()) {
    const json& syscalls = root.at("syscalls");
    if (!syscalls.is_array()) reader.fail("syscalls", "must be an array");
    for (size_t i = 0; i < syscalls.size(); ++i) {
      importEntry(reader, syscalls[i], "syscalls[" + std::to_string(i) + "]", import);
    }
  }
  return import;
}

OciImport importOciProfile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  return parseOciProfile(text.str(), path);
}

std::string ociImportAsPolicy(const OciImport& import, const std::string& profileName) {
  std::string out = "# Imported from " + forTerminal(import.path) +
                    " by `cordon policy import-oci` (docs/policy.md).\n"
                    "# Review it, then let sections `extends: " +
                    profileName + "`.\n";
  if (!import.skipped.empty()) {
    out += "# Not imported (" + std::to_string(import.skipped.size()) + "):\n";
    for (const std::string& skip : import.skipped) out += "#   " + forTerminal(skip) + "\n";
  }
  out += "version: 1\nprofiles:\n  " + profileName + ":\n";
  out += import.violationErrno
             ? "    on_violation: { errno: " + errnoText(*import.violationErrno) + " }\n"
             : "    on_violation: kill\n";
  // An empty list must still be a list (found by tests/fuzz/fuzz_oci.cpp).
  out += import.syscalls.empty() && import.rules.empty() ? "    syscalls: []\n" : "    syscalls:\n";
  for (const std::string& name : import.syscalls) out += "      - " + yamlQuoted(name) + "\n";
  for (const SyscallRule& rule : import.rules) {
    out += "      - { name: " + yamlQuoted(rule.name);
    if (!rule.conditions.empty()) {
      out += ", args: [";
      for (size_t i = 0; i < rule.conditions.size(); ++i) {
        out += (i == 0 ? "" : ", ") + conditionYaml(rule.conditions[i]);
      }
      out += "]";
    }
    switch (rule.action) {
      case SyscallRule::Action::kAllow:
        break;
      case SyscallRule::Action::kLog:
        out += ", action: log";
        break;
      case SyscallRule::Action::kKill:
        out += ", action: kill";
        break;
      case SyscallRule::Action::kErrno:
        out += ", action: { errno: " + errnoText(rule.error) + " }";
        break;
    }
    out += " }\n";
  }
  return out;
}

}  // namespace cordon
