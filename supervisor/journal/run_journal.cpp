#include "journal/run_journal.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/fault_point.h"
#include "core/untrusted_text.h"
#include "run/run_report.h"
#include "trust/plugin_verifier.h"

namespace cordon {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  workflow_name TEXT NOT NULL, workflow_path TEXT NOT NULL, workflow_digest TEXT NOT NULL,
  policy_path TEXT NOT NULL, policy_digest TEXT NOT NULL,
  steps INTEGER NOT NULL, jobs INTEGER NOT NULL,
  state TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
  error_category TEXT, error_message TEXT, error_step TEXT,
  invocation TEXT, resumes INTEGER NOT NULL DEFAULT 0, graph TEXT);
CREATE TABLE IF NOT EXISTS steps (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL,
  plugin TEXT NOT NULL, state TEXT NOT NULL, started_at TEXT, ended_at TEXT,
  milliseconds REAL, worker_pid INTEGER, error_category TEXT, error_message TEXT,
  outputs TEXT, cache_key TEXT, cached_from TEXT, PRIMARY KEY (run_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, label TEXT NOT NULL,
  number INTEGER NOT NULL, started_at TEXT NOT NULL, ended_at TEXT, outcome TEXT,
  error_category TEXT, error_message TEXT, PRIMARY KEY (run_id, label, number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS transitions (
  seq INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step TEXT NOT NULL,
  state TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS plugins (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, plugin TEXT NOT NULL,
  digest TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (run_id, plugin, digest));
CREATE TABLE IF NOT EXISTS artifacts (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step TEXT NOT NULL,
  name TEXT NOT NULL, bytes INTEGER NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY (run_id, step, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inputs (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, name TEXT NOT NULL,
  bytes INTEGER NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (run_id, name));
CREATE INDEX IF NOT EXISTS transitions_by_run ON transitions (run_id, seq);
)sql";

// Schema 4's additions, also what an upgrade from 3 creates: what the dashboard shows of a step
// beyond its state (docs/state.md).
constexpr char kDashboardTables[] = R"sql(
CREATE TABLE IF NOT EXISTS tallies (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step TEXT NOT NULL,
  kind TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (run_id, step, kind));
CREATE TABLE IF NOT EXISTS workers (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, plugin TEXT NOT NULL,
  pid INTEGER NOT NULL, started_at TEXT NOT NULL, phases TEXT, start_seconds REAL,
  ended_at TEXT, step TEXT, exit TEXT, max_rss_kib INTEGER, cpu_seconds REAL, fault TEXT,
  cgroup TEXT, danger TEXT);
CREATE INDEX IF NOT EXISTS workers_by_run ON workers (run_id, pid);
CREATE TABLE IF NOT EXISTS logs (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, step TEXT NOT NULL,
  level TEXT NOT NULL, message TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_step ON logs (run_id, step);
)sql";

// Schema 5's addition: the bytes of the outputs the store keeps inline (at most
// kInlineArtifactBytes), by digest, shared by every run whose artifacts row names it.
constexpr char kBlobTable[] = R"sql(
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, bytes BLOB NOT NULL);
)sql";

// Schema 1 (cordon 0.1's first journal) had no invocation, resume count, step outputs or inputs.
constexpr char kUpgradeFrom1[] = R"sql(
ALTER TABLE runs ADD COLUMN invocation TEXT;
ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN outputs TEXT;
UPDATE meta SET value = '2' WHERE key = 'schema';
)sql";

// Schema 2 had no cached results: a step's cache key and the run whose result it reused.
constexpr char kUpgradeFrom2[] = R"sql(
ALTER TABLE steps ADD COLUMN cache_key TEXT;
ALTER TABLE steps ADD COLUMN cached_from TEXT;
UPDATE meta SET value = '3' WHERE key = 'schema';
)sql";

// Schema 3 had no planned graph, denial and violation tallies, or workers.
constexpr char kUpgradeFrom3[] = R"sql(
ALTER TABLE runs ADD COLUMN graph TEXT;
UPDATE meta SET value = '4' WHERE key = 'schema';
)sql";

