// Rollback protection: the highest version of each plugin this host has run, kept in
// STATE_DIR/plugin-versions.json. Going below it needs the policy's signature.allow_rollback.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/error.h"
#include "plugins/version.h"

namespace cordon {

class VersionLedger {
 public:
  // A missing file is an empty ledger; an unreadable or corrupt one is an error (failing open
  // would silently disable rollback protection).
  static Outcome<VersionLedger> open(const std::string& stateDirectory);

  std::optional<Version> highest(const std::string& plugin) const;
  // Raises the plugin's mark if `version` is higher, and writes the file (atomically).
  Outcome<Done> recordRun(const std::string& plugin, const Version& version);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, Version> highest_;
};

}  // namespace cordon
