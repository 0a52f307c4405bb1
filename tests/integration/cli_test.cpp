// The cordon command as a user meets it: --help, exit codes 0/1/2, errors that name the file,
// line and field, --json, and `audit verify`.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <set>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "cli/receipt_command.h"
#include "cli/run_lock.h"
#include "journal/run_journal.h"
#include "test_support.h"
#include "trust/base64.h"
#include "trust/minisign.h"
#include "trust/plugin_verifier.h"

using namespace cordon;

namespace {

using test::Command;
using test::runCordon;
using test::runShell;

// The one plugin the journal, gc and receipt tests run: it reads its inputs, nothing more.
constexpr char kMixPolicy[] = R"(version: 1
plugins:
  mix:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 1048576 }
    limits: { memory_mb: 128, cpu_seconds: 60 }
    timeout_ms: 20000
)";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("every command has --help") {
  for (const char* command : {"", "run", "validate", "audit", "audit verify", "audit recover",
                              "audit rotate", "audit query", "audit summary", "policy",
                              "policy learn", "policy lint", "policy import-oci", "plugins",
                              "plugins list", "plugins inspect", "plugins audit", "graph"}) {
    Command help = runCordon(std::string(command) + " --help");
    INFO("cordon " << command << " --help");
    CHECK(help.exitCode == 0);
    CHECK(contains(help.output, "Usage"));
  }
}

TEST_CASE("run: 0 on success, with outputs and a verifiable audit log") {
  test::TempDir dir;
  Command run =
      runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") + " --policy " +
                test::sourcePath("policies/default.yaml") + " --audit-log " +
                dir.path("audit.jsonl") + " --output-dir " + dir.path("out"));
  INFO(run.output);
  CHECK(run.exitCode == 0);
  CHECK(contains(run.output,
                 "sha256: 3b9efae7055ea7368b03d297be72cfcafcc954c47984c5ccadcd75ebc59deea7"));
  CHECK(contains(run.output, "[3/3] digest ok"));

  Command verify = runCordon("audit verify " + dir.path("audit.jsonl"));
  CHECK(verify.exitCode == 0);
  CHECK(contains(verify.output, "chain intact"));

  // Every record is the run's, the signature checks made before run.start included.
  auto records = test::readAudit(dir.path("audit.jsonl"));
  auto start = test::withEvent(records, "run.start");
  REQUIRE(start.size() == 1);
  const std::string runId = start[0]["run"];
  CHECK(runId.size() == 16);
  CHECK(contains(run.output, "run " + runId));
  CHECK(test::withEvent(records, "plugin.verify").size() == 3);
  for (const auto& record : records) {
    const std::string event = record["event"];
    if (event.rfind("audit.", 0) == 0) continue;
    INFO(record);
    CHECK(record["run"] == runId);
  }
}

TEST_CASE("run: the audit log goes to the state directory unless --audit-log says otherwise") {
  test::TempDir dir;
  const std::string state = dir.path("state/nested");  // made, 0700, by the run
  Command run =
      runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") + " --policy " +
                test::sourcePath("policies/default.yaml") + " --state-dir " + state);
  INFO(run.output);
  CHECK(run.exitCode == 0);
  CHECK(contains(run.output, "audit log " + state + "/audit.jsonl"));
  CHECK(runCordon("audit verify " + state + "/audit.jsonl").exitCode == 0);
  CHECK((std::filesystem::status(state).permissions() & std::filesystem::perms::all) ==
        std::filesystem::perms::owner_all);
  // A host without cgroup v2 says so in one line that points to the docs.
  if (contains(run.output, "cordon: note:")) {
    CHECK(contains(run.output,
                   "cordon: note: rlimits only, no delegated cgroup v2 tree (see "
                   "docs/architecture.md, \"Which limits hold on which host\")\n"));
  }
  // --audit-log wins over the state directory.
  Command byFlag = runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                             " --policy " + test::sourcePath("policies/default.yaml") +
                             " --state-dir " + state + " --audit-log " + dir.path("flag.jsonl"));
  CHECK(byFlag.exitCode == 0);
  CHECK(std::filesystem::exists(dir.path("flag.jsonl")));
  // A state directory that cannot be made is named, and nothing runs.
  dir.write("file", "x");
  Command unmade = runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                             " --policy " + test::sourcePath("policies/default.yaml") +
                             " --state-dir " + dir.path("file/state"));
  CHECK(unmade.exitCode == 2);
  CHECK(contains(unmade.output, dir.path("file/state") + ": cannot make the state directory"));
}

TEST_CASE("graph: the workflow's steps and edges as dot or mermaid; 2 for a broken workflow") {
  test::TempDir dir;
  const std::string err = dir.path("stderr");
  const std::string workflow = test::sourcePath("examples/text-pipeline/workflow.yaml");
  Command dot = test::runCordonStdout("graph " + workflow, err);
  CHECK(dot.exitCode == 0);
  CHECK(contains(dot.output, "digraph workflow {"));
  CHECK(contains(dot.output, "\"shout\" -> \"count\";"));
  CHECK(contains(dot.output, "\"shout\" -> \"digest\";"));
  CHECK(contains(dot.output, "label=\"count (word-count)\""));
  Command mermaid = test::runCordonStdout("graph " + workflow + " --format mermaid", err);
  CHECK(mermaid.exitCode == 0);
  CHECK(contains(mermaid.output, "flowchart LR"));
  CHECK(contains(mermaid.output, "  shout --> digest"));
  // A workflow name is free text: it cannot break out of the title.
  std::string hostile = dir.write(
      "flow.yaml", "name: \"x\\\" ]; evil \\u001b[2J\"\n" +
                       test::oneStepWorkflow("text-transform")
                           .substr(test::oneStepWorkflow("text-transform").find('\n') + 1));
  Command named = test::runCordonStdout("graph " + hostile, err);
  CHECK(named.exitCode == 0);
  CHECK(contains(named.output, "label=\"x_ __ evil __2J\";"));
  std::string broken = dir.write(
      "broken.yaml", "name: b\nsteps:\n  - { name: a, plugin: p, inputs: { x: nowhere.y } }\n");
  Command refused = runCordon("graph " + broken);
  CHECK(refused.exitCode == 2);
  CHECK(contains(refused.output, "broken.yaml"));
  CHECK(runCordon("graph " + workflow + " --format png").exitCode == 2);
}

TEST_CASE("run --jobs/--fail-fast/--no-prestart, and --json gives each step's times and worker") {
  test::TempDir dir;
  Command run = test::runCordonStdout(
      "run " + test::sourcePath("examples/text-pipeline/workflow.yaml") + " --policy " +
          test::sourcePath("policies/default.yaml") + " --audit-log " + dir.path("audit.jsonl") +
          " --jobs 3 --fail-fast --no-prestart --json",
      dir.path("stderr"));
  INFO(run.output);
  REQUIRE(run.exitCode == 0);
  auto report = nlohmann::json::parse(run.output);
  REQUIRE(report["steps"].size() == 3);
  for (const auto& step : report["steps"]) {
    CHECK(step["state"] == "succeeded");
    CHECK(step["worker_pid"].get<int>() > 0);
    CHECK(step["ended_ms"].get<double>() >= step["started_ms"].get<double>());
  }
  CHECK(report["steps"][1]["started_ms"].get<double>() >=
        report["steps"][0]["ended_ms"].get<double>());  // count reads shout
  CHECK(test::withEvent(test::readAudit(dir.path("audit.jsonl")), "run.start").at(0)["jobs"] == 3);
  CHECK(runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") + " --policy " +
                  test::sourcePath("policies/default.yaml") + " --jobs 0")
            .exitCode == 2);
}

