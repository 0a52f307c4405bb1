// Durable runs: the supervisor is SIGKILLed at many points (after each kind of journal write,
// inside steps, while an output is being written into the store), `cordon resume` finishes the
// run, and its outputs equal an uninterrupted run's. The plugin's own side effect (a line in a
// ledger file it appends to, through a read_write grant) proves that no step the journal shows
// ended ran again, and that each step cut short ran again once. Plus the refusals: a changed
// policy or input, a run that ended, a run whose supervisor is still alive.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "journal/journal_reader.h"
#include "journal/run_journal.h"
#include "test_support.h"

using namespace cordon;

namespace {

// A run with a fan-out, a join, a large output (a memfd, written into the store in chunks) and
// a retry policy on every step, so a step cut short runs again.
struct DurableRun {
  test::TempDir dir;
  std::string ledger = dir.path("marks/ledger");
  std::string state = dir.path("state");
  std::string audit = dir.path("audit.jsonl");
  std::string outputs = dir.path("out");
  std::string policy;
  std::string workflow;

  DurableRun() {
    std::filesystem::create_directories(dir.path("marks"));
    policy = dir.write("policy.yaml", R"(version: 1
plugins:
  mix:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 4194304 }
    filesystem: { read_write: [)" + dir.path("marks") +
                                          R"(] }
    limits: { memory_mb: 128, cpu_seconds: 60, file_size_mb: 1 }
    timeout_ms: 20000
  blob:
    calls: [describe, init, execute, shutdown]
    host:
      map_input: { max_bytes: 4194304 }
    limits: { memory_mb: 256, cpu_seconds: 60 }
    timeout_ms: 20000
    max_output_bytes: 4194304
)");
    const std::string retry = "retry: { attempts: 3, backoff_ms: 10 }";
    auto mix = [&](const std::string& name, const std::string& inputs,
                   const std::string& extra = "") {
      return "  - { name: " + name + ", plugin: mix, config: { label: " + name +
             ", ledger: " + ledger + extra + " }, inputs: { " + inputs + " }, " + retry + " }\n";
    };
    workflow =
        dir.write("flow.yaml",
                  "name: durable\ninputs:\n  text: { file: text.txt }\nsteps:\n" +
                      mix("top", "a: inputs.text") +
                      mix("left", "a: top.out", ", spin_ms: \"100\"") + mix("right", "a: top.out") +
                      "  - { name: big, plugin: blob, config: { mode: produce, bytes: "
                      "\"3145728\" }, " +
                      retry + " }\n" +
                      "  - { name: check, plugin: blob, config: { mode: consume }, "
                      "inputs: { in: big.out }, " +
                      retry + " }\n" + mix("bottom", "l: left.out, r: right.out, c: check.check") +
                      "outputs:\n  result: bottom.out\n  large: big.out\n");
    dir.write("text.txt", "durable text");
  }

