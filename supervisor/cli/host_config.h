// Where this host keeps what a run needs beyond the workflow and the policy: the plugin search
// path, the trust store, the state directory (rollback ledger). Each comes from its flag, else
// its environment variable, else the config file, else a default (docs/trust.md).
#pragma once

#include <string>
#include <vector>

#include "cli/preflight.h"
#include "core/error.h"

namespace cordon {

struct HostFlags {
  std::string pluginPath;  // --plugin-path, ':'-separated
  std::string trustStore;  // --trust-store
  std::string stateDir;    // --state-dir
  std::string config;      // --config
};

// The config file is --config, else $CORDON_CONFIG, else /etc/cordon/config.yaml if it exists:
//   plugin_path: [DIR, ...]   trust_store: DIR   state_dir: DIR   (relative to the file)
Outcome<TrustOptions> resolveHostConfig(const HostFlags& flags);

}  // namespace cordon