TEST_CASE("run: 1 when the workflow fails, with the category and the step") {
  test::TempDir dir;
  std::string workflow = dir.write("attack.yaml", test::oneStepWorkflow("segfault", "result"));
  Command run = runCordon("run " + workflow + " --policy " +
                          test::sourcePath("tests/security/hostile-policy.yaml") + " --audit-log " +
                          dir.path("audit.jsonl") + " --json");
  INFO(run.output);
  CHECK(run.exitCode == 1);
  CHECK(contains(run.output, "\"category\": \"crash\""));
  CHECK(contains(run.output, "\"step\": \"attack\""));
}

TEST_CASE("run and validate: 2 for a workflow that does not validate, naming file:line:field") {
  test::TempDir dir;
  std::string workflow =
      dir.write("broken.yaml", "name: broken\nsteps:\n  - name: a\n    plugin: 7up!\n");
  for (const char* command : {"run", "validate"}) {
    std::string audit =
        std::string(command) == "run" ? " --audit-log " + dir.path("audit.jsonl") : "";
    Command result = runCordon(std::string(command) + " " + workflow + " --policy " +
                               test::sourcePath("policies/default.yaml") + audit);
    INFO(result.output);
    CHECK(result.exitCode == 2);
    CHECK(contains(result.output, workflow + ":4"));
    CHECK(contains(result.output, "steps[0].plugin"));
  }
  // The rejected run is audited.
  auto records = test::readAudit(dir.path("audit.jsonl"));
  CHECK(test::withEvent(records, "input.rejected").size() == 1);
}

TEST_CASE("validate: 2 for a policy that does not validate") {
  test::TempDir dir;
  std::string policy = dir.write(
      "policy.yaml",
      "version: 1\nplugins:\n  text-transform:\n    calls: [execute]\n    syscalls: [ptrace]\n");
  Command result =
      runCordon("validate " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                " --policy " + policy);
  INFO(result.output);
  CHECK(result.exitCode == 2);
  CHECK(contains(result.output, policy + ":5"));
  CHECK(contains(result.output, "plugins.text-transform.syscalls[0]"));
}

TEST_CASE("validate: 0 for the example, 2 for a plugin that does not exist") {
  Command good = runCordon("validate " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                           " --policy " + test::sourcePath("policies/default.yaml"));
  CHECK(good.exitCode == 0);
  test::TempDir dir;
  std::string workflow = dir.write("ghost.yaml", test::oneStepWorkflow("no-such-plugin"));
  Command ghost =
      runCordon("validate " + workflow + " --policy " + test::sourcePath("policies/default.yaml"));
  CHECK(ghost.exitCode == 2);
  CHECK(contains(ghost.output, "no-such-plugin"));
}

TEST_CASE("validate without a policy checks the workflow alone, and says no policy was checked") {
  Command alone = runCordon("validate " + test::sourcePath("examples/text-pipeline/workflow.yaml"));
  INFO(alone.output);
  CHECK(alone.exitCode == 0);
  CHECK(contains(alone.output, "is valid; no policy was checked"));
  test::TempDir dir;
  std::string ghost = dir.write("ghost.yaml", test::oneStepWorkflow("no-such-plugin"));
  Command missing = runCordon("validate " + ghost);
  CHECK(missing.exitCode == 2);
  CHECK(contains(missing.output, "ghost.yaml:"));
  CHECK(contains(missing.output, "no-such-plugin"));
  std::string broken = dir.write("broken.yaml",
                                 "name: b\nsteps:\n  - name: a\n    plugin: mix\n"
                                 "    needs: [nowhere]\n");
  Command invalid = runCordon("validate " + broken);
  CHECK(invalid.exitCode == 2);
  CHECK(contains(invalid.output, "broken.yaml:5:"));
  // run still needs one: nothing runs without a policy.
  Command run = runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml"));
  CHECK(run.exitCode == 2);
  CHECK(contains(run.output, "--policy"));
}

TEST_CASE("usage errors exit 2, prefixed, naming an unknown command") {
  CHECK(runCordon("").exitCode == 2);
  Command missing = runCordon("run");
  CHECK(missing.exitCode == 2);
  CHECK(missing.output.rfind("cordon: error: ", 0) == 0);
  Command unknown = runCordon("frobnicate");
  CHECK(unknown.exitCode == 2);
  CHECK(contains(unknown.output, "cordon: error: unknown command 'frobnicate'"));
  Command nested = runCordon("audit frob");
  CHECK(nested.exitCode == 2);
  CHECK(contains(nested.output, "cordon: error: unknown command 'audit frob'"));
  Command badOption = runCordon("validate --no-such-flag x.yaml");
  CHECK(badOption.exitCode == 2);
  CHECK(badOption.output.rfind("cordon: error: ", 0) == 0);
  Command sign = runShell(test::signBinary() + " --version");
  CHECK(sign.exitCode == 0);
  CHECK(contains(sign.output, "cordon-sign 0.1.0"));
  Command signBad = runShell(test::signBinary() + " frobnicate");
  CHECK(signBad.exitCode == 2);
  CHECK(signBad.output.rfind("cordon-sign: error: ", 0) == 0);
}

TEST_CASE("a YAML file with a repeated key or a second document is refused, naming the lines") {
  test::TempDir dir;
  std::string policy =
      dir.write("dup.yaml",
                "version: 1\nplugins:\n  word-count:\n    calls: [describe, init, execute, "
                "shutdown]\n    timeout_ms: 100\n    timeout_ms: 900000\n");
  Command dup = runCordon("policy lint " + policy);
  INFO(dup.output);
  CHECK(dup.exitCode == 2);
  CHECK(contains(dup.output,
                 "dup.yaml:6:5: field 'plugins.word-count.timeout_ms': duplicate key "
                 "(first at line 5)"));
  std::string twoDocs = dir.write("two.yaml", "version: 1\n---\nversion: 1\n");
  Command docs = runCordon("policy lint " + twoDocs);
  CHECK(docs.exitCode == 2);
  CHECK(contains(docs.output, "a second YAML document"));
  std::string workflow =
      dir.write("flow.yaml", "name: x\nname: y\nsteps:\n  - { name: a, plugin: word-count }\n");
  Command flow =
      runCordon("validate " + workflow + " --policy " + test::sourcePath("policies/default.yaml"));
  CHECK(flow.exitCode == 2);
  CHECK(contains(flow.output, "flow.yaml:2:1: field 'name': duplicate key (first at line 1)"));
}

TEST_CASE(
    "import-oci --name is held to the profile name rules; lint flags a section no plugin has") {
  test::TempDir dir;
  std::string profile = dir.write("p.json", "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}");
  Command injected = runCordon("policy import-oci " + profile + " --name 'x:\n  evil: 1'");
  CHECK(injected.exitCode == 2);
  CHECK(contains(injected.output, "cordon: error: bad_input: --name"));
  std::string policy = dir.write("p.yaml",
                                 "version: 1\nplugins:\n  Word_Count:\n    calls: "
                                 "[describe]\n");
  Command lint = runCordon("policy lint " + policy);
  CHECK(lint.exitCode == 1);
  CHECK(contains(lint.output, "no plugin can be named 'Word_Count'"));
}

TEST_CASE(
    "run: an input that is a directory, a FIFO or too large is bad input before anything runs") {
  test::TempDir dir;
  const std::string workflow = test::sourcePath("examples/text-pipeline/workflow.yaml");
  const std::string policy = test::sourcePath("policies/default.yaml");
  std::filesystem::create_directories(dir.path("a-directory"));
  Command directory =
      runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                dir.path("audit.jsonl") + " --input text=" + dir.path("a-directory"));
  CHECK(directory.exitCode == 2);
  CHECK(contains(directory.output, "this is a directory"));
  REQUIRE(mkfifo(dir.path("fifo").c_str(), 0600) == 0);
  Command fifo = runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                           dir.path("audit.jsonl") + " --input text=" + dir.path("fifo"));
  CHECK(fifo.exitCode == 2);
  CHECK(contains(fifo.output, "this is a FIFO"));
  dir.write("big.txt", std::string(size_t{2} * 1024 * 1024, 'a'));
  Command big =
      runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                dir.path("audit.jsonl") + " --max-input-mb 1 --input text=" + dir.path("big.txt"));
  CHECK(big.exitCode == 2);
  CHECK(contains(big.output, "exceeds the limit of 1048576 bytes"));
  CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());
}

