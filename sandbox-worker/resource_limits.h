// Step: rlimits. The kernel enforces them; the supervisor reads how the worker died to name the
// limit that was hit (SIGXCPU: CPU, SIGXFSZ: file size, kExitMemoryLimit: address space).
#pragma once

#include "sandbox_spec.h"

namespace cordon::worker {

void applyResourceLimits(const ResourceLimits& limits);

}  // namespace cordon::worker
