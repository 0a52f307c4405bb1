// Finds a plugin's shared object by name on the plugin search path (NAME.so in each directory).
// Two directories offering the same name is an error, not a silent first match.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"

namespace cordon {

class PluginLocator {
 public:
  explicit PluginLocator(std::vector<std::string> directories)
      : directories_(std::move(directories)) {}

  // "a:b:c" as in $CORDON_PLUGIN_PATH.
  static std::vector<std::string> splitSearchPath(const std::string& path);

  Outcome<std::string> locate(const std::string& pluginName) const;
  const std::vector<std::string>& directories() const { return directories_; }

 private:
  std::vector<std::string> directories_;
};

}  // namespace cordon