TEST_CASE(
    "run: outputs land atomically, and an output directory that cannot take them fails first") {
  test::TempDir dir;
  const std::string run = "run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                          " --policy " + test::sourcePath("policies/default.yaml") +
                          " --audit-log " + dir.path("audit.jsonl");
  dir.write("not-a-dir", "x");
  Command blocked = runCordon(run + " --output-dir " + dir.path("not-a-dir"));
  CHECK(blocked.exitCode == 2);
  CHECK(contains(blocked.output, "--output-dir"));
  auto records = test::readAudit(dir.path("audit.jsonl"));
  CHECK(test::withEvent(records, "step.start").empty());  // nothing ran
  Command ok = runCordon(run + " --output-dir " + dir.path("out"));
  CHECK(ok.exitCode == 0);
  CHECK(std::filesystem::exists(dir.path("out/counts")));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path("out")))
    CHECK(entry.path().filename().string()[0] != '.');  // no temporary left behind
}

TEST_CASE("audit verify: 1 for a tampered log, naming the line") {
  test::TempDir dir;
  Command run = runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                          " --policy " + test::sourcePath("policies/default.yaml") +
                          " --audit-log " + dir.path("audit.jsonl"));
  REQUIRE(run.exitCode == 0);
  std::string text;
  {
    std::ifstream in(dir.path("audit.jsonl"));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto at = text.find("\"succeeded\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, 11, "\"failed!!!\"");
  dir.write("audit.jsonl", text);
  Command verify = runCordon("audit verify " + dir.path("audit.jsonl"));
  CHECK(verify.exitCode == 1);
  CHECK(contains(verify.output, "audit.jsonl:"));
}

TEST_CASE("audit rotate: runs go on in a new segment, and verify checks the chain across them") {
  test::TempDir dir;
  const std::string log = dir.path("audit.jsonl");
  const std::string run = "run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                          " --policy " + test::sourcePath("policies/default.yaml") +
                          " --audit-log " + log;
  REQUIRE(runCordon(run).exitCode == 0);
  Command rotate = runCordon("audit rotate " + log);
  INFO(rotate.output);
  CHECK(rotate.exitCode == 0);
  CHECK(contains(rotate.output, "closed as " + log + ".000001"));
  REQUIRE(runCordon(run).exitCode == 0);

  Command verify = runCordon("audit verify " + log);
  INFO(verify.output);
  CHECK(verify.exitCode == 0);
  CHECK(contains(verify.output, "in 2 segments, chain intact"));
  Command json = runCordon("audit verify --json " + log);
  CHECK(contains(json.output, "\"segments\": 2"));

  std::filesystem::remove(log + ".000001");
  Command broken = runCordon("audit verify " + log);
  INFO(broken.output);
  CHECK(broken.exitCode == 1);
  CHECK(contains(broken.output, "earlier segments are missing"));
}

TEST_CASE("policy lint: 0 when clean, 1 naming file:line:field of risky grants, 2 when invalid") {
  Command clean = runCordon("policy lint " + test::sourcePath("policies/default.yaml"));
  CHECK(clean.exitCode == 0);

  test::TempDir dir;
  std::string risky = dir.write("risky.yaml",
                                "version: 1\nplugins:\n  p:\n    calls: [execute]\n"
                                "    filesystem: { read_only: [/etc] }\n"
                                "    on_violation: { errno: EPERM }\n");
  Command warned = runCordon("policy lint " + risky);
  INFO(warned.output);
  CHECK(warned.exitCode == 1);
  CHECK(contains(warned.output, risky + ":5: field 'plugins.p.filesystem': warning:"));
  CHECK(contains(warned.output, risky + ":6: field 'plugins.p.on_violation': warning:"));

  std::string broken = dir.write("broken.yaml", "version: 1\nplugins:\n  p: { calls: [fly] }\n");
  Command invalid = runCordon("policy lint " + broken);
  CHECK(invalid.exitCode == 2);
  CHECK(contains(invalid.output, broken + ":3"));
}

Command runSign(const std::string& args) {
  return runShell(test::signBinary() + " " + args);
}

TEST_CASE("policy import-oci: prints a profile a policy can extend, 2 for a bad profile") {
  test::TempDir dir;
  Command imported = runCordon("policy import-oci --name docker " +
                               test::sourcePath("tests/fixtures/oci/profile.json"));
  CHECK(imported.exitCode == 0);
  CHECK(contains(imported.output, "#   ptrace: forbidden to every plugin"));
  CHECK(contains(imported.output, "imported 6 syscalls and 5 rules"));
  // The printed policy lints (valid, with warnings for the rules that let syscalls run).
  std::string body = imported.output;  // stdout and stderr together: drop stderr's one line
  size_t summary = body.find("cordon: imported");
  body.erase(summary, body.find('\n', summary) + 1 - summary);
  std::string policy = dir.write("imported.yaml", body + "\nplugins:\n  p: { extends: docker }\n");
  CHECK(runCordon("policy lint " + policy).exitCode == 1);

  std::string broken = dir.write(
      "broken.json",
      R"({ "defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{ "names": ["read"], "action": "SCMP_ACT_BOGUS" }] })");
  Command refused = runCordon("policy import-oci " + broken);
  CHECK(refused.exitCode == 2);
  CHECK(contains(refused.output, "broken.json: field 'syscalls[0].action': unknown action"));
}

