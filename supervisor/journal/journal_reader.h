// Reading the run journal (cordon runs list / show): runs newest first, and one run whole.
// Every text in it came from files and plugins: it goes out through setUntrusted (JSON) or
// forTerminal (tables) only.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "journal/sqlite_db.h"

namespace cordon {

// [{"id", "workflow", "state", "started_at", "ended_at", "steps", "error"}], newest first.
Outcome<nlohmann::json> journalRuns(SqliteDb& db, size_t limit);
// What journalRun reads: every part (cordon runs show), or all but the transition history,
// which grows with every change of state and which no page of the dashboard shows.
enum class RunTransitions { kInclude, kLeaveOut };
// {"run": {...}, "steps": [...], "attempts": [...], "transitions": [...], "plugins": [...],
//  "artifacts": [...]}; a bad_input error naming the id when there is no such run. A prefix of
// at least 4 hex digits that names one run is enough.
Outcome<nlohmann::json> journalRun(SqliteDb& db, const std::string& wanted,
                                   RunTransitions transitions = RunTransitions::kInclude);
// What changed in run `id` (its whole id) after transition `afterSeq`, for a page that holds the
// run as journalRun gave it: {"run": {...}} whole, and "steps", "attempts" and "artifacts" holding
// only the rows of the steps and for_each items a later transition names, in journalRun's order.
// `withSideLists` adds "plugins", "tallies", "workers" and "inputs" whole. A step's rows are read
// whole whenever it has a later transition, and each of their changes is followed by one (an
// output's digest, say, by the step's end), so a page that merges every change misses none.
Outcome<nlohmann::json> journalRunChanges(SqliteDb& db, const std::string& id, int64_t afterSeq,
                                          bool withSideLists);
// What the dashboard's step panel needs of one step, and no more of the run (a run of 10,000
// steps is megabytes whole): {"run": {"id", "audit_log"}, "plugin", "artifacts": [its outputs]}.
// The same errors as journalRun.
Outcome<nlohmann::json> journalRunStep(SqliteDb& db, const std::string& wanted,
                                       const std::string& step);

}  // namespace cordon
