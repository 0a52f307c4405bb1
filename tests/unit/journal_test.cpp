// The run journal's store: schema, versioning, and what a failed write does (the CLI test in
// tests/integration/cli_test.cpp runs real workflows into it).
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "journal/journal_reader.h"
#include "journal/run_journal.h"
#include "journal/stored_outputs.h"
#include "run/artifact_store.h"
#include "run/audit_subscriber.h"
#include "run/run_report.h"
#include "test_support.h"
#include "trust/plugin_verifier.h"

using namespace cordon;

TEST_CASE("the journal is made with its schema, and a newer schema is refused by name") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  {
    auto made = openJournal(path);
    REQUIRE(made.ok());
    auto mode = made.value()->query("PRAGMA journal_mode");
    REQUIRE(mode.ok());
    CHECK(sqlText(mode.value()[0][0]) == "wal");
    REQUIRE_FALSE(made.value()->run("UPDATE meta SET value = '6' WHERE key = 'schema'", {}));
  }
  auto refused = openJournal(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == path + ": journal schema 6, but this cordon reads schema 5");
  auto notOurs = openJournal(dir.write("other.sqlite", ""), /*readOnly=*/true);
  CHECK_FALSE(notOurs.ok());
}

TEST_CASE("a schema-1 journal is upgraded when written (through 2, 3 and 4, to 5), its runs kept") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  {
    auto raw = SqliteDb::open(path);
    REQUIRE(raw.ok());
    REQUIRE_FALSE(raw.value()->exec(R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema', '1');
CREATE TABLE runs (id TEXT PRIMARY KEY, workflow_name TEXT NOT NULL, workflow_path TEXT NOT NULL,
  workflow_digest TEXT NOT NULL, policy_path TEXT NOT NULL, policy_digest TEXT NOT NULL,
  steps INTEGER NOT NULL, jobs INTEGER NOT NULL, state TEXT NOT NULL, started_at TEXT NOT NULL,
  ended_at TEXT, error_category TEXT, error_message TEXT, error_step TEXT);
CREATE TABLE steps (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL, plugin TEXT NOT NULL, state TEXT NOT NULL, started_at TEXT, ended_at TEXT,
  milliseconds REAL, worker_pid INTEGER, error_category TEXT, error_message TEXT,
  PRIMARY KEY (run_id, name));
INSERT INTO runs VALUES ('00aa00aa00aa00aa', 'old', 'w.yaml', 'sha256:00', 'p.yaml', 'sha256:11',
  1, 1, 'succeeded', '2026-11-30T00:00:00.000000Z', NULL, NULL, NULL, NULL);
)sql"));
  }
  auto readOnly = openJournal(path, /*readOnly=*/true);  // read as it is, not upgraded
  REQUIRE(readOnly.ok());
  auto listed = journalRuns(*readOnly.value(), 10);
  REQUIRE(listed.ok());
  CHECK(listed.value()[0]["workflow"] == "old");
  readOnly.value().reset();
  auto upgraded = openJournal(path);
  REQUIRE(upgraded.ok());
  auto version = upgraded.value()->query("SELECT value FROM meta WHERE key = 'schema'");
  REQUIRE(version.ok());
  CHECK(sqlText(version.value()[0][0]) == "5");
  auto columns = upgraded.value()->query("SELECT invocation, resumes FROM runs");
  REQUIRE(columns.ok());
  CHECK(sqlInteger(columns.value()[0][1]) == 0);
  CHECK(upgraded.value()->query("SELECT outputs FROM steps").ok());
  CHECK(upgraded.value()->query("SELECT digest FROM inputs").ok());
  CHECK(upgraded.value()->query("SELECT cache_key, cached_from FROM steps").ok());
  CHECK(upgraded.value()->query("SELECT graph FROM runs").ok());
  CHECK(upgraded.value()->query("SELECT digest, bytes FROM blobs").ok());
  CHECK(upgraded.value()->query("SELECT step, kind, count FROM tallies").ok());
  CHECK(upgraded.value()->query("SELECT phases, max_rss_kib FROM workers").ok());
  // The old run reads with an empty graph: nothing to lay out, not an error.
  auto old = journalRun(*upgraded.value(), "00aa00aa00aa00aa");
  REQUIRE(old.ok());
  CHECK(old.value()["graph"].empty());
  CHECK(old.value()["workers"].empty());
}