TEST_CASE("policy learn: the learned policy lets the same run pass, and grants what it used") {
  test::TempDir dir;
  std::string workflow = dir.write("probe.yaml", test::oneStepWorkflow("socket-probe", "result"));
  Command learned = runCordon("policy learn --out " + dir.path("learned.yaml") + " --audit-log " +
                              dir.path("learn.jsonl") + " -- " + workflow);
  INFO(learned.output);
  REQUIRE(learned.exitCode == 0);
  CHECK(contains(learned.output, "learned a policy for 1 plugin"));
  CHECK(contains(learned.output,
                 "the sample is that one run (1 step and 1 execute call, every "
                 "budget x2 (--headroom))"));
  std::ifstream file(dir.path("learned.yaml"));
  std::string policy((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK(contains(policy, "  socket-probe:\n"));
  CHECK(contains(policy, "    syscalls: [socket]\n"));  // the one syscall beyond the runtime set
  CHECK_FALSE(contains(policy, "host:"));               // it called no host capability
  // Learning weakens the sandbox, and its workers' starts say so.
  auto learnStarts = test::withEvent(test::readAudit(dir.path("learn.jsonl")), "plugin.start");
  REQUIRE_FALSE(learnStarts.empty());
  CHECK(learnStarts[0]["danger"] == nlohmann::json::array({"danger_learning"}));

  Command enforced = runCordon("run " + workflow + " --policy " + dir.path("learned.yaml") +
                               " --audit-log " + dir.path("run.jsonl"));
  INFO(enforced.output);
  CHECK(enforced.exitCode == 0);
  CHECK(contains(enforced.output, "result: socket opened"));

  // A file the plugin opens is brokered while learning and becomes a read-only grant; a write
  // is refused and left as a comment.
  std::filesystem::create_directories(dir.path("data"));
  dir.write("data/notes.txt", "learned content");
  std::string reader =
      dir.write("reader.yaml",
                "name: read\nsteps:\n  - name: read\n    plugin: file-reader\n"
                "    config: { path: \"" +
                    dir.path("data/notes.txt") + "\" }\noutputs:\n  result: read.result\n");
  REQUIRE(runCordon("policy learn --out " + dir.path("reader-policy.yaml") + " --audit-log " +
                    dir.path("learn.jsonl") + " -- " + reader)
              .exitCode == 0);
  std::ifstream readerFile(dir.path("reader-policy.yaml"));
  std::string readerPolicy((std::istreambuf_iterator<char>(readerFile)),
                           std::istreambuf_iterator<char>());
  // Paths the plugin opened are quoted: a path cannot add keys or lines to the printed policy.
  CHECK(contains(readerPolicy,
                 "filesystem: { read_only: [\"" + dir.path("data/notes.txt") + "\"] }"));
  Command readerRun = runCordon("run " + reader + " --policy " + dir.path("reader-policy.yaml") +
                                " --audit-log " + dir.path("run.jsonl"));
  INFO(readerRun.output);
  CHECK(readerRun.exitCode == 0);
  CHECK(contains(readerRun.output, "result: learned content"));

  // A run that fails teaches nothing: exit 1, no policy.
  std::string crash = dir.write("crash.yaml", test::oneStepWorkflow("segfault"));
  Command failed = runCordon("policy learn --out " + dir.path("none.yaml") + " --audit-log " +
                             dir.path("learn.jsonl") + " -- " + crash);
  CHECK(failed.exitCode == 1);
  CHECK_FALSE(std::filesystem::exists(dir.path("none.yaml")));

  // --headroom sets the multiplier; below 1 would grant less than the run used.
  Command wider = runCordon("policy learn --headroom 5 --audit-log " + dir.path("learn.jsonl") +
                            " -- " + workflow);
  INFO(wider.output);
  CHECK(wider.exitCode == 0);
  CHECK(contains(wider.output, "every budget x5 (--headroom)"));
  CHECK(contains(wider.output, "times x5"));
  Command tight = runCordon("policy learn --headroom 0.5 -- " + workflow);
  CHECK(tight.exitCode == 2);
  CHECK(contains(tight.output, "--headroom"));
}

TEST_CASE("cordon-sign: --help on every command, 2 on bad input") {
  for (const char* command : {"", "keygen", "sign", "verify", "package"}) {
    Command help = runSign(std::string(command) + " --help");
    INFO("cordon-sign " << command << " --help");
    CHECK(help.exitCode == 0);
    CHECK(contains(help.output, "Usage"));
  }
  Command missing = runSign("verify -p /nonexistent.pub -m /nonexistent");
  CHECK(missing.exitCode == 2);
  CHECK(contains(missing.output, "/nonexistent.pub: cannot read"));
}

TEST_CASE("plugins list: every package with version, ABI, signer and trust") {
  Command list = runCordon("plugins list");
  INFO(list.output);
  CHECK(list.exitCode == 0);
  CHECK(contains(list.output, "text-transform         1.0.0     1   EA9616D95CAC165A read_input"));
  CHECK(contains(list.output, "trusted"));
  Command json = runCordon("plugins list --json");
  auto rows = nlohmann::json::parse(json.output);
  CHECK(rows.size() >= 50);
}

TEST_CASE("plugins inspect: manifest, digest, signer, and what the policy grants of it") {
  Command inspect =
      runCordon("plugins inspect sha256@^1 --policy " + test::sourcePath("policies/default.yaml"));
  INFO(inspect.output);
  CHECK(inspect.exitCode == 0);
  CHECK(contains(inspect.output, "digest:          sha256:"));
  CHECK(contains(inspect.output, "trusted comment: cordon-plugin name=sha256 version=1.0.0 abi=1"));
  CHECK(contains(inspect.output, "verdict:         the policy grants everything"));

  test::TempDir dir;
  std::string narrow =
      dir.write("narrow.yaml", "version: 1\nplugins:\n  sha256: { calls: [execute] }\n");
  Command refused = runCordon("plugins inspect sha256 --policy " + narrow);
  CHECK(contains(refused.output, "refused: "));
  CHECK(contains(refused.output, "host read_input"));

  // The object's findings are part of the verdict: read-passwd's manifest asks for nothing, so
  // the policy admits it, but its code opens files the policy grants no access to.
  std::string passwd = dir.write(
      "passwd.yaml",
      "version: 1\nplugins:\n  read-passwd: { calls: [describe, init, execute, shutdown] }\n");
  Command hostile = runCordon("plugins inspect read-passwd --policy " + passwd);
  INFO(hostile.output);
  CHECK(hostile.exitCode == 0);
  CHECK(contains(hostile.output,
                 "verdict:         the manifest is admitted, but the object shows "
                 "1 high finding(s)"));
  CHECK(contains(hostile.output, "finding:         high: file-access: imports open64()"));
  Command hostileJson = runCordon("plugins inspect read-passwd --json --policy " + passwd);
  CHECK(contains(hostileJson.output, "\"kind\": \"file-access\""));

  Command unknown = runCordon("plugins inspect no-such-plugin");
  CHECK(unknown.exitCode == 2);
  CHECK(contains(unknown.output, "plugin 'no-such-plugin' not found"));
}

TEST_CASE("plugins audit: exit 1 on findings at or above --fail-on, 0 on a clean object") {
  Command clean = runCordon("plugins audit sha256");
  INFO(clean.output);
  CHECK(clean.exitCode == 0);
  Command socket = runCordon("plugins audit " + test::pluginDirectories()[1] + "/open-socket");
  CHECK(socket.exitCode == 1);
  CHECK(contains(socket.output, "high: import: imports socket()"));
  test::TempDir dir;
  std::string passwdPolicy = dir.write(
      "passwd.yaml",
      "version: 1\nplugins:\n  read-passwd: { calls: [describe, init, execute, shutdown] }\n");
  Command passwd = runCordon("plugins audit read-passwd --policy " + passwdPolicy);
  INFO(passwd.output);
  CHECK(passwd.exitCode == 1);
  CHECK(contains(passwd.output, "high: file-access: imports open64()"));
  Command stack = runCordon("plugins audit exec-stack --json");
  CHECK(stack.exitCode == 1);
  CHECK(contains(stack.output, "\"execstack\""));
  Command bad = runCordon("plugins audit sha256 --fail-on sometimes");
  CHECK(bad.exitCode == 2);
}

TEST_CASE("run: an unsigned plugin is refused with exit 2 and an audit record") {
  test::TempDir dir;
  std::filesystem::copy(test::pluginDirectories()[0] + "/text-transform",
                        dir.path("text-transform"));
  std::filesystem::remove(dir.path("text-transform/text-transform.so.minisig"));
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("text-transform", "text"));
  Command run = runCordon("run " + workflow + " --plugin-path " + dir.path("") + " --policy " +
                          test::sourcePath("policies/default.yaml") + " --audit-log " +
                          dir.path("audit.jsonl"));
  INFO(run.output);
  CHECK(run.exitCode == 2);
  CHECK(contains(run.output, "refused: unsigned:"));
  auto all = test::readAudit(dir.path("audit.jsonl"));
  auto records = test::withEvent(all, "plugin.verify");
  REQUIRE(records.size() == 1);
  CHECK(records[0]["result"] == "refused");
  // Nothing ran, yet the refusal is a run's: its id is on both records and on the terminal.
  auto rejected = test::withEvent(all, "input.rejected");
  REQUIRE(rejected.size() == 1);
  const std::string runId = records[0]["run"];
  CHECK(runId.size() == 16);
  CHECK(rejected[0]["run"] == runId);
  CHECK(contains(run.output, "nothing ran; run " + runId));
}

TEST_CASE("the host config file: relative paths, and flags and environment win over it") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("etc/plugins"));
  std::filesystem::copy(test::pluginDirectories()[0] + "/sha256", dir.path("etc/plugins/sha256"));
  std::filesystem::copy(test::trustStoreDirectory(), dir.path("etc/trust"));
  std::string config = dir.write("etc/config.yaml",
                                 "plugin_path: [plugins]\ntrust_store: trust\nstate_dir: state\n");
  const std::string bare = "env -u CORDON_PLUGIN_PATH -u CORDON_TRUST_STORE -u CORDON_STATE_DIR " +
                           test::cordonBinary() + " ";
  Command list = runShell(bare + "plugins list --config " + config);
  INFO(list.output);
  CHECK(list.exitCode == 0);
  CHECK(contains(list.output, "sha256"));
  CHECK(contains(list.output, "trusted"));
  CHECK_FALSE(contains(list.output, "text-transform"));

  Command flagWins = runShell(bare + "plugins list --config " + config + " --plugin-path " +
                              test::pluginDirectories()[0]);
  CHECK(contains(flagWins.output, "text-transform"));

  std::string broken = dir.write("broken.yaml", "plugin_path: [a]\ntrust: x\n");
  Command invalid = runShell(bare + "plugins list --config " + broken);
  CHECK(invalid.exitCode == 2);
  CHECK(contains(invalid.output, broken + ":2"));
}

