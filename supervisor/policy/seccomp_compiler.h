// Compiles a plugin's syscall grants into the two seccomp BPF programs the worker installs. Done
// once per plugin in the supervisor (libseccomp is not linked into the worker).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace cordon {

struct SeccompPrograms {
  // The worker's one filter, installed before the plugin is mapped: the runtime set and the
  // granted syscalls run; mmap/mprotect run unless they ask for PROT_EXEC; clone3 answers
  // ENOSYS; everything else is a user notification the supervisor answers (allowLoading()).
  std::vector<unsigned char> filter;
};

Outcome<SeccompPrograms> compileSeccompPrograms(const PluginPolicy& policy);

// Whether the supervisor lets a notified syscall through while the plugin is being loaded
// (dlopen and the plugin's ELF constructors): opening and mapping the plugin needs openat,
// pread64 and executable mmap/mprotect. After loading, every notification is a violation.
bool allowedWhileLoading(int number);

// "openat" for 257 on this machine's architecture; "syscall 999" when unknown.
std::string syscallName(int number);

}  // namespace cordon
