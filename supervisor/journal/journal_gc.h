// What cordon runs gc removes from the journal (docs/state.md, "Garbage collection"): ended runs
// beyond the newest `keep`, or started before `startedBefore`; never a run still `running` (its
// supervisor is alive, or it can be resumed). Their rows go with them (ON DELETE CASCADE).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "journal/sqlite_db.h"

namespace cordon {

struct GcChoice {
  std::optional<size_t> keep;                // --keep N: the newest N ended runs stay
  std::optional<std::string> startedBefore;  // --older-than D, as a journal time
};

// The ids of the ended runs the choice removes, oldest first.
Outcome<std::vector<std::string>> runsToRemove(SqliteDb& db, const GcChoice& choice);

// Deletes the runs and everything journaled of them, in one transaction: with them the inline
// outputs (blobs) no remaining run names.
std::optional<Error> removeRuns(SqliteDb& db, const std::vector<std::string>& ids);

// Every "sha256:HEX" an artifacts row names of a run not in `leaving`: what the store must keep
// once those runs are gone (a dry run has not removed them).
Outcome<std::set<std::string>> referencedDigests(SqliteDb& db,
                                                 const std::vector<std::string>& leaving);

struct InlineOutputs {
  uint64_t count = 0;
  uint64_t bytes = 0;
};
// The inline outputs no artifacts row of a run outside `leaving` names: what removeRuns takes.
Outcome<InlineOutputs> inlineOutputsLeaving(SqliteDb& db, const std::vector<std::string>& leaving);

// The ids of runs the journal shows `running`.
Outcome<std::vector<std::string>> runningRuns(SqliteDb& db);

}  // namespace cordon