TEST_CASE("the fan-out example: for_each, if:, needs and the gather, as docs/workflow.md says") {
  test::TempDir dir;
  const std::string workflow = test::sourcePath("examples/fan-out/workflow.yaml");
  const std::string policy = test::sourcePath("policies/default.yaml");
  Command run = runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                          dir.path("audit.jsonl") + " --json");
  INFO(run.output);
  CHECK(run.exitCode == 0);
  CHECK(contains(run.output, R"("shouted")"));
  auto records = test::readAudit(dir.path("audit.jsonl"));
  // One execute per word, each audited under its item's name.
  std::set<std::string> items;
  for (const auto& record : records)
    if (record["event"] == "gate.allow" && record.value("method", "") == "execute" &&
        record.value("step", "").rfind("shout[", 0) == 0)
      items.insert(record["step"].get<std::string>());
  CHECK(items == std::set<std::string>{"shout[0]", "shout[1]", "shout[2]", "shout[3]"});

  // With count "no", count is skipped and digest still runs (always()).
  const std::string no = dir.write("no.txt", "no");
  Command skipped = runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                              dir.path("audit2.jsonl") + " --input count=" + no);
  INFO(skipped.output);
  CHECK(skipped.exitCode == 0);
  CHECK(contains(skipped.output,
                 "count skipped (not run: its if: 'inputs.count == 'yes'' is false)"));
  CHECK(contains(skipped.output, "digest ok"));
  CHECK(contains(skipped.output, R"(shouted: ["SANDBOXES","KEEP","PLUGINS","APART"])"));
}

TEST_CASE("validate: the language's errors, with file:line:column, and exit code 2") {
  test::TempDir dir;
  const std::string policy = test::sourcePath("policies/default.yaml");
  const std::string bad = dir.write("flow.yaml", R"W(name: broken
steps:
  - { name: a, plugin: word-count }
  - name: b
    plugin: word-count
    if: steps.a.status == 3
)W");
  Command validate = runCordon("validate " + bad + " --policy " + policy);
  CHECK(validate.exitCode == 2);
  CHECK(contains(validate.output,
                 "flow.yaml:6:24: field 'steps[1].if': '==' compares a text "
                 "with a number"));
  const std::string cycle = dir.write("cycle.yaml", R"W(name: cycle
steps:
  - { name: a, plugin: word-count, needs: [b] }
  - { name: b, plugin: word-count, needs: [a] }
)W");
  Command cyclic = runCordon("validate " + cycle + " --policy " + policy);
  CHECK(cyclic.exitCode == 2);
  CHECK(contains(cyclic.output, "the steps form a cycle: a -> b -> a"));
}

TEST_CASE("run: a workflow that succeeded despite denials says so last, and --json counts them") {
  test::TempDir dir;
  // The syscall outside the allowlist fails with EPERM (audited as gate.deny) and the plugin
  // carries on: the run succeeds, with one refusal the operator should look at.
  std::string policy = dir.write("policy.yaml",
                                 "version: 1\nplugins:\n  mix:\n"
                                 "    calls: [describe, init, execute, shutdown]\n"
                                 "    host: { read_input: { max_bytes: 1048576 } }\n"
                                 "    on_violation: { errno: EPERM }\n");
  std::string workflow = dir.write("probe.yaml",
                                   "name: probe\nsteps:\n  - name: probe\n    plugin: mix\n"
                                   "    config: { violate: \"1\", label_only: \"1\" }\n"
                                   "outputs:\n  out: probe.out\n");
  Command run = runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                          dir.path("audit.jsonl"));
  INFO(run.output);
  CHECK(run.exitCode == 0);
  CHECK(
      contains(run.output, "cordon: workflow succeeded with 1 denial: step 'probe' socket; run "));

  Command json = test::runCordonStdout("run " + workflow + " --policy " + policy + " --audit-log " +
                                           dir.path("audit.jsonl") + " --json",
                                       dir.path("stderr"));
  INFO(json.output);
  CHECK(json.exitCode == 0);
  auto report = nlohmann::json::parse(json.output);
  CHECK(report["denials"]["total"] == 1);
  REQUIRE(report["denials"]["by_step"].size() == 1);
  CHECK(report["denials"]["by_step"][0]["step"] == "probe");
  CHECK(report["denials"]["by_step"][0]["method"] == "socket");
  CHECK(report["denials"]["by_step"][0]["direction"] == "plugin->kernel");
  CHECK(report["denials"]["by_step"][0]["category"] == "sandbox_violation");

  // A run without refusals says nothing of them, and counts none.
  std::string clean = dir.write("clean.yaml",
                                "name: clean\nsteps:\n  - name: clean\n    plugin: mix\n"
                                "    config: { label_only: \"1\" }\n"
                                "outputs:\n  out: clean.out\n");
  Command quiet =
      runCordon("run " + clean + " --policy " + policy + " --audit-log " + dir.path("audit.jsonl"));
  CHECK(quiet.exitCode == 0);
  CHECK(contains(quiet.output, "cordon: workflow succeeded; run "));
}

