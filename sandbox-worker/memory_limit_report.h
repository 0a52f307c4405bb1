// How the worker tells the supervisor that an allocation failed at the memory limit: one report
// line on fd 2 and exit code kExitMemoryLimit (worker_protocol.h). Seccomp violations need no
// such line: the kernel reports them to the supervisor (seccomp user notification).
#pragma once

namespace cordon::worker {

// From now on a failed malloc/calloc/realloc ends the worker with kExitMemoryLimit.
void armMemoryLimitReports();

}  // namespace cordon::worker
