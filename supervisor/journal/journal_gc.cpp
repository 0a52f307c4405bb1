#include "journal/journal_gc.h"

namespace cordon {

Outcome<std::vector<std::string>> runsToRemove(SqliteDb& db, const GcChoice& choice) {
  auto rows = db.query(
      "SELECT id, started_at FROM runs WHERE state != 'running' ORDER BY started_at DESC, id");
  if (!rows.ok()) return rows.error();
  std::vector<std::string> ids;
  for (size_t i = 0; i < rows.value().size(); ++i) {
    const auto& row = rows.value()[i];
    const bool beyondKeep = choice.keep && i >= *choice.keep;
    const bool tooOld = choice.startedBefore && sqlText(row[1]) < *choice.startedBefore;
    if (beyondKeep || tooOld) ids.push_back(sqlText(row[0]));
  }
  return std::vector<std::string>(ids.rbegin(), ids.rend());
}

std::optional<Error> removeRuns(SqliteDb& db, const std::vector<std::string>& ids) {
  if (auto failed = db.exec("BEGIN IMMEDIATE")) return failed;
  for (const std::string& id : ids) {
    if (auto failed = db.run("DELETE FROM runs WHERE id = ?1", {id})) {
      db.exec("ROLLBACK");
      return failed;
    }
  }
  if (auto failed =
          db.exec("DELETE FROM blobs WHERE digest NOT IN (SELECT digest FROM artifacts)")) {
    db.exec("ROLLBACK");
    return failed;
  }
  return db.exec("COMMIT");
}

Outcome<InlineOutputs> inlineOutputsLeaving(SqliteDb& db, const std::vector<std::string>& leaving) {
  auto kept = referencedDigests(db, leaving);
  if (!kept.ok()) return kept.error();
  auto rows = db.query("SELECT digest, length(bytes) FROM blobs");
  if (!rows.ok()) return rows.error();
  InlineOutputs going;
  for (const auto& row : rows.value()) {
    if (kept.value().count(sqlText(row[0])) != 0) continue;
    ++going.count;
    going.bytes += static_cast<uint64_t>(sqlInteger(row[1]));
  }
  return going;
}

Outcome<std::set<std::string>> referencedDigests(SqliteDb& db,
                                                 const std::vector<std::string>& leaving) {
  auto rows = db.query("SELECT DISTINCT run_id, digest FROM artifacts");
  if (!rows.ok()) return rows.error();
  const std::set<std::string> gone(leaving.begin(), leaving.end());
  std::set<std::string> digests;
  for (const auto& row : rows.value())
    if (gone.count(sqlText(row[0])) == 0) digests.insert(sqlText(row[1]));
  return digests;
}

Outcome<std::vector<std::string>> runningRuns(SqliteDb& db) {
  auto rows = db.query("SELECT id FROM runs WHERE state = 'running'");
  if (!rows.ok()) return rows.error();
  std::vector<std::string> ids;
  for (const auto& row : rows.value()) ids.push_back(sqlText(row[0]));
  return ids;
}

}  // namespace cordon
