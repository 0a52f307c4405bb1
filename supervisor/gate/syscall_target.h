// What a syscall the filter handed to the supervisor names (worker/worker_memory reads it from
// the blocked worker): recorded with the gate's decision, never used to make it. The worker's
// words, and another of its threads may change them at any time.
#pragma once

#include <string>

namespace cordon {

struct SyscallTarget {
  std::string path;     // a path argument, as the bytes were ("" when none or unreadable)
  std::string address;  // "inet 127.0.0.1:80", "inet6 [::1]:443", "unix /run/x", "unix @name",
                        // "family N"; "" when the syscall names none
};

}  // namespace cordon
