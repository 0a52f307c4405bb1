// `cordon runs list` and `cordon runs show`: the run journal (journal/, docs/state.md "The
// journal"), as a table or JSON.
#pragma once

#include <optional>
#include <string>

#include "cli/host_config.h"

namespace cordon {

// The journal of `options.stateDir`: STATE_DIR/journal.sqlite.
std::string journalPathIn(const TrustOptions& options);

// 0 when the journal was read (an empty one included), 2 when it cannot be.
int runsListCommand(const TrustOptions& options, size_t limit, bool json);
// 0, or 2 when there is no such run (or the id names more than one).
int runsShowCommand(const TrustOptions& options, const std::string& runId, bool json);

struct RunsGcOptions {
  std::optional<size_t> keep;            // --keep N
  std::optional<std::string> olderThan;  // --older-than D: 30s, 15m, 12h, 7d
  std::string store;                     // --store DIR; default STATE_DIR/artifacts
  bool dryRun = false;
  bool json = false;
};

// Removes ended runs from the journal (never a `running` one) and the store's files no
// remaining run names; the store is left alone while a run's supervisor is alive. 0, or 2 on
// bad input or a journal that cannot be changed.
int runsGcCommand(const TrustOptions& options, const RunsGcOptions& gc);

}  // namespace cordon