TEST_CASE("a run's events become rows; a write that fails stops journaling, not the run") {
  test::TempDir dir;
  auto db = openJournal(dir.path("journal.sqlite"));
  REQUIRE(db.ok());
  RunJournal journal(*db.value(), nlohmann::json::object());
  journal.onEvent(RunStarted{"00112233aabbccdd",
                             dir.write("w.yaml", "name: w\n"),
                             "w",
                             dir.write("p.yaml", "version: 1\n"),
                             1,
                             1,
                             {},
                             false,
                             {},
                             {},
                             {}});
  journal.onEvent(StepStarted{"a", "mix"});
  journal.onEvent(StepFinished{"a", "mix", 3, 7, std::nullopt, {}, false});
  RunReport report;
  journal.onEvent(RunFinished{&report});
  CHECK_FALSE(journal.failure());
  auto shown = journalRun(*db.value(), "0011");
  REQUIRE(shown.ok());
  CHECK(shown.value()["run"]["state"] == "succeeded");
  CHECK(shown.value()["run"]["workflow_digest"] == sha256Digest("name: w\n"));
  CHECK(shown.value()["steps"][0]["worker_pid"] == 7);

  // The same run id again: the insert fails when its group commits, the first error is kept,
  // nothing throws.
  journal.onEvent(
      RunStarted{"00112233aabbccdd", "w.yaml", "w", "p.yaml", 1, 1, {}, false, {}, {}, {}});
  journal.onQuiet();
  REQUIRE(journal.failure());
  CHECK(journal.failure()->message.find("journal.sqlite") != std::string::npos);
  journal.onEvent(StepStarted{"b", "mix"});  // ignored once failed
  auto again = journalRun(*db.value(), "00112233aabbccdd");
  REQUIRE(again.ok());
  CHECK(again.value()["steps"].size() == 1);
}

namespace {

RunStarted startedRun(test::TempDir& dir, const std::string& id) {
  return RunStarted{id,  dir.write("w.yaml", "name: w\n"),
                    "w", dir.write("p.yaml", "version: 1\n"),
                    2,   2,
                    {},  false,
                    {},  {},
                    {}};
}

// The runs and step states another connection (cordon runs, the dashboard, cordon resume after
// a crash) sees in the journal at `path`.
std::map<std::string, std::string> committedStates(const std::string& path) {
  auto reader = openJournal(path, /*readOnly=*/true);
  REQUIRE(reader.ok());
  std::map<std::string, std::string> states;
  auto runs = journalRuns(*reader.value(), 10);
  REQUIRE(runs.ok());
  for (const auto& run : runs.value()) {
    const std::string id = run["id"];
    states[id] = run["state"];
    auto shown = journalRun(*reader.value(), id);
    REQUIRE(shown.ok());
    for (const auto& step : shown.value()["steps"])
      states[id + "/" + std::string(step["name"])] = step["state"];
  }
  return states;
}

}  // namespace

TEST_CASE("group commit: the events up to a quiet point commit there; a run's end at once") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  RunJournal journal(*db.value(), nlohmann::json::object());
  journal.onEvent(startedRun(dir, "00112233aabbccdd"));
  journal.onEvent(StepStarted{"a", "mix"});
  CHECK(committedStates(path).empty());  // one open transaction: nothing is out yet
  journal.onQuiet();
  CHECK(committedStates(path) ==
        std::map<std::string, std::string>{{"00112233aabbccdd", "running"},
                                           {"00112233aabbccdd/a", "running"}});
  journal.onEvent(StepFinished{"a", "mix", 3, 7, std::nullopt, {}, false});
  CHECK(committedStates(path).at("00112233aabbccdd/a") == "running");
  RunReport report;
  journal.onEvent(RunFinished{&report});  // no quiet point needed: the end is durable at once
  CHECK(committedStates(path) ==
        std::map<std::string, std::string>{{"00112233aabbccdd", "succeeded"},
                                           {"00112233aabbccdd/a", "succeeded"}});
  CHECK_FALSE(journal.failure());
}

