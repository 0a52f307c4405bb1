// Reads from a blocked worker's memory what its notified syscall names, for the record: the path
// it opens, executes or changes, or the socket address it connects, binds or sends to
// (gate/syscall_target.h). The supervisor owns the worker's user namespace, so it may.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "gate/syscall_target.h"

namespace cordon {

SyscallTarget readSyscallTarget(pid_t pid, int number, const uint64_t (&args)[6]);

// A NUL-terminated string of at most PATH_MAX bytes from the worker's memory, or "".
std::string readWorkerString(pid_t pid, uint64_t address);

}  // namespace cordon
