// Compiles a plugin's syscall grants into the two seccomp BPF programs the worker installs. Done
// once per plugin in the supervisor (libseccomp is not linked into the worker).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace cordon {

struct SeccompPrograms {
  // Default deny (SIGSYS trap, reported and fatal): runtime + loader + granted syscalls.
  std::vector<unsigned char> loader;
  // Stacked after dlopen, default allow: traps the loader-only syscalls the policy did not grant
  // and any mmap/mprotect that asks for executable memory.
  std::vector<unsigned char> runtime;
};

Outcome<SeccompPrograms> compileSeccompPrograms(const PluginPolicy& policy);

// "openat" for 257 on this machine's architecture; "syscall 999" when unknown.
std::string syscallName(int number);

}  // namespace cordon
