// Step: an empty root. The worker's view of the filesystem becomes a read-only tmpfs that holds
// the plugin and only what the policy grants (bound paths, a scratch tmpfs, its own /proc, three
// device nodes), so even code running while the loader may still open files (ELF constructors)
// finds nothing else to open.
#pragma once

#include <string>

#include "sandbox_spec.h"

namespace cordon::worker {

// Copies the plugin from `pluginFd` (the supervisor's sealed memfd) into the new root, closes
// `pluginFd`, and returns the plugin's path inside the new root.
std::string enterEmptyRoot(int pluginFd, const SandboxSpec& spec);

}  // namespace cordon::worker
