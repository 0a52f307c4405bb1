// The plugin shared object, loaded under the loader-stage seccomp filter. Its ELF constructors
// run inside dlopen, so the sandbox is already complete when they do.
#pragma once

#include <cordon/plugin.h>

#include <string>

namespace cordon::worker {

class LoadedPlugin {
 public:
  // Throws std::runtime_error when the object does not load, lacks cordon_plugin_v1, or speaks
  // another ABI version.
  static LoadedPlugin load(const std::string& path);

  const cordon_plugin& api() const { return *api_; }

 private:
  explicit LoadedPlugin(const cordon_plugin* api) : api_(api) {}
  const cordon_plugin* api_;  // lives as long as the process: the object is never unloaded
};

}  // namespace cordon::worker