TEST_CASE("runs list and runs show: the journal holds each run's steps, attempts and digests") {
  test::TempDir dir;
  const std::string state = dir.path("state");
  const std::string policy = dir.write("policy.yaml", kMixPolicy);
  const std::string workflow = dir.write("flow.yaml", R"(name: journaled
inputs:
  text: { value: hi }
steps:
  - name: flaky
    plugin: mix
    config: { label: flaky, fail_times: "1" }
    inputs: { a: inputs.text }
    retry: { attempts: 2, backoff_ms: 10, on: [plugin_error] }
  - { name: bad, plugin: mix, config: { violate: "true" }, inputs: { a: inputs.text }, on_error: continue }
  - { name: after, plugin: mix, inputs: { a: bad.out } }
outputs:
  result: flaky.out
)");
  const std::string audit = dir.path("audit.jsonl");
  Command run = runCordon("run " + workflow + " --policy " + policy + " --audit-log " + audit +
                          " --state-dir " + state + " --jobs 1");
  INFO(run.output);
  REQUIRE(run.exitCode == 0);

  Command list = runCordon("runs list --json --state-dir " + state);
  INFO(list.output);
  REQUIRE(list.exitCode == 0);
  auto runs = nlohmann::json::parse(list.output);
  REQUIRE(runs.size() == 1);
  const std::string id = runs[0]["id"];
  CHECK(runs[0]["state"] == "succeeded");
  CHECK(runs[0]["workflow"] == "journaled");

  Command show = runCordon("runs show " + id.substr(0, 6) + " --json --state-dir " + state);
  INFO(show.output);
  REQUIRE(show.exitCode == 0);
  auto shown = nlohmann::json::parse(show.output);
  CHECK(shown["run"]["id"] == id);
  std::ifstream file(workflow, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  CHECK(shown["run"]["workflow_digest"] == sha256Digest(bytes));
  std::map<std::string, std::string> states;
  for (const auto& step : shown["steps"]) states[step["name"]] = step["state"];
  CHECK(states == std::map<std::string, std::string>{
                      {"flaky", "succeeded"}, {"bad", "continued"}, {"after", "skipped"}});
  for (const auto& step : shown["steps"])
    if (step["name"] == "bad") CHECK(step["error_category"] == "sandbox_violation");
  // flaky failed once and was retried: two attempts, the first failed with its category.
  std::vector<nlohmann::json> flaky;
  for (const auto& attempt : shown["attempts"])
    if (attempt["step"] == "flaky") flaky.push_back(attempt);
  REQUIRE(flaky.size() == 2);
  CHECK(flaky[0]["number"] == 1);
  CHECK(flaky[0]["outcome"] == "failed");
  CHECK(flaky[0]["error_category"] == "plugin_error");
  CHECK(flaky[1]["outcome"] == "succeeded");
  // Every transition, in order, with its time; the run's first and last.
  const auto& transitions = shown["transitions"];
  REQUIRE(transitions.size() >= 6);
  CHECK(transitions.front()["state"] == "running");
  CHECK(transitions.back()["state"] == "succeeded");
  std::vector<std::string> flakyStates;
  for (const auto& t : transitions)
    if (t["step"] == "flaky") flakyStates.push_back(t["state"]);
  CHECK(flakyStates == std::vector<std::string>{"running", "retrying", "succeeded"});
  // The plugin's and the outputs' digests are the audit log's.
  auto records = test::readAudit(audit);
  std::set<std::string> started, digested, journaledPlugins, journaledOutputs;
  for (const auto& record : records) {
    if (record["event"] == "plugin.start") started.insert(record["digest"].get<std::string>());
    if (record["event"] == "artifact.digest")
      digested.insert(record["step"].get<std::string>() + "." +
                      record["output"].get<std::string>() + "=" +
                      record["digest"].get<std::string>());
  }
  for (const auto& plugin : shown["plugins"]) journaledPlugins.insert(plugin["digest"]);
  for (const auto& artifact : shown["artifacts"])
    journaledOutputs.insert(artifact["step"].get<std::string>() + "." +
                            artifact["name"].get<std::string>() + "=" +
                            artifact["digest"].get<std::string>());
  CHECK(journaledPlugins == started);
  CHECK(journaledOutputs == digested);

  Command table = runCordon("runs show " + id + " --state-dir " + state);
  CHECK(table.exitCode == 0);
  CHECK(contains(table.output, "bad                  mix              continued"));
  CHECK(contains(table.output, "sandbox_violation: the plugin called socket"));

  Command missing = runCordon("runs show ffff0000 --state-dir " + state);
  CHECK(missing.exitCode == 2);
  CHECK(contains(missing.output, "no run ffff0000 in " + state + "/journal.sqlite"));
  Command notAnId = runCordon("runs show 'x;y' --state-dir " + state);
  CHECK(notAnId.exitCode == 2);
  CHECK(contains(notAnId.output, "is not a run id"));
  Command none = runCordon("runs list --state-dir " + dir.path("elsewhere"));
  CHECK(none.exitCode == 2);
  CHECK(contains(none.output, "no journal here yet"));
}

namespace {

// The SHA-256 (hex) of the files in the store's sha256/ directory (STORE is STATE/artifacts).
std::set<std::string> filesInStore(const std::string& store) {
  std::set<std::string> names;
  std::error_code none;
  for (const auto& entry : std::filesystem::directory_iterator(store + "/sha256", none))
    names.insert(entry.path().filename().string());
  return names;
}

// The SHA-256 (hex) of every output kept: the store's files and the small outputs the journal
// keeps inline.
std::set<std::string> storedFiles(const std::string& store) {
  std::set<std::string> names = filesInStore(store);
  const auto journal = std::filesystem::path(store).parent_path() / "journal.sqlite";
  if (!std::filesystem::exists(journal)) return names;
  auto db = openJournal(journal.string(), /*readOnly=*/true);
  REQUIRE(db.ok());
  auto inlined = db.value()->query("SELECT digest FROM blobs");
  REQUIRE(inlined.ok());
  for (const auto& row : inlined.value()) names.insert(sqlText(row[0]).substr(7));
  return names;
}

// The run ids `runs list` shows, newest first, with their states.
std::vector<std::pair<std::string, std::string>> listedRuns(const std::string& state) {
  Command list = runCordon("runs list --json --state-dir " + state);
  REQUIRE(list.exitCode == 0);
  std::vector<std::pair<std::string, std::string>> runs;
  for (const auto& run : nlohmann::json::parse(list.output))
    runs.emplace_back(run["id"], run["state"]);
  return runs;
}

}  // namespace

TEST_CASE(
    "runs gc: ended runs beyond --keep go with the outputs only they name; running ones stay") {
  test::TempDir dir;
  const std::string state = dir.path("state");
  const std::string store = state + "/artifacts";
  // Each run keeps two small outputs inline in the journal and one large one (past
  // kInlineArtifactBytes, its own size each run) as a file in the store: gc removes both kinds.
  const std::string policy = dir.write("policy.yaml", std::string(kMixPolicy) + R"(  blob:
    calls: [describe, init, execute, shutdown]
    host:
      map_input: { max_bytes: 1048576 }
    limits: { memory_mb: 128, cpu_seconds: 60 }
    timeout_ms: 20000
)");
  auto flowWith = [&dir](const std::string& text, uint64_t largeBytes) {
    return dir.write("flow-" + text + ".yaml",
                     "name: gc\ninputs:\n  text: { value: " + text +
                         " }\nsteps:\n  - { name: one, plugin: mix, inputs: { a: inputs.text } }\n"
                         "  - { name: two, plugin: mix, inputs: { a: one.out } }\n"
                         "  - { name: large, plugin: blob, config: { mode: produce, bytes: \"" +
                         std::to_string(largeBytes) +
                         "\" }, inputs: { after: two.out } }\n"
                         "outputs:\n  result: two.out\n");
  };
  const uint64_t largeBytes = 70000;  // and one more each run
  auto runArgs = [&](const std::string& text, uint64_t bytes) {
    return "run " + flowWith(text, bytes) + " --policy " + policy + " --audit-log " +
           dir.path("audit.jsonl") + " --state-dir " + state + " --jobs 1";
  };
  std::vector<std::set<std::string>> filesOf;  // what each run added to the store
  std::vector<std::string> largeFileOf;        // of that, the one file in sha256/
  const char* texts[] = {"first", "second", "third"};
  for (uint64_t k = 0; k < 3; ++k) {
    const auto before = storedFiles(store);
    const auto filesBefore = filesInStore(store);
    Command run = runCordon(runArgs(texts[k], largeBytes + k));
    INFO(run.output);
    REQUIRE(run.exitCode == 0);
    std::set<std::string> added;
    for (const auto& name : storedFiles(store))
      if (before.count(name) == 0) added.insert(name);
    REQUIRE(added.size() == 3);  // one.out, two.out and large.out, each its own bytes
    filesOf.push_back(added);
    std::set<std::string> newFiles;
    for (const auto& name : filesInStore(store))
      if (filesBefore.count(name) == 0) newFiles.insert(name);
    REQUIRE(newFiles.size() == 1);  // large.out; the small two are inline
    largeFileOf.push_back(*newFiles.begin());
  }
  // A fourth run whose supervisor dies after its first step: it stays `running`, resumable.
  const auto beforeKilled = storedFiles(store);
  Command killed = runShell("CORDON_TEST_KILL_AT=journal.step_finished:1 " +
                            test::cordonCommandLine(runArgs("fourth", largeBytes + 3)));
  REQUIRE(killed.exitCode == 128 + SIGKILL);
  std::set<std::string> killedFiles;
  for (const auto& name : storedFiles(store))
    if (beforeKilled.count(name) == 0) killedFiles.insert(name);
  REQUIRE(killedFiles.size() == 1);
  const auto runs = listedRuns(state);
  REQUIRE(runs.size() == 4);
  const std::string killedId = runs[0].first;
  REQUIRE(runs[0].second == "running");

  // A dry run says what would go and removes nothing.
  Command dry = runCordon("runs gc --keep 1 --dry-run --json --state-dir " + state);
  INFO(dry.output);
  REQUIRE(dry.exitCode == 0);
  auto said = nlohmann::json::parse(dry.output);
  CHECK(said["removed_runs"] == nlohmann::json({runs[3].first, runs[2].first}));
  CHECK(said["removed_files"] == 2);  // the first and second runs' large outputs
  CHECK(said["removed_bytes"] == 2 * largeBytes + 1);
  CHECK(said["removed_inline_outputs"] == 4);
  CHECK(said["dry_run"] == true);
  CHECK(listedRuns(state).size() == 4);
  CHECK(storedFiles(store).size() == 10);

  // While a run's supervisor lives (its lock held), the store is not swept; the journal is.
  {
    auto held = RunLock::take(state, killedId);
    REQUIRE(held.ok());
    Command waited = runCordon("runs gc --keep 2 --json --state-dir " + state);
    INFO(waited.output);
    REQUIRE(waited.exitCode == 0);
    auto result = nlohmann::json::parse(waited.output);
    CHECK(result["removed_runs"] == nlohmann::json({runs[3].first}));
    CHECK(result["store_swept"] == false);
    CHECK(result["store_held_by"] == killedId);
    CHECK(result["removed_files"] == 0);
    // Inline outputs go with their run's rows at once: a live run's own are committed with the
    // rows that name them (SQLite lets one writer in at a time), so none of them can go.
    CHECK(result["removed_inline_outputs"] == 2);
    std::set<std::string> kept = filesOf[1];
    kept.insert(filesOf[2].begin(), filesOf[2].end());
    kept.insert(killedFiles.begin(), killedFiles.end());
    kept.insert(largeFileOf[0]);  // a file: it waits for the store's sweep
    CHECK(storedFiles(store) == kept);
  }

  // A write a crash cut short leaves an incoming- file: the sweep takes it too.
  { std::ofstream(store + "/incoming-999999-1", std::ios::binary) << "12345"; }
  Command gc = runCordon("runs gc --keep 1 --state-dir " + state);
  INFO(gc.output);
  REQUIRE(gc.exitCode == 0);
  CHECK(contains(gc.output, "removed 1 run from"));
  // The first run's large output (its run went above) and the second's, and the incoming file.
  CHECK(contains(gc.output, "removed 3 files (" + std::to_string(2 * largeBytes + 1 + 5) +
                                " bytes) no remaining run names from"));
  CHECK(contains(gc.output, "removed 2 inline outputs"));  // the second run's; the first's went
  CHECK_FALSE(std::filesystem::exists(store + "/incoming-999999-1"));

  const auto left = listedRuns(state);
  REQUIRE(left.size() == 2);
  CHECK(left[0] == std::make_pair(killedId, std::string("running")));
  CHECK(left[1] == std::make_pair(runs[1].first, std::string("succeeded")));
  std::set<std::string> expected = filesOf[2];
  expected.insert(killedFiles.begin(), killedFiles.end());
  CHECK(storedFiles(store) == expected);
  CHECK(filesInStore(store) == std::set<std::string>{largeFileOf[2]});

  // The run gc left alone can still be finished from what the store kept.
  Command resumed = runCordon("resume " + killedId + " --state-dir " + state);
  INFO(resumed.output);
  CHECK(resumed.exitCode == 0);
  Command older = runCordon("runs gc --older-than 1d --json --state-dir " + state);
  REQUIRE(older.exitCode == 0);
  CHECK(nlohmann::json::parse(older.output)["removed_runs"].empty());

  for (const char* bad : {"runs gc", "runs gc --older-than 7x", "runs gc --older-than 1w",
                          "runs gc --keep -1", "runs gc --keep two"}) {
    CAPTURE(bad);
    Command refused = runCordon(std::string(bad) + " --state-dir " + state);
    CHECK(refused.exitCode == 2);
    CHECK(contains(refused.output, "cordon: error:"));
  }
  Command none = runCordon("runs gc --keep 1 --state-dir " + dir.path("elsewhere"));
  CHECK(none.exitCode == 2);
  CHECK(contains(none.output, "no journal here yet"));
  CHECK(listedRuns(state).size() == 2);
}

namespace {

void writeBytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << bytes;
}

}  // namespace