// Schema 4 had no inline outputs (every output was a file in the store).
constexpr char kUpgradeFrom4[] = R"sql(
UPDATE meta SET value = '5' WHERE key = 'schema';
)sql";

// After any upgrade: the columns it indexes exist only from schema 3 on.
constexpr char kIndexes[] = R"sql(
CREATE INDEX IF NOT EXISTS steps_by_cache_key ON steps (cache_key) WHERE cache_key IS NOT NULL;
)sql";

nlohmann::json graphJson(const std::vector<PlannedNode>& graph) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const PlannedNode& node : graph)
    nodes.push_back({{"step", node.step}, {"plugin", node.plugin}, {"needs", node.needs}});
  return nodes;
}

std::vector<SqlValue> errorColumns(const std::optional<Error>& error) {
  if (!error) return {nullptr, nullptr};
  return {std::string(categoryName(error->category)), error->message};
}

// A step's row and an attempt's row: inserted when they start, and updated when they end, or,
// when the insert still waits in the same group, inserted once with their final values.
constexpr char kInsertStep[] =
    "INSERT OR REPLACE INTO steps (run_id, name, plugin, state, started_at) VALUES "
    "(?1, ?2, ?3, 'running', ?4)";
constexpr char kInsertEndedStep[] =
    "INSERT OR REPLACE INTO steps (run_id, name, plugin, started_at, state, ended_at, "
    "milliseconds, worker_pid, error_category, error_message, outputs) VALUES "
    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr char kEndStep[] =
    "UPDATE steps SET state = ?3, ended_at = ?4, milliseconds = ?5, worker_pid = ?6, "
    "error_category = ?7, error_message = ?8, outputs = ?9 WHERE run_id = ?1 AND name = ?2";
constexpr char kInsertAttempt[] =
    "INSERT OR REPLACE INTO attempts (run_id, label, number, started_at) VALUES (?1, ?2, ?3, ?4)";
constexpr char kInsertEndedAttempt[] =
    "INSERT OR REPLACE INTO attempts (run_id, label, number, started_at, ended_at, outcome, "
    "error_category, error_message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr char kEndAttempt[] =
    "UPDATE attempts SET ended_at = ?4, outcome = ?5, error_category = ?6, error_message = ?7 "
    "WHERE run_id = ?1 AND label = ?2 AND number = ?3";

}  // namespace

std::string journalTime() {
  return journalTime(std::chrono::system_clock::now());
}

std::string journalTime(std::chrono::system_clock::time_point at) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof text - length, ".%06lldZ",
                static_cast<long long>(micros % 1'000'000));
  return text;
}

