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

// STATE_DIR/FILE, where an audit log goes when --audit-log is not given; the state directory is
// made (0700: the log is the host's record) when it does not exist yet.
Outcome<std::string> auditLogInStateDir(const TrustOptions& options, const std::string& file);

}  // namespace cordon
