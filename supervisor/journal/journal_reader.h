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
// {"run": {...}, "steps": [...], "attempts": [...], "transitions": [...], "plugins": [...],
//  "artifacts": [...]}; a bad_input error naming the id when there is no such run. A prefix of
// at least 4 hex digits that names one run is enough.
Outcome<nlohmann::json> journalRun(SqliteDb& db, const std::string& wanted);

}  // namespace cordon
