// The run journal: a SQLite database in WAL mode under the state directory
// (STATE_DIR/journal.sqlite) holding every run, its steps, their attempts, every state
// transition with its time, errors with their category, and the digests of the workflow file,
// the policy, each plugin package and each output (docs/state.md, "The journal"). It is written
// from the run's event stream, as a listener, never from the scheduler's own code.
//
// A journal that cannot be written does not stop the run (the audit log is the record that
// must exist before anything takes effect); the first error is kept, journaling stops, and the
// CLI prints it as a warning.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "journal/journal_checkpointer.h"
#include "journal/sqlite_db.h"
#include "run/run_events.h"

namespace cordon {

inline constexpr int kJournalSchemaVersion = 5;
// The plugin log lines one run's journal keeps (the dashboard shows them); past it, one line says
// so and the rest reach only the console.
inline constexpr size_t kMaxJournaledLogLines = 10000;
// A group of writes commits at the first whole event past either bound, quiet point or not.
inline constexpr size_t kMaxPendingWrites = 65536;
inline constexpr size_t kMaxPendingBytes = 64u << 20;

// Opens (creating, with the schema) the journal at `path`. Upgrades a journal of schema 1 when
// writing; refuses one whose schema is newer than this build knows.
Outcome<std::unique_ptr<SqliteDb>> openJournal(const std::string& path, bool readOnly = false);

class RunJournal final : public RunListener {
 public:
  // `invocation`: how the run was asked for (audit log, inputs, output directory, options), what
  // cordon resume runs it again with (docs/state.md).
  // Checkpoints move to a thread of its own (journal/journal_checkpointer) while it lives.
  // `syncWal`: how that thread syncs the WAL (fdatasync; the tests make it fail).
  RunJournal(SqliteDb& db, nlohmann::json invocation,
             JournalCheckpointer::SyncFunction syncWal = ::fdatasync);
  ~RunJournal() override { commit(); }
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  // Group commit (docs/state.md, "What is durable when"): the events between two quiet points
  // are one transaction, committed at the quiet point, and at once when the run ends. Their rows
  // are kept in memory until then and written in one go, with the commit: SQLite's statements
  // run back to back instead of between the run's RPC, which costs the run less. A write
  // that fails rolls the transaction back: the journal keeps whole events only, up to the last
  // commit. The fault point journal.KIND (core/fault_point.h) commits, then kills the supervisor
  // there: as if it died right after that event's write.
  void onEvent(const RunEvent& event) override;
  void onQuiet() override { commit(); }
  // After the run: commits what waits, syncs the WAL one last time and stops the journal's
  // thread, so that failure() also reports a sync of the WAL that failed at any time.
  void finish();
  // The first write, commit or sync of the WAL that failed: journaling stopped there.
  const std::optional<Error>& failure() const { return failure_; }

 private:
  // Writes the rows kept since the last commit as one transaction.
  void commit();
  // The time of the event being written, as journalTime(): one for all its rows.
  const std::string& now();
  // The fault point's name of the event's write ("" for an event the journal does not keep).
  const char* record(const RunEvent& event);
  // Keeps a row's write for the next commit. `sql` is a literal (it is kept by address);
  // `keepAlive` owns the bytes a SqlBlob bind views.
  void write(const char* sql, std::vector<SqlValue> binds,
             std::shared_ptr<const std::string> keepAlive = nullptr);
  void transition(const std::string& step, const std::string& state);
  // An attempt's row: its start, and its end (folded into the start when that still waits).
  void startAttempt(const std::string& label, int64_t number);
  void endAttempt(const std::string& label, int64_t number, const std::string& outcome,
                  const std::vector<SqlValue>& error);
  // One more denial or violation ("denial", "violation") for the step a decision was made in.
  void tally(const std::string& label, const char* kind);

  SqliteDb& db_;
  std::optional<JournalCheckpointer> checkpointer_;
  nlohmann::json invocation_;
  std::string runId_;
  std::optional<Error> failure_;
  struct PendingWrite {
    const char* sql;
    std::vector<SqlValue> binds;
    std::shared_ptr<const std::string> keepAlive;
  };
  std::vector<PendingWrite> pending_;
  size_t pendingBytes_ = 0;  // the inline outputs' bytes pending_ holds
  // The step rows and attempt rows inserted in this group (step or label -> index in pending_):
  // their end is folded into the insert, one statement instead of two.
  std::map<std::string, size_t> pendingSteps_;
  std::map<std::string, size_t> pendingAttempts_;
  std::string now_;
  bool stamped_ = false;
  std::map<std::string, int64_t> attempts_;  // label -> the attempt now running
  size_t logLines_ = 0;
};

// Now, as the journal writes times: RFC 3339 UTC with microseconds.
std::string journalTime();
std::string journalTime(std::chrono::system_clock::time_point at);

}  // namespace cordon
