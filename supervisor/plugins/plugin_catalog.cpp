#include "plugins/plugin_catalog.h"

#include <algorithm>
#include <filesystem>

#include "core/yaml_document.h"

namespace cordon {
namespace {

namespace fs = std::filesystem;

bool isPackage(const fs::path& directory) {
  std::error_code error;
  return fs::is_regular_file(directory / "plugin.yaml", error);
}

bool isSharedObject(const fs::directory_entry& entry) {
  std::error_code error;
  return entry.path().extension() == ".so" && entry.is_regular_file(error);
}

// The shared objects in `directory` (not a package) and in its subdirectories that are not
// packages either.
void findLooseObjects(const fs::path& directory, std::vector<std::string>& loose) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    if (isSharedObject(entry)) {
      loose.push_back(entry.path().string());
    } else if (entry.is_directory(error) && !isPackage(entry.path())) {
      std::error_code inner;
      for (const auto& object : fs::directory_iterator(entry.path(), inner))
        if (isSharedObject(object)) loose.push_back(object.path().string());
    }
  }
  std::sort(loose.begin(), loose.end());
}

// Whether a loose object at `path` may be the plugin `name`: NAME.so, libNAME.so, or any .so in
// a directory called NAME.
bool mayBePlugin(const std::string& path, const std::string& name) {
  const fs::path object(path);
  const std::string stem = object.stem().string();
  return stem == name || stem == "lib" + name || object.parent_path().filename() == name;
}

}  // namespace

std::vector<std::string> PluginCatalog::splitSearchPath(const std::string& path) {
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

PluginCatalog PluginCatalog::scan(const std::vector<std::string>& directories) {
  PluginCatalog catalog;
  catalog.directories_ = directories;
  std::vector<fs::path> candidates;
  for (const auto& directory : directories) {
    if (isPackage(directory)) {
      candidates.emplace_back(directory);
      continue;
    }
    findLooseObjects(directory, catalog.loose_);
    std::error_code error;
    std::vector<fs::path> inside;
    for (const auto& entry : fs::directory_iterator(directory, error)) {
      if (isPackage(entry.path())) inside.push_back(entry.path());
    }
    std::sort(inside.begin(), inside.end());  // stable listings, whatever readdir's order
    candidates.insert(candidates.end(), inside.begin(), inside.end());
  }
  for (const auto& directory : candidates) {
    try {
      PluginManifest manifest = loadManifest((directory / "plugin.yaml").string());
      catalog.packages_.push_back({directory.string(), std::move(manifest)});
    } catch (const InputError& e) {
      catalog.broken_.emplace_back(e.what());
    }
  }
  return catalog;
}

Outcome<PluginPackage> PluginCatalog::resolve(const std::string& name,
                                              const std::string& range) const {
  std::optional<VersionRange> wanted;
  if (!range.empty()) {
    wanted = VersionRange::parse(range);
    if (!wanted) {
      return makeError(
          ErrorCategory::kBadInput,
          "'" + name + "@" + range + "': not a version range (1.2.3, ^1.2, ~1.2.3, >=1.0 <2.0, *)");
    }
  }
  std::vector<const PluginPackage*> matching;
  for (const auto& package : packages_) {
    if (package.manifest.name == name && (!wanted || wanted->matches(package.manifest.version)))
      matching.push_back(&package);
  }
  const std::string asked = range.empty() ? "'" + name + "'" : "'" + name + "@" + range + "'";
  if (matching.empty()) {
    std::string searched;
    for (const auto& directory : directories_)
      searched += (searched.empty() ? "" : ":") + directory;
    std::string message = "plugin " + asked + " not found (searched " +
                          (searched.empty() ? "nothing" : searched) + ")";
    // A range that excludes every version there is a different mistake from a missing plugin.
    std::string offered;
    for (const auto& package : packages_) {
      if (package.manifest.name != name) continue;
      offered += (offered.empty() ? "" : ", ") + package.manifest.version.text() + " (" +
                 package.directory + ")";
    }
    if (!offered.empty()) message += "; no version there is in '" + range + "', found " + offered;
    for (const std::string& object : loose_) {
      if (!mayBePlugin(object, name)) continue;
      message += "; " + object +
                 " is there, but not in a package: a plugin is a directory holding plugin.yaml, "
                 "the shared object it names and the object's signature (.minisig), as "
                 "docs/plugin-interface.md's walk-through makes it";
      break;
    }
    if (!broken_.empty()) {
      message += "; " + std::to_string(broken_.size()) +
                 " package(s) there have broken manifests, first: " + broken_.front();
    }
    return makeError(ErrorCategory::kBadInput, message);
  }
  auto highest = *std::max_element(matching.begin(), matching.end(), [](auto* a, auto* b) {
    return a->manifest.version < b->manifest.version;
  });
  for (const PluginPackage* other : matching) {
    if (other != highest && other->manifest.version == highest->manifest.version) {
      return makeError(ErrorCategory::kBadInput, "plugin " + asked + " is ambiguous: version " +
                                                     highest->manifest.version.text() +
                                                     " is offered by both " + highest->directory +
                                                     " and " + other->directory);
    }
  }
  return *highest;
}

std::pair<std::string, std::string> splitPluginReference(const std::string& text) {
  auto at = text.find('@');
  if (at == std::string::npos) return {text, ""};
  return {text.substr(0, at), text.substr(at + 1)};
}

}  // namespace cordon