TEST_CASE(
    "group commit: a write that fails takes its whole transaction back, not the last commit") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  {
    RunJournal journal(*db.value(), nlohmann::json::object());
    journal.onEvent(startedRun(dir, "00112233aabbccdd"));
    journal.onQuiet();
    journal.onEvent(StepStarted{"a", "mix"});
    journal.onEvent(startedRun(dir, "00112233aabbccdd"));  // the same id again: refused
    journal.onQuiet();
    REQUIRE(journal.failure());
    journal.onEvent(StepStarted{"b", "mix"});  // ignored once failed
    journal.onQuiet();
  }
  // Step a's start shared the failed write's transaction: the journal is as the quiet point left
  // it, whole events only.
  CHECK(committedStates(path) ==
        std::map<std::string, std::string>{{"00112233aabbccdd", "running"}});
  // The connection is usable: no transaction was left open.
  CHECK_FALSE(db.value()->run("INSERT INTO meta (key, value) VALUES ('probe', '1')", {}));
}

namespace {

// The denials another connection sees counted for the run's step "a".
int64_t committedDenials(const std::string& path) {
  auto reader = openJournal(path, /*readOnly=*/true);
  REQUIRE(reader.ok());
  auto rows = reader.value()->query("SELECT total(count) FROM tallies WHERE step = 'a'");
  REQUIRE(rows.ok());
  return static_cast<int64_t>(sqlReal(rows.value().at(0).at(0)));
}

}  // namespace

TEST_CASE("group commit: a group that grows past its bounds commits without a quiet point") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  RunJournal journal(*db.value(), nlohmann::json::object());
  journal.onEvent(startedRun(dir, "00112233aabbccdd"));
  journal.onQuiet();

  SUBCASE("rows: each denial is one, and the one that makes kMaxPendingWrites commits them") {
    GateDecided denied;
    denied.step = "a";
    denied.direction = "plugin->host";
    for (size_t i = 1; i < kMaxPendingWrites; ++i) journal.onEvent(denied);
    CHECK(committedDenials(path) == 0);
    journal.onEvent(denied);
    CHECK(committedDenials(path) == static_cast<int64_t>(kMaxPendingWrites));
  }
  SUBCASE("bytes: inline outputs that reach kMaxPendingBytes commit, with what came before") {
    journal.onEvent(StepStarted{"a", "mix"});
    const auto bytes = std::make_shared<const std::string>(1u << 20, 'x');
    const std::string digest = sha256Digest(*bytes);
    const size_t events = kMaxPendingBytes / bytes->size();
    for (size_t i = 1; i < events; ++i)
      journal.onEvent(
          ArtifactDigested{"a", "out" + std::to_string(i), bytes->size(), digest, bytes});
    CHECK(committedStates(path).count("00112233aabbccdd/a") == 0);
    journal.onEvent(ArtifactDigested{"a", "last", bytes->size(), digest, bytes});
    CHECK(committedStates(path).at("00112233aabbccdd/a") == "running");
  }
  CHECK_FALSE(journal.failure());
}

