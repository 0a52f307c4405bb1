// Cached results (`cache: true`): a step keyed on its plugin's digest, its policy section, its
// config and its inputs' digests takes an earlier successful step's outputs instead of running.
// The real supervisor runs real workers; the plugin's own ledger file (a line per execute)
// proves what ran and what did not, and the audit log says which run each result came from.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "journal/run_journal.h"
#include "journal/stored_outputs.h"
#include "test_support.h"

using namespace cordon;

namespace {

std::string policyText(const std::string& marks, const std::string& mixTimeout, bool blobSection) {
  std::string text = R"(version: 1
plugins:
  mix:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 1048576 }
    filesystem: { read_write: [)" +
                     marks + R"(] }
    limits: { memory_mb: 128, cpu_seconds: 60, file_size_mb: 1 }
    timeout_ms: )" + mixTimeout +
                     "\n";
  if (blobSection) {
    text += R"(  blob:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 128, cpu_seconds: 60 }
)";
  }
  return text;
}

// Workflow-wide `cache: true`; `last` opts out. `fan` caches a for_each step.
std::string workflowText(const std::string& ledger, const std::string& extraConfigOfTop) {
  auto mix = [&ledger](const std::string& name, const std::string& rest,
                       const std::string& config = "") {
    return "  - { name: " + name + ", plugin: mix, config: { label: " + name +
           ", ledger: " + ledger + config + " }" + rest + " }\n";
  };
  return "name: cached\ncache: true\ninputs:\n  text: { file: text.txt }\nsteps:\n" +
         mix("top", ", inputs: { a: inputs.text }", extraConfigOfTop) +
         mix("middle", ", inputs: { a: top.out }") +
         mix("fan", ", inputs: { a: middle.out }, for_each: { items: [x, y] }") +
         mix("last", ", inputs: { a: middle.out, f: fan.out }, cache: false") +
         "outputs:\n  result: last.out\n";
}

struct CachedRuns {
  test::TempDir dir;
  std::string marks = dir.path("marks");
  std::string ledger = dir.path("marks/ledger");
  std::string state = dir.path("state");
  std::string audit = dir.path("audit.jsonl");
  std::string policy;
  std::string workflow;

  CachedRuns() {
    std::filesystem::create_directories(marks);
    setPolicy("20000", false);
    setWorkflow("");
    dir.write("text.txt", "first text");
  }
  void setPolicy(const std::string& timeout, bool blob) {
    policy = dir.write("policy.yaml", policyText(marks, timeout, blob));
  }
  void setWorkflow(const std::string& extra) {
    workflow = dir.write("flow.yaml", workflowText(ledger, extra));
  }

  // Runs the workflow; what each step's plugin executed (ledger lines added) and the run's id.
  struct Result {
    std::map<std::string, int> executed;
    std::string runId;
    std::string output;
    std::map<std::string, nlohmann::json> cached;  // step -> its step.cached record
  };
  Result run() {
    const auto before = test::ledgerCounts(ledger);
    const size_t recordsBefore = test::readAudit(audit).size();
    test::Command ran =
        test::runCordon("run " + workflow + " --policy " + policy + " --audit-log " + audit +
                        " --state-dir " + state + " --output-dir " + dir.path("out") + " --jobs 2");
    INFO(ran.output);
    REQUIRE(ran.exitCode == 0);
    Result result;
    for (const auto& [label, count] : test::ledgerCounts(ledger)) {
      const int then = before.count(label) != 0 ? before.at(label) : 0;
      if (count != then) result.executed[label] = count - then;
    }
    auto records = test::readAudit(audit);
    for (size_t i = recordsBefore; i < records.size(); ++i) {
      if (records[i]["event"] == "run.start") result.runId = records[i]["run"].get<std::string>();
      if (records[i]["event"] == "step.cached")
        result.cached[records[i]["step"].get<std::string>()] = records[i];
    }
    result.output = test::readFile(dir.path("out/result"));
    return result;
  }
};

}  // namespace

