#include "plugins/plugin_locator.h"

#include <sys/stat.h>

namespace cordon {

std::vector<std::string> PluginLocator::splitSearchPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

Outcome<std::string> PluginLocator::locate(const std::string& pluginName) const {
  std::vector<std::string> found;
  for (const auto& directory : directories_) {
    std::string candidate = directory + "/" + pluginName + ".so";
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode)) found.push_back(candidate);
  }
  if (found.size() == 1) return found[0];
  std::string searched;
  for (const auto& directory : directories_) searched += (searched.empty() ? "" : ":") + directory;
  if (found.empty()) {
    return makeError(ErrorCategory::kBadInput, "plugin '" + pluginName + "' not found (searched " +
                                                   (searched.empty() ? "nothing" : searched) + ")");
  }
  return makeError(ErrorCategory::kBadInput,
                   "plugin '" + pluginName + "' is ambiguous: " + found[0] + " and " + found[1]);
}

}  // namespace cordon
