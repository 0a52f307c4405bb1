// The run journal's store: schema, versioning, and what a failed write does (the CLI test in
// tests/integration/cli_test.cpp runs real workflows into it).
#include <doctest/doctest.h>

#include "journal/journal_reader.h"
#include "journal/run_journal.h"
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
    REQUIRE_FALSE(made.value()->run("UPDATE meta SET value = '2' WHERE key = 'schema'", {}));
  }
  auto refused = openJournal(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message == path + ": journal schema 2, but this cordon reads schema 1");
  auto notOurs = openJournal(dir.write("other.sqlite", ""), /*readOnly=*/true);
  CHECK_FALSE(notOurs.ok());
}

TEST_CASE("a run's events become rows; a write that fails stops journaling, not the run") {
  test::TempDir dir;
  auto db = openJournal(dir.path("journal.sqlite"));
  REQUIRE(db.ok());
  RunJournal journal(*db.value());
  journal.onEvent(RunStarted{"00112233aabbccdd", dir.write("w.yaml", "name: w\n"), "w",
                             dir.write("p.yaml", "version: 1\n"), 1, 1});
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

  // The same run id again: the insert fails, the first error is kept, nothing throws.
  journal.onEvent(RunStarted{"00112233aabbccdd", "w.yaml", "w", "p.yaml", 1, 1});
  REQUIRE(journal.failure());
  CHECK(journal.failure()->message.find("journal.sqlite") != std::string::npos);
  journal.onEvent(StepStarted{"b", "mix"});  // ignored once failed
  auto again = journalRun(*db.value(), "00112233aabbccdd");
  REQUIRE(again.ok());
  CHECK(again.value()["steps"].size() == 1);
}
