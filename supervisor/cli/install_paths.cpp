#include "cli/install_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "plugins/plugin_catalog.h"

namespace cordon {
namespace {

std::filesystem::path executableDirectory() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::current_path() : self.parent_path();
}

}  // namespace

std::string defaultWorkerBinary() {
  if (const char* env = std::getenv("CORDON_WORKER"); env != nullptr && *env != '\0') return env;
  const auto dir = executableDirectory();
  for (const auto& candidate :
       {dir / "cordon-worker", dir / ".." / "sandbox-worker" / "cordon-worker",
        dir / ".." / "libexec" / "cordon" / "cordon-worker"}) {
    if (access(candidate.c_str(), X_OK) == 0) return std::filesystem::weakly_canonical(candidate);
  }
  return dir / "cordon-worker";
}

std::vector<std::string> defaultPluginDirectories() {
  const auto dir = executableDirectory();
  std::vector<std::string> directories;
  for (const auto& candidate :
       {dir / ".." / "plugins", dir / ".." / "lib" / "cordon" / "plugins"}) {
    std::error_code error;
    if (std::filesystem::is_directory(candidate, error)) {
      directories.push_back(std::filesystem::weakly_canonical(candidate));
    }
  }
  return directories;
}

}  // namespace cordon
