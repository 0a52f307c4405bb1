// Step: an empty root. The worker's view of the filesystem becomes a read-only tmpfs that holds
// the plugin and nothing else, so even code running while the loader may still open files (ELF
// constructors) finds nothing to open.
#pragma once

#include <string>
#include <vector>

namespace cordon::worker {

// Copies the plugin from `pluginFd` (the supervisor's sealed memfd) into the new root, closes
// `pluginFd`, and returns the plugin's path inside the new root.
std::string enterEmptyRoot(int pluginFd, const std::string& pluginName,
                           const std::vector<std::string>& readOnlyPaths);

}  // namespace cordon::worker