TEST_CASE("run: a journal that stops mid-run is a warning and an audit record, not a failure") {
  test::TempDir dir;
  const std::string state = dir.path("state");
  const std::string policy = dir.write("policy.yaml", kMixPolicy);
  // 120 outputs of 60 KB each (7 MB), all kept inline in the journal: its WAL outgrows the file
  // size limit below (RLIMIT_FSIZE; SIGXFSZ ignored, so the write fails with EFBIG instead of
  // killing the supervisor), as a full disk would make it fail. The audit log stays small. The
  // limit is well above what else the supervisor writes: a coverage build's .gcda files, up to
  // 1 MB each, are written at its exit under the same limit.
  dir.write("big.txt", std::string(60'000, 'x'));
  std::string steps;
  for (int i = 0; i < 120; ++i) {
    steps += "  - { name: s" + std::to_string(i) + ", plugin: mix, config: { label: l" +
             std::to_string(i) + " }, inputs: { a: inputs.text } }\n";
  }
  const std::string workflow =
      dir.write("flow.yaml", "name: big\ninputs:\n  text: { file: big.txt }\nsteps:\n" + steps);
  const std::string audit = dir.path("audit.jsonl");
  Command run =
      runShell("trap '' XFSZ; prlimit --fsize=4194304 -- env " +
               test::cordonCommandLine("run " + workflow + " --policy " + policy + " --audit-log " +
                                       audit + " --state-dir " + state + " --jobs 1"));
  INFO(run.output);
  CHECK(run.exitCode == 0);  // the run and its outputs stand
  CHECK(contains(run.output, "cordon: warning: the journal stopped recording this run: "));
  auto records = test::readAudit(audit);
  auto failed = test::withEvent(records, "run.journal_failed");
  REQUIRE(failed.size() == 1);
  CHECK_FALSE(failed[0]["error"].get<std::string>().empty());
  CHECK(failed[0].contains("category"));
  // After the run's end, which it does not change; the chain holds.
  const auto end = std::find_if(records.begin(), records.end(),
                                [](const nlohmann::json& r) { return r["event"] == "run.end"; });
  REQUIRE(end != records.end());
  CHECK((*end)["status"] == "succeeded");
  CHECK(std::find(end, records.end(), failed[0]) != records.end());
  Command verify = runCordon("audit verify " + audit);
  INFO(verify.output);
  CHECK(verify.exitCode == 0);

  // Without the limit the same run journals whole, and no such record is written.
  const std::string cleanAudit = dir.path("clean.jsonl");
  Command clean = runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                            cleanAudit + " --state-dir " + dir.path("state2") + " --jobs 1");
  INFO(clean.output);
  CHECK(clean.exitCode == 0);
  CHECK_FALSE(contains(clean.output, "journal stopped"));
  CHECK(test::withEvent(test::readAudit(cleanAudit), "run.journal_failed").empty());
}

TEST_CASE("run receipts: signed at the end of a run, verified against outputs and audit log") {
  test::TempDir dir;
  REQUIRE(runShell(test::signBinary() + " keygen -p " + dir.path("op.pub") + " -s " +
                   dir.path("op.key"))
              .exitCode == 0);
  REQUIRE(runShell(test::signBinary() + " keygen -p " + dir.path("other.pub") + " -s " +
                   dir.path("other.key"))
              .exitCode == 0);
  const std::string policy = dir.write("policy.yaml", kMixPolicy);
  const std::string workflow = dir.write("flow.yaml", R"(name: receipted
inputs:
  text: { value: "proof" }
steps:
  - { name: one, plugin: mix, inputs: { a: inputs.text } }
  - { name: two, plugin: mix, inputs: { a: one.out } }
outputs:
  result: two.out
)");
  const std::string audit = dir.path("audit.jsonl");
  const std::string receipt = dir.path("run.receipt.json");
  const std::string out = dir.path("out");
  Command run = runCordon("run " + workflow + " --policy " + policy + " --audit-log " + audit +
                          " --state-dir " + dir.path("state") + " --output-dir " + out +
                          " --receipt-key " + dir.path("op.key") + " --receipt " + receipt);
  INFO(run.output);
  REQUIRE(run.exitCode == 0);
  CHECK(contains(run.output, "cordon: receipt " + receipt));

  const std::string verifyArgs = "receipt verify " + receipt + " --key " + dir.path("op.pub");
  Command verified =
      runCordon(verifyArgs + " --artifacts " + out + " --audit-log " + audit + " --json");
  INFO(verified.output);
  REQUIRE(verified.exitCode == 0);
  const nlohmann::json result = nlohmann::json::parse(verified.output);
  CHECK(result["holds"] == true);
  const nlohmann::json& statement = result["statement"];
  CHECK(statement["_type"] == "https://in-toto.io/Statement/v1");
  const nlohmann::json& predicate = statement["predicate"];

  // What it binds is what the audit log and the files say.
  auto records = test::readAudit(audit);
  const nlohmann::json runEnd = test::withEvent(records, "run.end").at(0);
  CHECK(predicate["run_id"] == runEnd["run"]);
  CHECK(predicate["audit"]["run_end_hash"] == runEnd["hash"]);
  CHECK(predicate["outcome"]["status"] == "succeeded");
  CHECK(predicate["workflow"]["digest"] == sha256Digest(test::readFile(workflow)));
  CHECK(predicate["policy"]["digest"] == sha256Digest(test::readFile(policy)));
  REQUIRE(statement["subject"].size() == 1);
  CHECK(statement["subject"][0]["name"] == "result");
  CHECK("sha256:" + statement["subject"][0]["digest"]["sha256"].get<std::string>() ==
        sha256Digest(test::readFile(out + "/result")));
  const nlohmann::json verify = test::withEvent(records, "plugin.verify").at(0);
  REQUIRE(predicate["plugins"].size() == 1);
  CHECK(predicate["plugins"][0]["digest"] == verify["digest"]);
  CHECK(predicate["plugins"][0]["signer_key_id"] == verify["key_id"]);
  CHECK(predicate["steps"].size() == 2);
  CHECK(predicate["inputs"][0]["digest"] == sha256Digest("proof"));
  const nlohmann::json issued = test::withEvent(records, "run.receipt").at(0);
  CHECK(issued["digest"] == sha256Digest(test::readFile(receipt)));

  // The signature is plain DSSE: the openssl tool verifies it over the PAE, with the raw key.
  const nlohmann::json envelope = nlohmann::json::parse(test::readFile(receipt));
  auto payload = base64Decode(envelope["payload"].get<std::string>());
  auto signature = base64Decode(envelope["signatures"][0]["sig"].get<std::string>());
  REQUIRE(payload);
  REQUIRE(signature);
  const std::string payloadType = envelope["payloadType"];
  const std::string body(payload->begin(), payload->end());
  writeBytes(dir.path("pae.bin"), "DSSEv1 " + std::to_string(payloadType.size()) + " " +
                                      payloadType + " " + std::to_string(body.size()) + " " + body);
  writeBytes(dir.path("sig.bin"), std::string(signature->begin(), signature->end()));
  auto publicKey = minisign::parsePublicKey(test::readFile(dir.path("op.pub")));
  REQUIRE(publicKey.ok());
  std::string der("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);
  der.append(reinterpret_cast<const char*>(publicKey.value().key.data()), 32);
  writeBytes(dir.path("op.der"), der);
  Command openssl =
      runShell("openssl pkeyutl -verify -pubin -keyform DER -inkey " + dir.path("op.der") +
               " -rawin -in " + dir.path("pae.bin") + " -sigfile " + dir.path("sig.bin"));
  INFO(openssl.output);
  CHECK(openssl.exitCode == 0);

  // Each way it can fail to hold: 1, naming what.
  auto expectFailure = [&](const std::string& args, const std::string& said) {
    Command failed = runCordon(args);
    INFO(args);
    INFO(failed.output);
    CHECK(failed.exitCode == 1);
    CHECK(contains(failed.output, said));
  };
  expectFailure("receipt verify " + receipt + " --key " + dir.path("other.pub"),
                "no signature by key");
  nlohmann::json forged = envelope;
  nlohmann::json changed = nlohmann::json::parse(body);
  changed["predicate"]["outcome"]["status"] = "failed";
  const std::string changedText = changed.dump();
  forged["payload"] =
      base64Encode(reinterpret_cast<const unsigned char*>(changedText.data()), changedText.size());
  const std::string forgedPath = dir.write("forged.json", forged.dump());
  expectFailure("receipt verify " + forgedPath + " --key " + dir.path("op.pub"),
                "does not verify: the receipt was changed");
  expectFailure(
      "receipt verify " + dir.write("junk.json", "{not json") + " --key " + dir.path("op.pub"),
      "not a DSSE envelope");
  const std::string original = test::readFile(out + "/result");
  writeBytes(out + "/result", original + "tampered");
  expectFailure(verifyArgs + " --artifacts " + out, "output result");
  writeBytes(out + "/result", original);
  // Another log that verifies but never held this run.
  const std::string otherLog = dir.path("other.jsonl");
  REQUIRE(runCordon("run " + workflow + " --policy " + policy + " --audit-log " + otherLog +
                    " --state-dir " + dir.path("state"))
              .exitCode == 0);
  expectFailure(verifyArgs + " --audit-log " + otherLog, "holds no record with hash");

  // A receipt signed by the right key whose subject names a path: never joined to --artifacts.
  auto key = loadReceiptKey(dir.path("op.key"));
  REQUIRE(key.ok());
  nlohmann::json escaping = nlohmann::json::parse(body);
  escaping["subject"][0]["name"] = "../flow.yaml";
  const std::string escapingPath = dir.path("escaping.json");
  REQUIRE(writeReceipt(escaping, key.value(), escapingPath).ok());
  expectFailure(
      "receipt verify " + escapingPath + " --key " + dir.path("op.pub") + " --artifacts " + out,
      "is not an output name");

  // Bad input: 2, and a run asked for a receipt it cannot sign does not start.
  Command noKey = runCordon("receipt verify " + receipt + " --key " + dir.path("missing.pub"));
  CHECK(noKey.exitCode == 2);
  CHECK(contains(noKey.output, dir.path("missing.pub") + ": cannot read the public key"));
  Command notAKey = runCordon("receipt verify " + receipt + " --key " + workflow);
  CHECK(notAKey.exitCode == 2);
  Command unsignable =
      runCordon("run " + workflow + " --policy " + policy + " --audit-log " + audit +
                " --state-dir " + dir.path("state") + " --receipt-key " + policy);
  CHECK(unsignable.exitCode == 2);
  CHECK(contains(unsignable.output, policy + ": not an unencrypted minisign secret key"));
  CHECK(!contains(unsignable.output, "[1/2]"));
}