namespace {

// The step and attempt rows of the journal at `path`, times only as present or not.
std::vector<std::string> stepAndAttemptRows(const std::string& path) {
  auto reader = openJournal(path, /*readOnly=*/true);
  REQUIRE(reader.ok());
  std::vector<std::string> out;
  for (const char* sql :
       {"SELECT name, plugin, state, started_at IS NOT NULL, ended_at IS NOT NULL, milliseconds, "
        "worker_pid, error_category, error_message, outputs, cache_key, cached_from FROM steps "
        "ORDER BY name",
        "SELECT label, number, started_at IS NOT NULL, ended_at IS NOT NULL, outcome, "
        "error_category, error_message FROM attempts ORDER BY label, number"}) {
    auto rows = reader.value()->query(sql);
    REQUIRE(rows.ok());
    for (const auto& row : rows.value()) {
      std::string line;
      for (const SqlValue& column : row)
        line += (std::holds_alternative<std::nullptr_t>(column) ? "NULL" : sqlText(column)) + "|";
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a row whose start and end share a group is written once, as the two writes leave it") {
  test::TempDir dir;
  const Error failure = makeError(ErrorCategory::kPluginError, "no");
  StepCacheChecked keyed{"a", "mix", "sha256:k", "", "", {}};
  StepRetrying retry{"a", "mix", 1, 3, 0, failure, StepRetrying::Why::kRetry};
  StepRetrying itemRetry{"c[0]", "mix", 1, 3, 0, failure, StepRetrying::Why::kRetry};
  RunReport report;
  const std::vector<RunEvent> events = {
      startedRun(dir, "00112233aabbccdd"),
      StepStarted{"a", "mix"},
      keyed,
      retry,
      StepFinished{"a", "mix", 3, 7, std::nullopt, {{"out", 5}}, false},
      StepStarted{"b", "mix"},
      StepFinished{"b", "mix", 4, 8, failure, {}, true},
      itemRetry,
      StepFinished{"c[0]", "mix", 2, 9, std::nullopt, {}, false},
      StepStarted{"d", "mix"},  // still running when the run ends
      RunFinished{&report}};
  // One journal commits after every event (each end is an update of a committed row); the
  // other holds them all in one group (each end is folded into its start).
  std::vector<std::string> rows[2];
  for (int grouped = 0; grouped < 2; ++grouped) {
    const std::string path = dir.path("journal" + std::to_string(grouped) + ".sqlite");
    auto db = openJournal(path);
    REQUIRE(db.ok());
    RunJournal journal(*db.value(), nlohmann::json::object());
    for (const RunEvent& event : events) {
      journal.onEvent(event);
      if (grouped == 0) journal.onQuiet();
    }
    CHECK_FALSE(journal.failure());
    rows[grouped] = stepAndAttemptRows(path);
  }
  CHECK(rows[0] == rows[1]);
  // What both say: the cache key kept, the retry's first attempt closed as failed, the second
  // succeeded, a for_each item's attempts (it has no step row of its own), the step that had
  // not ended still running with its attempt open.
  CHECK(rows[1] == std::vector<std::string>{
                       "a|mix|succeeded|1|1|3.000000|7|NULL|NULL|{\"out\":5}|sha256:k|NULL|",
                       "b|mix|continued|1|1|4.000000|8|plugin_error|no|{}|NULL|NULL|",
                       "d|mix|running|1|0|NULL|NULL|NULL|NULL|NULL|NULL|NULL|",
                       "a|1|1|1|failed|plugin_error|no|", "a|2|1|1|succeeded|NULL|NULL|",
                       "b|1|1|1|failed|plugin_error|no|", "c[0]|1|1|1|failed|plugin_error|no|",
                       "c[0]|2|1|1|succeeded|NULL|NULL|", "d|1|1|0|NULL|NULL|NULL|"});
}

TEST_CASE("a journal destroyed mid-run commits what it holds (a run cut short by an error)") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  {
    RunJournal journal(*db.value(), nlohmann::json::object());
    journal.onEvent(startedRun(dir, "00112233aabbccdd"));
    journal.onEvent(StepStarted{"a", "mix"});
  }
  CHECK(committedStates(path).at("00112233aabbccdd/a") == "running");
}

TEST_CASE("the event stream's quiet points: scheduled once per burst of events, or after each") {
  test::TempDir dir;
  auto log = AuditLog::open(dir.path("audit.jsonl"));
  REQUIRE(log.ok());
  AuditSubscriber record(*log.value(), "00112233aabbccdd");
  struct QuietCounter final : RunListener {
    int events = 0;
    int quiets = 0;
    void onEvent(const RunEvent&) override { ++events; }
    void onQuiet() override { ++quiets; }
  } counter;
  {
    RunEvents unscheduled(record);
    unscheduled.subscribe(counter);
    CHECK_FALSE(unscheduled.emit(StepStarted{"a", "mix"}));
    CHECK_FALSE(unscheduled.emit(StepStarted{"b", "mix"}));
    CHECK(counter.quiets == 2);  // no event loop to say when it waits: a quiet point each
  }
  counter = {};
  RunEvents events(record);
  events.subscribe(counter);
  int scheduled = 0;
  events.scheduleQuietWith([&scheduled] { ++scheduled; });
  CHECK_FALSE(events.emit(StepStarted{"a", "mix"}));
  CHECK_FALSE(events.emit(StepStarted{"b", "mix"}));
  CHECK_FALSE(events.emit(StepStarted{"c", "mix"}));
  CHECK(scheduled == 1);
  CHECK(counter.quiets == 0);
  events.quiet();
  CHECK(counter.quiets == 1);
  CHECK_FALSE(events.emit(StepStarted{"d", "mix"}));
  CHECK(scheduled == 2);
  CHECK(counter.events == 4);
}

TEST_CASE(
    "inline outputs: kept byte for byte under their digest, read back checked, and put right") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  const std::string store = dir.path("artifacts");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  const std::string small("a\0b\xff\xfe<script>", 13);  // NUL and bytes that are not UTF-8
  const std::string large(8192, 'L');
  // The large one is a file in the store, as ArtifactStore writes it.
  std::filesystem::create_directories(store + "/sha256");
  const std::string largeFile = storedArtifactPath(store, sha256Digest(large));
  auto writeFile = [&largeFile](const std::string& bytes) {
    std::ofstream(largeFile, std::ios::binary | std::ios::trunc) << bytes;
  };
  writeFile(large);
  {
    RunJournal journal(*db.value(), nlohmann::json::object());
    journal.onEvent(startedRun(dir, "00112233aabbccdd"));
    journal.onEvent(StepStarted{"a", "mix"});
    journal.onEvent(ArtifactDigested{"a", "small", small.size(), sha256Digest(small),
                                     std::make_shared<const std::string>(small)});
    journal.onEvent(ArtifactDigested{"a", "large", large.size(), sha256Digest(large), {}});
    journal.onEvent(StepFinished{
        "a", "mix", 3, 7, std::nullopt, {{"small", small.size()}, {"large", large.size()}}, false});
    RunReport report;
    journal.onEvent(RunFinished{&report});
    REQUIRE_FALSE(journal.failure());
  }
  CHECK(inlineOutput(*db.value(), sha256Digest(small)) == small);
  CHECK_FALSE(inlineOutput(*db.value(), sha256Digest(large)));
  const std::string outputs = R"({"small": 13, "large": 8192})";
  auto read = storedOutputs(*db.value(), "00112233aabbccdd", "a", outputs, store);
  REQUIRE(read.ok());
  CHECK(test::bytesOf(read.value().outputs.at("small")) == small);
  CHECK(test::bytesOf(read.value().outputs.at("large")) == large);

  // Damaged, either one is refused by name; nothing of the step is used.
  const std::string other(small.size(), 'X');
  REQUIRE_FALSE(db.value()->run("UPDATE blobs SET bytes = ?2 WHERE digest = ?1",
                                {sha256Digest(small), SqlBlob{other}}));
  auto refused = storedOutputs(*db.value(), "00112233aabbccdd", "a", outputs, store);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message ==
        "the journal's inline bytes of " + sha256Digest(small) + " does not hash to its name");
  // The next run holding the same bytes puts them right.
  {
    RunJournal journal(*db.value(), nlohmann::json::object());
    journal.onEvent(startedRun(dir, "11112233aabbccdd"));
    journal.onEvent(ArtifactDigested{"a", "small", small.size(), sha256Digest(small),
                                     std::make_shared<const std::string>(small)});
  }
  CHECK(inlineOutput(*db.value(), sha256Digest(small)) == small);
  writeFile(std::string(8192, 'M'));
  refused = storedOutputs(*db.value(), "00112233aabbccdd", "a", outputs, store);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == largeFile + " does not hash to its name");
}