Outcome<std::unique_ptr<SqliteDb>> openJournal(const std::string& path, bool readOnly) {
  auto opened = SqliteDb::open(path, readOnly);
  if (!opened.ok()) return opened.error();
  SqliteDb& db = *opened.value();
  if (!readOnly) {
    // WAL: a reader (cordon runs) never blocks the run writing; NORMAL: a commit is durable
    // once the journal's thread syncs the WAL (within kWalSyncEvery), and the database
    // survives a crash of the process. A page cache of 2 MiB (SQLite's default, set here so
    // nobody raises it for speed): a run's journal is written, rarely read back, and a cache
    // that grows with it (it was 64 MiB) cost 10-20 us a step in fresh memory beside the run
    // (docs/state.md, "The page cache").
    if (auto failed = db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                              "PRAGMA foreign_keys=ON; PRAGMA cache_size=-2000;"))
      return *failed;
    if (auto failed = db.exec(kSchema)) return *failed;
    if (auto failed = db.exec(kDashboardTables)) return *failed;
    if (auto failed = db.exec(kBlobTable)) return *failed;
    if (auto failed = db.run("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?1)",
                             {std::to_string(kJournalSchemaVersion)}))
      return *failed;
  }
  auto version = db.query("SELECT value FROM meta WHERE key = 'schema'");
  if (!version.ok()) return version.error();
  if (version.value().empty()) {
    return makeError(ErrorCategory::kBadInput, path + ": not a Cordon journal (no schema version)");
  }
  std::string found = sqlText(version.value()[0][0]);
  const struct {
    const char* from;
    const char* sql;
    const char* to;
  } upgrades[] = {{"1", kUpgradeFrom1, "2"},
                  {"2", kUpgradeFrom2, "3"},
                  {"3", kUpgradeFrom3, "4"},
                  {"4", kUpgradeFrom4, "5"}};
  for (const auto& upgrade : upgrades) {
    if (found != upgrade.from || readOnly) continue;
    if (auto failed = db.exec(std::string("BEGIN IMMEDIATE;") + upgrade.sql + "COMMIT;")) {
      db.exec("ROLLBACK;");
      return *failed;
    }
    found = upgrade.to;
  }
  if (!readOnly) {
    if (auto failed = db.exec(kIndexes)) return *failed;
  }
  // Read-only, an older journal reads as it is: schema 1's runs have no invocation and no
  // inputs, no schema before 3 has cached steps, none before 4 a graph, tallies or workers, none
  // before 5 inline outputs.
  if (found != std::to_string(kJournalSchemaVersion) &&
      !(readOnly && (found == "1" || found == "2" || found == "3" || found == "4"))) {
    return makeError(ErrorCategory::kBadInput, path + ": journal schema " + found +
                                                   ", but this cordon reads schema " +
                                                   std::to_string(kJournalSchemaVersion));
  }
  return opened;
}

RunJournal::RunJournal(SqliteDb& db, nlohmann::json invocation,
                       JournalCheckpointer::SyncFunction syncWal)
    : db_(db), invocation_(std::move(invocation)) {
  if (!db_.exec("PRAGMA wal_autocheckpoint=0")) checkpointer_.emplace(db_.path(), syncWal);
}

void RunJournal::write(const char* sql, std::vector<SqlValue> binds,
                       std::shared_ptr<const std::string> keepAlive) {
  if (failure_) return;
  if (keepAlive) pendingBytes_ += keepAlive->size();
  pending_.push_back({sql, std::move(binds), std::move(keepAlive)});
}

const std::string& RunJournal::now() {
  if (!stamped_) {
    now_ = journalTime();
    stamped_ = true;
  }
  return now_;
}

void RunJournal::tally(const std::string& label, const char* kind) {
  // A for_each item's decisions count for its step: STEP[N] -> STEP.
  std::string step = label;
  if (!step.empty() && step.back() == ']') {
    if (const size_t open = step.rfind('['); open != std::string::npos) step.resize(open);
  }
  write(
      "INSERT INTO tallies (run_id, step, kind, count) VALUES (?1, ?2, ?3, 1) "
      "ON CONFLICT (run_id, step, kind) DO UPDATE SET count = count + 1",
      {runId_, step, std::string(kind)});
}

void RunJournal::startAttempt(const std::string& label, int64_t number) {
  attempts_[label] = number;
  pendingAttempts_[label] = pending_.size();
  write(kInsertAttempt, {runId_, label, number, now()});
}

void RunJournal::endAttempt(const std::string& label, int64_t number, const std::string& outcome,
                            const std::vector<SqlValue>& error) {
  auto waiting = pendingAttempts_.find(label);
  if (waiting != pendingAttempts_.end() && waiting->second < pending_.size() &&
      pending_[waiting->second].sql == kInsertAttempt &&
      sqlInteger(pending_[waiting->second].binds[2]) == number) {
    PendingWrite& insert = pending_[waiting->second];
    insert.binds = {runId_, label, number, insert.binds[3], now(), outcome, error[0], error[1]};
    insert.sql = kInsertEndedAttempt;
    pendingAttempts_.erase(waiting);
    return;
  }
  write(kEndAttempt, {runId_, label, number, now(), outcome, error[0], error[1]});
}

