// `cordon runs list` and `cordon runs show`: the run journal (journal/, docs/state.md "The
// journal"), as a table or JSON.
#pragma once

#include <string>

#include "cli/host_config.h"

namespace cordon {

// The journal of `options.stateDir`: STATE_DIR/journal.sqlite.
std::string journalPathIn(const TrustOptions& options);

// 0 when the journal was read (an empty one included), 2 when it cannot be.
int runsListCommand(const TrustOptions& options, size_t limit, bool json);
// 0, or 2 when there is no such run (or the id names more than one).
int runsShowCommand(const TrustOptions& options, const std::string& runId, bool json);

}  // namespace cordon
