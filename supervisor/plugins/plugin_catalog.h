// The plugin packages on the search path (docs/trust.md): each directory on the path is a
// package (it holds plugin.yaml) or holds packages one level down. A workflow names a plugin
// as NAME or NAME@RANGE; the highest version in range wins, and the same name and version
// offered twice is refused as ambiguous rather than resolved by path order.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "plugins/manifest.h"

namespace cordon {

struct PluginPackage {
  std::string directory;
  PluginManifest manifest;
  std::string objectPath() const { return directory + "/" + manifest.entry; }
  std::string signaturePath() const { return objectPath() + ".minisig"; }
};

class PluginCatalog {
 public:
  // Reads every manifest on the path once. Broken manifests are kept as errors (listed by
  // `cordon plugins list`), not fatal: one bad package must not hide the others.
  static PluginCatalog scan(const std::vector<std::string>& directories);

  // "a:b:c" as in $CORDON_PLUGIN_PATH.
  static std::vector<std::string> splitSearchPath(const std::string& path);

  // `range` empty means any version.
  Outcome<PluginPackage> resolve(const std::string& name, const std::string& range) const;

  const std::vector<PluginPackage>& packages() const { return packages_; }
  const std::vector<std::string>& brokenManifests() const { return broken_; }
  const std::vector<std::string>& directories() const { return directories_; }

 private:
  std::vector<std::string> directories_;
  std::vector<PluginPackage> packages_;
  std::vector<std::string> broken_;  // "FILE:LINE: field ...: message"
  // Shared objects on the path that are not in a package (no plugin.yaml beside them): a
  // plugin built but not yet packaged, named when its name is asked for and not found.
  std::vector<std::string> loose_;
};

// "name@range" -> {name, range}; no '@' -> {text, ""}.
std::pair<std::string, std::string> splitPluginReference(const std::string& text);

}  // namespace cordon
