#include "cli/host_config.h"

#include <cstdlib>
#include <filesystem>

#include "cli/install_paths.h"
#include "core/yaml_document.h"
#include "plugins/plugin_catalog.h"

namespace cordon {
namespace {

namespace fs = std::filesystem;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string relativeTo(const fs::path& base, const std::string& path) {
  return fs::path(path).is_absolute() ? path : (base / path).lexically_normal().string();
}

std::string defaultStateDir() {
  if (std::string xdg = environment("XDG_STATE_HOME"); !xdg.empty()) return xdg + "/cordon";
  if (std::string home = environment("HOME"); !home.empty()) return home + "/.local/state/cordon";
  return "/var/lib/cordon";
}

}  // namespace

Outcome<std::string> auditLogInStateDir(const TrustOptions& options, const std::string& file) {
  std::error_code error;
  if (!fs::is_directory(options.stateDir, error)) {
    fs::create_directories(options.stateDir, error);
    if (error) {
      return makeError(ErrorCategory::kBadInput,
                       options.stateDir + ": cannot make the state directory, where the audit " +
                           "log goes by default (" + error.message() +
                           "); give --state-dir or --audit-log");
    }
    fs::permissions(options.stateDir, fs::perms::owner_all, fs::perm_options::replace, error);
  }
  return (fs::path(options.stateDir) / file).string();
}

Outcome<TrustOptions> resolveHostConfig(const HostFlags& flags) {
  std::string configPath = !flags.config.empty() ? flags.config : environment("CORDON_CONFIG");
  const bool explicitConfig = !configPath.empty();
  if (configPath.empty()) configPath = "/etc/cordon/config.yaml";
  std::vector<std::string> configPluginPath;
  std::string configTrustStore, configStateDir;
  std::error_code error;
  if (explicitConfig || fs::exists(configPath, error)) {
    try {
      const YamlDocument doc = YamlDocument::load(configPath);
      const YAML::Node root = doc.requireMap(doc.root(), "(top level)");
      doc.rejectUnknownKeys(root, "(top level)", {"plugin_path", "trust_store", "state_dir"});
      const fs::path base = fs::absolute(configPath).parent_path();
      if (root["plugin_path"]) {
        for (const auto& dir : doc.stringList(root["plugin_path"], "plugin_path"))
          configPluginPath.push_back(relativeTo(base, dir));
      }
      if (root["trust_store"])
        configTrustStore = relativeTo(base, doc.scalar(root["trust_store"], "trust_store"));
      if (root["state_dir"])
        configStateDir = relativeTo(base, doc.scalar(root["state_dir"], "state_dir"));
    } catch (const InputError& e) {
      return makeError(ErrorCategory::kBadInput, e.what());
    }
  }

  TrustOptions options;
  if (!flags.pluginPath.empty()) {
    options.pluginPath = PluginCatalog::splitSearchPath(flags.pluginPath);
  } else if (std::string env = environment("CORDON_PLUGIN_PATH"); !env.empty()) {
    options.pluginPath = PluginCatalog::splitSearchPath(env);
  } else if (!configPluginPath.empty()) {
    options.pluginPath = configPluginPath;
  } else {
    options.pluginPath = defaultPluginDirectories();
  }
  options.trustStore = !flags.trustStore.empty() ? flags.trustStore
                       : !environment("CORDON_TRUST_STORE").empty()
                           ? environment("CORDON_TRUST_STORE")
                           : configTrustStore;
  options.stateDir = !flags.stateDir.empty()                    ? flags.stateDir
                     : !environment("CORDON_STATE_DIR").empty() ? environment("CORDON_STATE_DIR")
                     : !configStateDir.empty()                  ? configStateDir
                                                                : defaultStateDir();
  return options;
}

}  // namespace cordon
