// How the worker tells the supervisor why it is about to die: a seccomp trap (the SIGSYS
// handler) or a failed allocation at the memory limit. Both write one report line to fd 2 and
// exit with the matching code from worker_protocol.h.
#pragma once

namespace cordon::worker {

// Installs the SIGSYS handler. The seccomp filter forbids replacing it (rt_sigaction on SIGSYS).
void installViolationHandler();

// From now on a failed malloc/calloc/realloc ends the worker with kExitMemoryLimit.
void armMemoryLimitReports();

}  // namespace cordon::worker