TEST_CASE(
    "cache: true reuses an earlier result only while plugin, policy, config and inputs match") {
  CachedRuns runs;
  const auto first = runs.run();
  // The fan-out's two items and every other step ran once; nothing was cached.
  CHECK(first.executed ==
        std::map<std::string, int>{{"top", 1}, {"middle", 1}, {"fan", 2}, {"last", 1}});
  CHECK(first.cached.empty());
  REQUIRE(!first.runId.empty());

  // The same run again: every cached step takes the first run's outputs; `last` opted out.
  const auto second = runs.run();
  CHECK(second.executed == std::map<std::string, int>{{"last", 1}});
  CHECK(second.output == first.output);
  REQUIRE(second.cached.size() == 3);
  for (const char* step : {"top", "middle", "fan"}) {
    CAPTURE(step);
    REQUIRE(second.cached.count(step) == 1);
    CHECK(second.cached.at(step)["from_run"] == first.runId);
    CHECK(second.cached.at(step)["from_step"] == step);
    CHECK(second.cached.at(step)["key"].get<std::string>().rfind("sha256:", 0) == 0);
  }
  // The journal says where each came from, and the audit log still verifies.
  test::Command show =
      test::runCordon("runs show " + second.runId + " --json --state-dir " + runs.state);
  INFO(show.output);
  REQUIRE(show.exitCode == 0);
  std::map<std::string, std::string> from;
  const nlohmann::json shown = nlohmann::json::parse(show.output);
  for (const auto& step : shown["steps"])
    if (step.contains("cached_from"))
      from[step["name"].get<std::string>()] = step["cached_from"].get<std::string>();
  CHECK(from == std::map<std::string, std::string>{{"top", first.runId + "/top"},
                                                   {"middle", first.runId + "/middle"},
                                                   {"fan", first.runId + "/fan"}});
  CHECK(test::runCordon("audit verify " + runs.audit).exitCode == 0);

  // Another input: every step downstream of it runs.
  runs.dir.write("text.txt", "second text");
  const auto third = runs.run();
  CHECK(third.executed ==
        std::map<std::string, int>{{"top", 1}, {"middle", 1}, {"fan", 2}, {"last", 1}});
  CHECK(third.output != first.output);

  // A section for another plugin changes the policy file, not mix's section: still cached.
  runs.setPolicy("20000", true);
  const auto fourth = runs.run();
  CHECK(fourth.executed == std::map<std::string, int>{{"last", 1}});
  CHECK(fourth.cached.at("top")["from_run"] == third.runId);

  // mix's own section changed: nothing of it is reused.
  runs.setPolicy("19000", true);
  const auto fifth = runs.run();
  CHECK(fifth.executed ==
        std::map<std::string, int>{{"top", 1}, {"middle", 1}, {"fan", 2}, {"last", 1}});
  CHECK(fifth.cached.empty());

  // top's config changed: top runs; its output is the same bytes, so middle's inputs match and
  // middle (and what follows it) is cached.
  runs.setWorkflow(", note: changed");
  const auto sixth = runs.run();
  CHECK(sixth.executed == std::map<std::string, int>{{"top", 1}, {"last", 1}});
  CHECK(sixth.cached.count("top") == 0);
  CHECK(sixth.cached.at("middle")["from_run"] == fifth.runId);
  CHECK(sixth.output == fifth.output);
}

