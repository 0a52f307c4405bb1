// The whole containment sequence, in order. Read this function to know what a worker is before
// its plugin runs; each step lives in its own file.
#pragma once

#include <kj/async-io.h>

#include "sandbox_spec.h"
#include "worker_protocol.h"

namespace cordon::worker {

// Steps 1-5: descriptors, namespaces, empty root, rlimits, privileges. Returns the plugin's
// path inside the new root. Runs before the event loop exists.
// `times` gets when the namespaces and the root were done.
std::string containProcess(const SandboxSpec& spec, protocol::SetupTimes& times);

// Step 6: the seccomp filter, for good. After this only the runtime set and the policy's
// syscalls run by themselves; everything else waits for the supervisor's answer, which allows
// what the dynamic loader needs until the plugin is loaded and nothing after.
void enterSeccomp(const SandboxSpec& spec, const protocol::SetupTimes& times);

}  // namespace cordon::worker
