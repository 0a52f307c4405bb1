#include "loaded_plugin.h"

#include <dlfcn.h>

#include <stdexcept>

#include "coverage_flush.h"

namespace cordon::worker {

LoadedPlugin LoadedPlugin::load(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(std::string("dlopen: ") + dlerror());
  auto* api = static_cast<const cordon_plugin*>(dlsym(handle, CORDON_PLUGIN_SYMBOL));
  if (api == nullptr) {
    throw std::runtime_error("the plugin does not export " + std::string(CORDON_PLUGIN_SYMBOL));
  }
  if (api->abi_version != CORDON_PLUGIN_ABI_VERSION) {
    throw std::runtime_error("the plugin speaks ABI " + std::to_string(api->abi_version) +
                             ", this worker speaks " + std::to_string(CORDON_PLUGIN_ABI_VERSION));
  }
  if (api->execute == nullptr || api->name == nullptr || api->version == nullptr) {
    throw std::runtime_error("the plugin's descriptor lacks name, version or execute");
  }
  addPluginCoverage(handle);  // coverage builds only
  return LoadedPlugin(api);
}

}  // namespace cordon::worker