void RunJournal::transition(const std::string& step, const std::string& state) {
  write("INSERT INTO transitions (run_id, step, state, at) VALUES (?1, ?2, ?3, ?4)",
        {runId_, step, state, now()});
}

void RunJournal::onEvent(const RunEvent& event) {
  if (failure_) return;
  stamped_ = false;
  const char* kind = record(event);
  // The crash tests' point journal.KIND: the supervisor dies once this event, and only the
  // events before it, are committed.
  if (*kind != '\0' && faultPointDue("journal.", kind)) {
    commit();
    crashNow();
  }
  // The run's end is durable before the run is reported; a group that grew large (a loop that
  // has not been quiet for long) commits early, so what waits in memory stays bounded.
  if (std::holds_alternative<RunFinished>(event) || pending_.size() >= kMaxPendingWrites ||
      pendingBytes_ >= kMaxPendingBytes)
    commit();
}

void RunJournal::finish() {
  commit();
  if (!checkpointer_) return;
  checkpointer_->stop();
  if (!failure_) failure_ = checkpointer_->syncFailure();
  checkpointer_.reset();
}

void RunJournal::commit() {
  // A WAL the journal's thread could not sync is no longer a record to build on (see
  // JournalCheckpointer::syncFailure): journaling stops as for a failed write.
  if (!failure_ && checkpointer_) failure_ = checkpointer_->syncFailure();
  if (!pending_.empty() && !failure_) {
    failure_ = db_.run("BEGIN", {});
    for (const PendingWrite& pending : pending_) {
      if (failure_) break;
      failure_ = db_.run(pending.sql, pending.binds);
    }
    if (!failure_) failure_ = db_.run("COMMIT", {});
    // A write or the commit that fails: the journal stays as the last commit left it (whole
    // events' rows, never part of one), and journaling stops.
    if (failure_) db_.run("ROLLBACK", {});
  }
  pending_.clear();  // keeps its capacity: the next group is about as large
  pendingBytes_ = 0;
  pendingSteps_.clear();
  pendingAttempts_.clear();
}