TEST_CASE("cache: a result whose stored output changed is not reused; the step runs again") {
  CachedRuns runs;
  const auto first = runs.run();
  test::Command show =
      test::runCordon("runs show " + first.runId + " --json --state-dir " + runs.state);
  INFO(show.output);
  REQUIRE(show.exitCode == 0);
  std::string topDigest;
  const nlohmann::json shown = nlohmann::json::parse(show.output);
  for (const auto& artifact : shown["artifacts"])
    if (artifact["step"] == "top") topDigest = artifact["digest"].get<std::string>();
  REQUIRE(topDigest.rfind("sha256:", 0) == 0);
  // top's output is small: the journal keeps it inline, not the store as a file.
  CHECK_FALSE(std::filesystem::exists(runs.state + "/artifacts/sha256/" + topDigest.substr(7)));
  auto storedBytes = [&runs, &topDigest] {
    auto db = openJournal(runs.state + "/journal.sqlite", /*readOnly=*/true);
    REQUIRE(db.ok());
    auto bytes = inlineOutput(*db.value(), topDigest);
    REQUIRE(bytes.has_value());
    return *bytes;
  };
  const std::string bytes = storedBytes();
  REQUIRE(!bytes.empty());
  {
    auto db = openJournal(runs.state + "/journal.sqlite");
    REQUIRE(db.ok());
    const std::string other(bytes.size(), 'X');  // the same size, other bytes
    REQUIRE_FALSE(db.value()->run("UPDATE blobs SET bytes = ?2 WHERE digest = ?1",
                                  {topDigest, SqlBlob{other}}));
  }
  const auto second = runs.run();
  // top ran again; what follows it read the same bytes as before, so it is cached.
  CHECK(second.executed.count("top") == 1);
  CHECK(second.cached.count("top") == 0);
  CHECK(second.cached.count("middle") == 1);
  CHECK(second.output == first.output);
  bool rejected = false;
  for (const auto& record : test::withEvent(test::readAudit(runs.audit), "step.cache_rejected")) {
    CHECK(record["step"] == "top");
    CHECK(record["rejected"][0].get<std::string>().find("does not hash to its name") !=
          std::string::npos);
    rejected = true;
  }
  CHECK(rejected);
  // Running it again put the right bytes back in the journal: the next run takes them.
  CHECK(storedBytes() == bytes);
  const auto third = runs.run();
  CHECK(third.cached.count("top") == 1);
}

TEST_CASE("cache: a run that cannot be journaled caches nothing, runs every step, and says so") {
  CachedRuns runs;
  runs.run();
  // The journal cannot be opened (a directory where its file should be): the run goes on.
  std::filesystem::rename(runs.state + "/journal.sqlite", runs.state + "/journal.old");
  std::filesystem::create_directories(runs.state + "/journal.sqlite");
  const auto before = test::ledgerCounts(runs.ledger);
  test::Command ran = test::runCordon("run " + runs.workflow + " --policy " + runs.policy +
                                      " --audit-log " + runs.audit + " --state-dir " + runs.state);
  INFO(ran.output);
  CHECK(ran.exitCode == 0);
  CHECK(ran.output.find("this run is not journaled") != std::string::npos);
  CHECK(ran.output.find("no step is cached: cached results come from the journal") !=
        std::string::npos);
  const auto after = test::ledgerCounts(runs.ledger);
  CHECK(after.at("top") == before.at("top") + 1);
  CHECK(after.at("middle") == before.at("middle") + 1);
  CHECK(test::withEvent(test::readAudit(runs.audit), "step.cached").empty());
}

TEST_CASE("cache: must be true or false, at the top and on a step, named by line") {
  test::TempDir dir;
  const std::string top =
      dir.write("top.yaml", "name: w\ncache: yes\nsteps:\n  - { name: a, plugin: mix }\n");
  test::Command topRefused = test::runCordon("validate " + top);
  CHECK(topRefused.exitCode == 2);
  CHECK(topRefused.output.find(top + ":2:") != std::string::npos);
  CHECK(topRefused.output.find("'cache'") != std::string::npos);
  const std::string step =
      dir.write("step.yaml", "name: w\nsteps:\n  - { name: a, plugin: mix, cache: 1 }\n");
  test::Command stepRefused = test::runCordon("validate " + step);
  CHECK(stepRefused.exitCode == 2);
  CHECK(stepRefused.output.find("steps[0].cache") != std::string::npos);
  CHECK(stepRefused.output.find("must be true or false") != std::string::npos);
}
