// Cached results from the journal (docs/state.md, "Cached results"): a step row keyed as the
// engine keys the step, that succeeded, and whose outputs the store still holds intact.
#pragma once

#include <string>

#include "journal/sqlite_db.h"
#include "run/step_cache.h"

namespace cordon {

class JournalStepCache final : public StepCache {
 public:
  // `db` is a connection of its own (WAL lets it read while the run's journal writes); `store`
  // is the artifact store the runs write their outputs into.
  JournalStepCache(SqliteDb& db, std::string store) : db_(db), store_(std::move(store)) {}

  std::optional<CacheHit> find(const std::string& key, std::vector<std::string>& warnings) override;

 private:
  SqliteDb& db_;
  std::string store_;
};

}  // namespace cordon
