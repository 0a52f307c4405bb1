// The whole containment sequence, in order. Read this function to know what a worker is before
// its plugin runs; each step lives in its own file.
#pragma once

#include <kj/async-io.h>

#include "sandbox_spec.h"

namespace cordon::worker {

// Steps 1-5: descriptors, namespaces, empty root, rlimits, privileges. Returns the plugin's
// path inside the new root. Runs before the event loop exists (unshare(CLONE_NEWUSER) needs a
// single-threaded process).
std::string containProcess(const SandboxSpec& spec);

// Step 6: the loader-stage seccomp filter. After this, only the policy's syscalls plus what the
// dynamic loader needs are reachable, and violations are reported.
void enterLoaderFilter(const SandboxSpec& spec);

// Step 8 (after the plugin is loaded): the runtime filter, which forbids opening files and
// creating executable memory from here on.
void enterRuntimeFilter(const SandboxSpec& spec);

}  // namespace cordon::worker
