// Step: an empty root. The worker's view of the filesystem becomes a read-only tmpfs that holds
// the plugin and nothing else, so even code running while the loader may still open files (ELF
// constructors) finds nothing to open.
#pragma once

#include <string>
#include <vector>

namespace cordon::worker {

// Returns the plugin's path inside the new root.
std::string enterEmptyRoot(const std::string& hostPluginPath, const std::string& pluginName,
                           const std::vector<std::string>& readOnlyPaths);

}  // namespace cordon::worker
