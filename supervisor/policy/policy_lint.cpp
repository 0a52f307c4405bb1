#include "policy/policy_lint.h"

#include <set>

#include "plugins/manifest.h"

namespace cordon {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

class SectionLint {
 public:
  SectionLint(const PluginPolicy& section, std::vector<LintFinding>& findings)
      : section_(section), prefix_(section.fieldPath()), findings_(findings) {}

  void run() {
    if (section_.name == "default") {
      warn("",
           "a default section governs every plugin the policy does not name; prefer one "
           "section per plugin");
    }
    if (!section_.missingRunCalls().empty())
      warn("calls", section_.missingRunCallsText());
    else if (!section_.allows(PluginMethod::kShutdown))
      warn("calls",
           "lacks 'shutdown': a worker is then stopped without its shutdown call, which "
           "the gate refuses and records (gate.deny) every time");
    for (size_t i = 0; i < section_.readOnlyPaths.size(); ++i) readOnlyPath(i);
    for (const std::string& path : section_.readWritePaths) {
      warn("filesystem", "read_write '" + path +
                             "' lets the plugin change host files; a scratch dir (scratch_mb) "
                             "keeps its writes inside the sandbox");
    }
    if (section_.scratchBytes > 4 * kGiB)
      warn("filesystem", "scratch_mb above 4096 (memory-backed)");
    for (const std::string& name : section_.syscallGroups) {
      static const std::set<std::string> kGroups = {"sleep", "identity", "resources"};
      if (kGroups.count(name) == 0) {
        warn("syscalls", "grants the single syscall '" + name +
                             "' beyond the named groups; check that the plugin needs it");
      }
    }
    for (const SyscallRule& rule : section_.syscallRules) {
      if (rule.action == SyscallRule::Action::kAllow || rule.action == SyscallRule::Action::kLog) {
        warn("syscalls", "lets '" + rule.name + "' run (rule at line " + std::to_string(rule.line) +
                             "); check that the plugin needs it");
      }
    }
    for (const auto& [path, skipped] : section_.ociImports) {
      warn("danger_oci_seccomp",
           "imports the OCI profile '" + path + "': " + std::to_string(section_.syscalls.size()) +
               " syscalls and " + std::to_string(section_.syscallRules.size()) + " rules in all, " +
               std::to_string(skipped) +
               " entries left out (`cordon policy import-oci` lists them); "
               "container profiles are broad, narrow it to what the plugin needs");
    }
    bool sockets = section_.syscalls.count("socket") != 0;
    for (const SyscallRule& rule : section_.syscallRules) {
      sockets |= rule.name == "socket" && (rule.action == SyscallRule::Action::kAllow ||
                                           rule.action == SyscallRule::Action::kLog);
    }
    if (sockets) {
      warn("syscalls",
           "network: the plugin may create sockets; its network namespace has no interface "
           "but a down loopback, so it reaches nothing today, but any future broker or "
           "shared namespace would be open to it");
    }
    if (section_.dangerWXorXOff) {
      warn("danger_w_xor_x_off",
           "W^X off: the plugin may map executable memory after loading (generated code)");
    }
    if (section_.violationErrno) {
      warn("on_violation",
           "a syscall outside the allowlist fails with an errno instead of "
           "stopping the worker: a probing plugin keeps running");
    }
    if (!section_.signature.required) {
      warn("signature", "an unsigned plugin may run: nobody vouches for the code");
    }
    if (section_.signature.allowLegacy) {
      warn("signature", "accepts legacy 'Ed' signatures, which hash nothing before signing");
    }
    if (section_.signature.allowRollback) {
      warn("signature", "accepts versions older than the host has run (known-bad releases)");
    }
    if (section_.limits.memoryBytes > 4 * kGiB) warn("limits", "memory_mb above 4096");
    if (section_.limits.cpuSeconds > 3600) warn("limits", "cpu_seconds above one hour");
    if (section_.limits.processes > 1) {
      warn("limits", "processes above 1, though seccomp forbids creating any");
    }
    if (section_.callTimeout.count() > 600'000)
      warn("timeout_ms", "a call may run over 10 minutes");
    if (section_.maxOutputBytes > kGiB) warn("max_output_bytes", "outputs above 1 GiB per call");
    const HostGrant* read = section_.grant(HostCapability::kReadInput);
    if (read != nullptr && read->maxBytes > 4 * kGiB) {
      warn("host", "read_input max_bytes above 4 GiB per call");
    }
  }

 private:
  void readOnlyPath(size_t index) {
    const std::string& path = section_.readOnlyPaths[index];
    static const std::vector<std::string> kSensitive = {"/etc",  "/root", "/home", "/var",
                                                        "/boot", "/run",  "/srv"};
    for (const std::string& sensitive : kSensitive) {
      if (path == sensitive || path.rfind(sensitive + "/", 0) == 0) {
        warn("filesystem", "read_only[" + std::to_string(index) + "] '" + path +
                               "' exposes host configuration or user data under " + sensitive);
        return;
      }
    }
    if (path == "/usr" || path == "/tmp" || path == "/opt") {
      warn("filesystem",
           "read_only[" + std::to_string(index) + "] '" + path + "' grants a whole top-level tree");
    }
  }

  void warn(const std::string& key, const std::string& message) {
    auto line = section_.fieldLines.find(key);
    findings_.push_back({line == section_.fieldLines.end() ? section_.line : line->second,
                         key.empty() ? prefix_ : prefix_ + "." + key, message});
  }

  const PluginPolicy& section_;
  std::string prefix_;
  std::vector<LintFinding>& findings_;
};

}  // namespace

std::vector<LintFinding> lintPolicy(const Policy& policy) {
  std::vector<LintFinding> findings;
  for (const auto& [name, section] : policy.plugins) {
    // Plugin names are held to isPluginName: a section named otherwise grants nothing to anyone,
    // and the reviewer who reads it as a grant is misled.
    if (!isPluginName(name)) {
      findings.push_back({section.line, "plugins." + name,
                          "no plugin can be named '" + name +
                              "' (names are 1-64 characters of a-z, 0-9, '_' or '-'), so this "
                              "section never applies"});
    }
    SectionLint(section, findings).run();
  }
  if (policy.fallback) SectionLint(*policy.fallback, findings).run();
  return findings;
}

}  // namespace cordon