  std::string runArgs() const {
    return "run " + workflow + " --policy " + policy + " --audit-log " + audit + " --state-dir " +
           state + " --output-dir " + outputs + " --jobs 2";
  }
};

// The journal's steps of the only run in `state`, by name, and the run's id and state.
struct JournalView {
  std::string id;
  std::string state;
  std::map<std::string, std::string> steps;
  nlohmann::json attempts;
};

JournalView journalOf(const std::string& state) {
  JournalView view;
  auto db = openJournal(state + "/journal.sqlite", true);
  REQUIRE(db.ok());
  auto runs = journalRuns(*db.value(), 10);
  REQUIRE(runs.ok());
  REQUIRE(runs.value().size() == 1);
  view.id = runs.value()[0]["id"];
  auto shown = journalRun(*db.value(), view.id);
  REQUIRE(shown.ok());
  view.state = shown.value()["run"]["state"];
  for (const auto& step : shown.value()["steps"]) view.steps[step["name"]] = step["state"];
  view.attempts = shown.value()["attempts"];
  return view;
}

// Waits (up to `timeout`) until the journal in `state` shows `step` running: group commit puts
// it there at the next quiet point, within 10 ms of the step's start (docs/state.md).
bool journalShowsRunning(const std::string& state, const std::string& step,
                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto db = openJournal(state + "/journal.sqlite", true);
    if (db.ok()) {
      auto runs = journalRuns(*db.value(), 10);
      if (runs.ok() && !runs.value().empty()) {
        auto shown = journalRun(*db.value(), runs.value()[0]["id"]);
        if (shown.ok()) {
          for (const auto& row : shown.value()["steps"])
            if (row["name"] == step && row["state"] == "running") return true;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool ended(const std::string& state) {
  return state == "succeeded" || state == "failed" || state == "continued" || state == "skipped";
}

}  // namespace

TEST_CASE("SIGKILL at any point, then cordon resume: the same outputs, no ended step runs twice") {
  DurableRun reference;
  test::Command clean = test::runCordon(reference.runArgs());
  INFO(clean.output);
  REQUIRE(clean.exitCode == 0);
  const std::string expectedResult = test::readFile(reference.outputs + "/result");
  const std::string expectedLarge = test::readFile(reference.outputs + "/large");
  REQUIRE(expectedLarge.size() == 3145728);
  for (const auto& [label, count] : test::ledgerCounts(reference.ledger)) CHECK(count == 1);

  const char* points[] = {
      "journal.run_started:1",   "journal.input:1",         "journal.worker_started:1",
      "journal.step_started:1",  "journal.step_started:3",  "journal.artifact:1",
      "journal.artifact:2",      "journal.step_finished:1", "journal.step_finished:3",
      "journal.step_finished:5", "journal.step_retrying:1", "artifact.write:2",
      "artifact.stored:1",       "journal.artifact:4",
  };
  size_t crashed = 0;
  for (const char* point : points) {
    const std::string pointName = point;
    CAPTURE(pointName);
    DurableRun run;
    test::Command killed = test::runShell("CORDON_TEST_KILL_AT=" + std::string(point) + " " +
                                          test::cordonCommandLine(run.runArgs()));
    INFO(killed.output);
    if (std::string(point) == "journal.step_retrying:1") {
      // Nothing retries in an uninterrupted run: the point is never reached.
      CHECK(killed.exitCode == 0);
      continue;
    }
    REQUIRE(killed.exitCode == 128 + SIGKILL);
    ++crashed;
    const JournalView before = journalOf(run.state);
    CHECK(before.state == "running");
    const auto ledgerBefore = test::ledgerCounts(run.ledger);

    test::Command resumed = test::runCordon("resume " + before.id + " --state-dir " + run.state);
    INFO(resumed.output);
    REQUIRE(resumed.exitCode == 0);
    CHECK(test::readFile(run.outputs + "/result") == expectedResult);
    CHECK(test::readFile(run.outputs + "/large") == expectedLarge);

    const JournalView after = journalOf(run.state);
    CHECK(after.state == "succeeded");
    const auto ledgerAfter = test::ledgerCounts(run.ledger);
    for (const char* step : {"top", "left", "right", "bottom"}) {
      CAPTURE(step);
      auto was = before.steps.find(step);
      const int then = ledgerBefore.count(step) ? ledgerBefore.at(step) : 0;
      const int now = ledgerAfter.count(step) ? ledgerAfter.at(step) : 0;
      if (was != before.steps.end() && ended(was->second)) {
        CHECK(now == then);  // ended before the kill: not run again
      } else {
        CHECK(now == then + 1);  // cut short or not started: run once more
      }
    }
    for (const auto& [step, state] : after.steps) CHECK(state == "succeeded");
    // A step cut short counts its interrupted attempt as a failed one (a crash), then retries.
    for (const auto& entry : before.steps) {
      if (ended(entry.second)) continue;
      const std::string& step = entry.first;
      bool crashedAttempt = false;
      for (const auto& attempt : after.attempts)
        if (attempt["step"] == step && attempt["error_category"] == "crash") crashedAttempt = true;
      CHECK_MESSAGE(crashedAttempt, step);
    }
    // One audit log, one chain, one run id across the kill; the resume is recorded.
    test::Command verify = test::runCordon("audit verify " + run.audit);
    INFO(verify.output);
    CHECK(verify.exitCode == 0);
    auto records = test::readAudit(run.audit);
    CHECK(test::withEvent(records, "run.resume").size() == 1);
    for (const auto& record : records)
      if (record["event"] != "audit.segment") CHECK(record["run"] == before.id);
  }
  CHECK(crashed == std::size(points) - 1);
}

TEST_CASE("cordon resume refuses a changed policy or input, an ended run and a live one") {
  DurableRun run;
  test::Command killed = test::runShell("CORDON_TEST_KILL_AT=journal.step_finished:2 " +
                                        test::cordonCommandLine(run.runArgs()));
  REQUIRE(killed.exitCode == 128 + SIGKILL);
  const std::string id = journalOf(run.state).id;
  const std::string policyText = test::readFile(run.policy);

  run.dir.write("policy.yaml", policyText + "# edited\n");
  run.dir.write("text.txt", "other text");
  test::Command refused = test::runCordon("resume " + id + " --state-dir " + run.state);
  INFO(refused.output);
  CHECK(refused.exitCode == 2);
  CHECK(refused.output.find("policy " + run.policy + " changed") != std::string::npos);
  CHECK(refused.output.find("input text changed") != std::string::npos);
  CHECK(refused.output.find("2 differences") != std::string::npos);
  auto refusals = test::withEvent(test::readAudit(run.audit), "run.resume_refused");
  REQUIRE(refusals.size() == 1);
  CHECK(refusals[0]["differences"].size() == 2);
  CHECK(journalOf(run.state).state == "running");  // nothing ran

  run.dir.write("policy.yaml", policyText);
  run.dir.write("text.txt", "durable text");
  test::Command resumed =
      test::runCordon("resume " + id.substr(0, 6) + " --state-dir " + run.state);
  INFO(resumed.output);
  CHECK(resumed.exitCode == 0);
  test::Command again = test::runCordon("resume " + id + " --state-dir " + run.state);
  CHECK(again.exitCode == 2);
  CHECK(again.output.find("already ended (succeeded)") != std::string::npos);

  // A run whose supervisor is alive holds its lock: resume refuses it.
  DurableRun live;
  live.dir.write("flow.yaml",
                 "name: slow\nsteps:\n  - { name: slow, plugin: mix, config: { "
                 "spin_ms: \"4000\" } }\n");
  const pid_t pid = test::startCordon(live.runArgs(), live.dir.path("live.log"));
  REQUIRE(test::waitForRunningStep(live.audit, std::chrono::seconds(20)) != nullptr);
  REQUIRE(journalShowsRunning(live.state, "slow", std::chrono::seconds(5)));
  test::Command busy =
      test::runCordon("resume " + journalOf(live.state).id + " --state-dir " + live.state);
  INFO(busy.output);
  CHECK(busy.exitCode == 2);
  CHECK(busy.output.find("is still going") != std::string::npos);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

TEST_CASE(
    "a SIGKILL while a step runs finds it running in the journal: group commit has committed") {
  DurableRun run;
  run.workflow = run.dir.write(
      "slow.yaml",
      "name: slow\ninputs:\n  text: { file: text.txt }\nsteps:\n"
      "  - { name: slow, plugin: mix, config: { label: slow, spin_ms: \"4000\", ledger: " +
          run.ledger +
          " }, inputs: { a: inputs.text }, retry: { attempts: 2, backoff_ms: 10 } }\n"
          "outputs:\n  result: slow.out\n");
  const pid_t pid = test::startCordon(run.runArgs(), run.dir.path("slow.log"));
  REQUIRE(test::waitForRunningStep(run.audit, std::chrono::seconds(20)) != nullptr);
  // The step's start reaches the journal at the next quiet point (10 ms at most, docs/state.md),
  // not at the run's end: the step spins for 4 s, and the journal says so well before.
  CHECK(journalShowsRunning(run.state, "slow", std::chrono::seconds(2)));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Whether the plugin marked its ledger before the kill depends on how far the worker got.
  const auto ledgerBefore = test::ledgerCounts(run.ledger);
  const int marksBefore = ledgerBefore.count("slow") != 0 ? ledgerBefore.at("slow") : 0;
  const JournalView killed = journalOf(run.state);
  CHECK(killed.steps.at("slow") == "running");
  test::Command resumed = test::runCordon("resume " + killed.id + " --state-dir " + run.state);
  INFO(resumed.output);
  CHECK(resumed.exitCode == 0);
  CHECK(journalOf(run.state).steps.at("slow") == "succeeded");
  CHECK(test::ledgerCounts(run.ledger).at("slow") == marksBefore + 1);  // run once more
}