const char* RunJournal::record(const RunEvent& event) {
  return std::visit(
      Overloaded{
          [this](const RunStarted& e) {
            runId_ = e.runId;
            if (e.resumed) {
              write(
                  "UPDATE runs SET state = 'running', ended_at = NULL, error_category = NULL, "
                  "error_message = NULL, error_step = NULL, resumes = resumes + 1 WHERE id = ?1",
                  {runId_});
              transition("", "resumed");
            } else {
              write(
                  "INSERT INTO runs (id, workflow_name, workflow_path, workflow_digest, "
                  "policy_path, policy_digest, steps, jobs, state, started_at, invocation, graph) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'running', ?9, ?10, ?11)",
                  {runId_, e.workflowName, e.workflowPath, sha256FileDigest(e.workflowPath),
                   e.policyPath, sha256FileDigest(e.policyPath), static_cast<int64_t>(e.steps),
                   static_cast<int64_t>(e.jobs), now(), jsonText(invocation_),
                   jsonText(graphJson(e.graph))});
              transition("", "running");
            }
            for (const auto& [plugin, digest] : e.pluginDigests) {
              write(
                  "INSERT OR IGNORE INTO plugins (run_id, plugin, digest, path) VALUES "
                  "(?1, ?2, ?3, '')",
                  {runId_, plugin, digest});
            }
            return "run_started";
          },
          [](const InputsRejected&) { return ""; },
          [this](const StepStarted& e) {
            pendingSteps_[e.step] = pending_.size();
            write(kInsertStep, {runId_, e.step, e.plugin, now()});
            transition(e.step, "running");
            if (e.interruptedAttempt != 0) {
              // The attempt the supervisor's death cut short is closed by what follows: a
              // retry, or the step's end.
              attempts_[e.step] = e.interruptedAttempt;
              return "step_started";
            }
            startAttempt(e.step, 1);
            return "step_started";
          },
          [this](const StepFinished& e) {
            const char* state = !e.error ? "succeeded" : e.continued ? "continued" : "failed";
            const auto error = errorColumns(e.error);
            nlohmann::json outputs = nlohmann::json::object();
            for (const auto& [name, bytes] : e.outputSizes) outputs[name] = bytes;
            auto waiting = pendingSteps_.find(e.step);
            if (waiting != pendingSteps_.end() && waiting->second < pending_.size() &&
                pending_[waiting->second].sql == kInsertStep) {
              // Its start waits in this group: one insert with the end's values, in the start's
              // place (a later write of the group, as the cache key, still lands on it).
              PendingWrite& insert = pending_[waiting->second];
              insert.binds = {runId_,
                              e.step,
                              insert.binds[2],
                              insert.binds[3],
                              std::string(state),
                              now(),
                              e.milliseconds,
                              static_cast<int64_t>(e.workerPid),
                              error[0],
                              error[1],
                              jsonText(outputs)};
              insert.sql = kInsertEndedStep;
              pendingSteps_.erase(waiting);
            } else {
              write(kEndStep,
                    {runId_, e.step, std::string(state), now(), e.milliseconds,
                     static_cast<int64_t>(e.workerPid), error[0], error[1], jsonText(outputs)});
            }
            transition(e.step, state);
            if (auto open = attempts_.find(e.step); open != attempts_.end()) {
              endAttempt(e.step, open->second, e.error ? "failed" : "succeeded", error);
              attempts_.erase(open);
            }
            return "step_finished";
          },
          [this](const StepCacheChecked& e) {
            write(
                "UPDATE steps SET cache_key = ?3, cached_from = ?4 WHERE run_id = ?1 AND name = ?2",
                {runId_, e.step, e.key,
                 e.fromRun.empty() ? SqlValue(nullptr) : SqlValue(e.fromRun + "/" + e.fromStep)});
            return "step_cache";
          },
          [this](const StepSkipped& e) {
            write(
                "INSERT OR REPLACE INTO steps (run_id, name, plugin, state, error_message) "
                "VALUES (?1, ?2, ?3, 'skipped', ?4)",
                {runId_, e.step, e.plugin, e.reason});
            transition(e.step, "skipped");
            return "step_skipped";
          },
          [this](const StepRetrying& e) {
            const auto error = errorColumns(e.error);
            // A for_each item's first attempt, started by no event of its own.
            if (attempts_[e.step] == 0) startAttempt(e.step, 1);
            const int64_t failedAttempt = attempts_[e.step];
            endAttempt(e.step, failedAttempt, "failed", error);
            startAttempt(e.step, failedAttempt + 1);
            transition(e.step, e.why == StepRetrying::Why::kRetry ? "retrying" : "restarting");
            return "step_retrying";
          },
          [](const RestartsExhausted&) { return ""; },
          [this](const PluginLogged& e) {
            // A plugin's log lines, as many as its policy let through, up to a bound per run:
            // the console saw them all; the journal keeps what the dashboard shows.
            if (logLines_ > kMaxJournaledLogLines) return "";
            const bool last = logLines_++ == kMaxJournaledLogLines;
            write(
                "INSERT INTO logs (run_id, step, level, message, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                {runId_, e.step, last ? std::string("cordon") : e.level,
                 last ? std::string("further log lines of this run are not journaled") : e.message,
                 now()});
            return "log";
          },
          [](const CallFinished&) { return ""; },
          [this](const WorkerStarted& e) {
            write(
                "INSERT INTO plugins (run_id, plugin, digest, path) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (run_id, plugin, digest) DO UPDATE SET path = excluded.path",
                {runId_, e.plugin, e.digest, e.path});
            nlohmann::json danger = e.danger;
            write(
                "INSERT INTO workers (run_id, plugin, pid, started_at, cgroup, danger) VALUES "
                "(?1, ?2, ?3, ?4, ?5, ?6)",
                {runId_, e.plugin, static_cast<int64_t>(e.pid), now(), e.cgroup, jsonText(danger)});
            return "worker_started";
          },
          [this](const WorkerReady& e) {
            nlohmann::json phases = nlohmann::json::array();
            for (const auto& [phase, seconds] : e.phaseSeconds)
              phases.push_back({{"phase", phase}, {"seconds", seconds}});
            write(
                "UPDATE workers SET phases = ?3, start_seconds = ?4 WHERE rowid = (SELECT "
                "max(rowid) FROM workers WHERE run_id = ?1 AND pid = ?2)",
                {runId_, static_cast<int64_t>(e.pid), jsonText(phases), e.totalSeconds});
            return "worker_ready";
          },
          [](const WorkerStartFailed&) { return ""; },
          [this](const WorkerStopped& e) {
            const bool violation = e.fault && e.fault->kind == WorkerFault::Kind::kSandboxViolation;
            write(
                "UPDATE workers SET ended_at = ?3, step = ?4, exit = ?5, max_rss_kib = ?6, "
                "cpu_seconds = ?7, fault = ?8 WHERE rowid = (SELECT max(rowid) FROM workers "
                "WHERE run_id = ?1 AND pid = ?2)",
                {runId_, static_cast<int64_t>(e.pid), now(), e.step, e.exit,
                 static_cast<int64_t>(e.maxRssKib), e.cpuSeconds,
                 e.fault ? SqlValue(std::string(categoryName(e.fault->error.category)) + ": " +
                                    e.fault->error.message)
                         : SqlValue(nullptr)});
            if (violation) tally(e.step, "violation");
            return "worker_stopped";
          },
          [this](const GateDecided& e) {
            if (e.verdict != GateDecided::Verdict::kDeny) return "";
            tally(e.step, e.direction == "plugin->kernel" ? "violation" : "denial");
            return "denial";
          },
          [](const OutputsFailed&) { return ""; },
          [](const ArtifactSpilled&) { return ""; },
          [this](const ArtifactDigested& e) {
            write(
                "INSERT OR REPLACE INTO artifacts (run_id, step, name, bytes, digest) VALUES "
                "(?1, ?2, ?3, ?4, ?5)",
                {runId_, e.step, e.name, static_cast<int64_t>(e.bytes), e.digest});
            if (e.inlineBytes) {
              // A copy damaged by hand is put right by the next run that holds these bytes.
              write(
                  "INSERT INTO blobs (digest, bytes) VALUES (?1, ?2) ON CONFLICT (digest) DO "
                  "UPDATE SET bytes = excluded.bytes WHERE bytes != excluded.bytes",
                  {e.digest, SqlBlob{*e.inlineBytes}}, e.inlineBytes);
            }
            return "artifact";
          },
          [this](const InputDigested& e) {
            write(
                "INSERT OR REPLACE INTO inputs (run_id, name, bytes, digest) VALUES "
                "(?1, ?2, ?3, ?4)",
                {runId_, e.name, static_cast<int64_t>(e.bytes), e.digest});
            return "input";
          },
          [this](const RunFinished& e) {
            std::optional<Error> error;
            std::string state = "failed";
            if (e.report != nullptr) {
              error = e.report->error;
              state = e.report->status();
            }
            const auto columns = errorColumns(error);
            write(
                "UPDATE runs SET state = ?2, ended_at = ?3, error_category = ?4, "
                "error_message = ?5, error_step = ?6 WHERE id = ?1",
                {runId_, state, now(), columns[0], columns[1],
                 error ? SqlValue(error->step) : SqlValue(nullptr)});
            transition("", state);
            return "run_finished";
          },
      },
      event);
}

}  // namespace cordon
