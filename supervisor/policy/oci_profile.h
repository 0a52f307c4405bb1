// OCI / Docker seccomp profiles (the JSON `docker run --security-opt seccomp=FILE` takes) read
// as a Cordon profile, so operators start from the profiles they already use (docs/policy.md).
// What Cordon never grants (the forbidden syscalls), what needs a capability the worker does
// not have, and what targets another architecture or a newer kernel is left out and listed.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace cordon {

struct OciImport {
  std::string path;
  std::set<std::string> syscalls;     // allowed whatever their arguments
  std::vector<SyscallRule> rules;     // conditional allows, errno, kill and log entries
  std::optional<int> violationErrno;  // defaultAction: SCMP_ACT_ERRNO -> errno, kill -> nullopt
  std::vector<std::string> skipped;   // "ptrace: forbidden to every plugin", one per name
};

// Throws InputError naming the file and the JSON field at fault.
OciImport importOciProfile(const std::string& path);
OciImport parseOciProfile(const std::string& text, const std::string& path);

// The import as a policy file with one profile, for review (`cordon policy import-oci`).
std::string ociImportAsPolicy(const OciImport& import, const std::string& profileName);

}  // namespace cordon