TEST_CASE("the WAL is checkpointed beside the run, not in its commits") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  const auto mainFileBytes = [&path] { return std::filesystem::file_size(path); };
  RunJournal journal(*db.value(), nlohmann::json::object());
  auto pages = db.value()->query("PRAGMA wal_autocheckpoint");
  REQUIRE(pages.ok());
  CHECK(sqlInteger(pages.value()[0][0]) == 0);  // the committing connection never checkpoints
  const uintmax_t before = mainFileBytes();
  journal.onEvent(startedRun(dir, "00112233aabbccdd"));
  for (int i = 0; i < 2000; ++i) journal.onEvent(StepStarted{"step" + std::to_string(i), "mix"});
  journal.onQuiet();
  // Only a checkpoint copies pages from the WAL into the database file; the journal's own thread
  // does that every kCheckpointEvery.
  bool grew = false;
  for (int i = 0; i < 50 && !grew; ++i) {
    std::this_thread::sleep_for(kCheckpointEvery);
    grew = mainFileBytes() > before + 100'000;
  }
  CHECK(grew);
}

TEST_CASE("the WAL is synced on every tick and checkpointed on every tenth") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  REQUIRE_FALSE(db.value()->exec("PRAGMA wal_autocheckpoint=0"));
  REQUIRE_FALSE(db.value()->exec("CREATE TABLE t (x BLOB)"));
  REQUIRE_FALSE(db.value()->run("INSERT INTO t VALUES (?1)", {SqlBlob{std::string(200'000, 'x')}}));
  const uintmax_t before = std::filesystem::file_size(path);
  uint64_t syncs = 0;
  {
    JournalCheckpointer checkpointer(path);
    constexpr auto kTicksPerCheckpoint = kCheckpointEvery / kWalSyncEvery;
    static_assert(kTicksPerCheckpoint >= 10);  // what makes a checkpoint rare is the point
    // Counted by ticks, not by time, so a slow machine cannot break the ratio: a checkpoint read
    // before the syncs is at most one per kTicksPerCheckpoint of them.
    for (int i = 0; i < 200 && checkpointer.checkpoints() == 0; ++i) {
      const uint64_t checkpoints = checkpointer.checkpoints();
      syncs = checkpointer.walSyncs();
      CHECK(checkpoints <= syncs / kTicksPerCheckpoint);
      if (syncs >= 1 && syncs <= kTicksPerCheckpoint / 2) {
        // Synced, not yet copied (the checkpoint is half its interval away): the database file
        // is as it was.
        CHECK(std::filesystem::file_size(path) == before);
      }
      std::this_thread::sleep_for(kWalSyncEvery / 2);
    }
    CHECK(checkpointer.checkpoints() >= 1);
    CHECK(checkpointer.walSyncs() >= kTicksPerCheckpoint);
  }
  CHECK(std::filesystem::file_size(path) > before + 150'000);  // copied into the database
}

namespace {

// A disk that refuses every sync, as one that has failed under the WAL.
int failingSync(int /*fd*/) {
  errno = EIO;
  return -1;
}

}  // namespace

TEST_CASE("a sync of the WAL that fails is kept, whatever succeeds after it") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  REQUIRE_FALSE(db.value()->exec("PRAGMA wal_autocheckpoint=0"));
  REQUIRE_FALSE(db.value()->exec("CREATE TABLE t (x INTEGER)"));  // a WAL to sync
  static std::atomic<int> calls{0};
  calls = 0;
  // Fails once, then succeeds: what Linux may do after dropping the pages it could not write.
  JournalCheckpointer checkpointer(path, [](int fd) {
    if (calls.fetch_add(1) == 0) return failingSync(fd);
    return ::fdatasync(fd);
  });
  for (int i = 0; i < 200 && checkpointer.walSyncs() == 0; ++i)
    std::this_thread::sleep_for(kWalSyncEvery / 2);
  REQUIRE(checkpointer.walSyncs() >= 1);  // a later sync succeeded...
  auto failure = checkpointer.syncFailure();
  REQUIRE(failure);  // ...and the first failure is still there
  CHECK(failure->category == ErrorCategory::kInternal);
  CHECK(failure->message.find(path + "-wal: fdatasync failed (") == 0);
  CHECK(failure->message.find(std::strerror(EIO)) != std::string::npos);
}

TEST_CASE("a journal whose WAL cannot be synced stops recording, and says why when it finishes") {
  test::TempDir dir;
  const std::string path = dir.path("journal.sqlite");
  auto db = openJournal(path);
  REQUIRE(db.ok());
  RunJournal journal(*db.value(), nlohmann::json::object(), failingSync);
  journal.onEvent(startedRun(dir, "00112233aabbccdd"));
  journal.onEvent(StepStarted{"a", "mix"});
  journal.onQuiet();  // committed: the WAL exists, and the journal's thread fails to sync it
  // The next quiet point after the thread's first tick sees the failure (polled, however slow
  // the machine: a tick is kWalSyncEvery).
  for (int i = 0; i < 600 && !journal.failure(); ++i) {
    std::this_thread::sleep_for(kWalSyncEvery / 5);
    journal.onQuiet();
  }
  REQUIRE(journal.failure());
  CHECK(journal.failure()->message.find("fdatasync failed") != std::string::npos);
  journal.onEvent(StepFinished{"a", "mix", 3, 7, std::nullopt, {}, false});
  journal.onQuiet();  // refused: the failed sync stopped the journal as a failed write would
  CHECK(committedStates(path)["00112233aabbccdd/a"] == "running");

  // A sync that fails only at the very end (the last one, as the run closes its journal) is
  // reported by finish().
  test::TempDir other;
  const std::string lastPath = other.path("journal.sqlite");
  auto lastDb = openJournal(lastPath);
  REQUIRE(lastDb.ok());
  RunJournal last(*lastDb.value(), nlohmann::json::object(), failingSync);
  last.onEvent(startedRun(other, "11112233aabbccdd"));
  RunReport report;
  last.onEvent(RunFinished{&report});
  last.finish();
  REQUIRE(last.failure());
  CHECK(last.failure()->message.find(lastPath + "-wal: fdatasync failed") == 0);
}
