// A plugin package's manifest, plugin.yaml (docs/trust.md): who the plugin is and what it asks
// for. The policy still decides; a manifest asking for more than the policy grants is refused.
#pragma once

#include <string>
#include <vector>

#include "plugins/version.h"

namespace cordon {

inline constexpr unsigned kSupportedPluginAbi = 1;  // CORDON_PLUGIN_ABI_VERSION

struct PluginManifest {
  std::string path;  // the plugin.yaml it was read from
  std::string name;
  Version version;
  unsigned abi = 0;
  std::string entry;  // the shared object, relative to the package directory
  std::string description;
  // stateless: true promises that no step depends on what an earlier step left in the plugin,
  // so the policy may let several workers of it serve one run (max_workers).
  bool stateless = false;
  std::vector<std::string> hostCapabilities;  // requests.host
  std::vector<std::string> syscalls;          // requests.syscalls: groups and single names
  std::vector<std::string> readOnlyPaths;     // requests.filesystem.read_only
};

// Throws InputError naming file:line:field.
PluginManifest loadManifest(const std::string& path);
PluginManifest parseManifest(const std::string& text, const std::string& path);

// What a signature's trusted comment must say for this manifest: "cordon-plugin name=N
// version=V abi=A". Extra words (a timestamp) may follow.
std::string trustedCommentFor(const PluginManifest& manifest);

// A plugin name: 1-64 characters of a-z, 0-9, '_' or '-'. Policy sections and profiles that
// Cordon prints are held to it too.
bool isPluginName(const std::string& text);

}  // namespace cordon
