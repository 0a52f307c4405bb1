#include "journal/journal_cache.h"

#include "journal/stored_outputs.h"

namespace cordon {

// Candidates looked at per key: the newest first; older ones only when a newer one's outputs
// are gone from the store.
constexpr int64_t kCandidates = 4;

std::optional<CacheHit> JournalStepCache::find(const std::string& key,
                                               std::vector<std::string>& warnings) {
  auto rows = db_.query(
      "SELECT run_id, name, outputs FROM steps WHERE cache_key = ?1 AND state = 'succeeded' "
      "AND outputs IS NOT NULL ORDER BY ended_at DESC LIMIT ?2",
      {key, kCandidates});
  if (!rows.ok()) {
    warnings.push_back("the journal could not be read: " + rows.error().message);
    return std::nullopt;
  }
  for (const auto& row : rows.value()) {
    const std::string runId = sqlText(row[0]);
    const std::string step = sqlText(row[1]);
    auto stored = storedOutputs(db_, runId, step, sqlText(row[2]), store_);
    if (!stored.ok()) {
      warnings.push_back("step " + step + " of run " + runId + ": " + stored.error().message);
      continue;
    }
    return CacheHit{runId, step, std::move(stored.value().outputs),
                    std::move(stored.value().digests)};
  }
  return std::nullopt;
}

}  // namespace cordon
