// `cordon audit query` and `cordon audit summary` on what real hostile plugins did to the real
// worker: the operator's question "what did this plugin try to do?" answered from the log alone.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "test_support.h"

using namespace cordon;

namespace {

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The run id `cordon run` printed last ("... run ID, see LOG" or "... run ID").
std::string lastRunId(const std::string& output) {
  const auto at = output.rfind("; run ");
  REQUIRE(at != std::string::npos);
  return output.substr(at + 6, 16);
}

// Runs PLUGIN beside a benign sibling through the CLI; returns the run's id.
std::string attackAndRecord(const test::TempDir& dir, const std::string& plugin,
                            const std::string& policy) {
  const std::string workflow = dir.write(plugin + ".yaml", test::attackWithSibling(plugin));
  test::Command run = test::runCordon("run " + workflow + " --policy " + policy + " --audit-log " +
                                      dir.path("audit.jsonl"));
  INFO(run.output);
  CHECK(run.exitCode == 1);
  return lastRunId(run.output);
}

void checkSummarySafe(const std::string& output) {
  CHECK_FALSE(mentions(output, "\x1b"));
  CHECK_FALSE(mentions(output, "\x9b"));
  CHECK_FALSE(mentions(output, "\r"));
}

const char* kConnectOutPolicy = R"(version: 1
plugins:
  open-socket:
    calls: [describe, init, execute, shutdown]
    host: { read_input: { max_bytes: 1048576 } }
    timeout_ms: 5000
    syscalls:
      - { name: socket, action: log }
    on_violation: { errno: EPERM }
  text-transform:
    calls: [describe, init, execute, shutdown]
    host: { read_input: { max_bytes: 1048576 }, log: { max_bytes: 1024, max_calls: 16 } }
)";

}  // namespace

TEST_CASE("audit summary: a plugin that read /etc/passwd, and one that tried to connect out") {
  test::TempDir dir;
  const std::string log = dir.path("audit.jsonl");
  const std::string passwdRun =
      attackAndRecord(dir, "read-passwd", test::sourcePath("tests/security/hostile-policy.yaml"));
  const std::string socketRun =
      attackAndRecord(dir, "open-socket", dir.write("connect.yaml", kConnectOutPolicy));

  test::Command passwd =
      test::runCordon("audit summary " + log + " --run " + passwdRun + " --plugin read-passwd");
  INFO(passwd.output);
  CHECK(passwd.exitCode == 0);
  CHECK(mentions(passwd.output, "run " + passwdRun + ": 'attack-read-passwd'"));
  CHECK(mentions(passwd.output, "failed: sandbox_violation"));
  CHECK(mentions(passwd.output, "plugin read-passwd\n"));
  CHECK_FALSE(mentions(passwd.output, "plugin text-transform"));  // --plugin keeps one
  CHECK(mentions(passwd.output, "signature              verified 1.0.0"));
  CHECK(mentions(passwd.output, "syscall outside policy openat /etc/passwd: stopped the worker"));
  CHECK(mentions(passwd.output, "file                   /etc/passwd (openat): stopped the worker"));
  CHECK(mentions(passwd.output, "sockets                none attempted"));
  CHECK(mentions(passwd.output, "ended signal SIGKILL"));
  CHECK(mentions(passwd.output, "sandbox.violation  read-passwd, step attack"));

  test::Command socket = test::runCordon("audit summary " + log + " --run " + socketRun);
  INFO(socket.output);
  CHECK(socket.exitCode == 0);
  CHECK(mentions(socket.output, "socket                 socket (no address): let run (log rule)"));
  CHECK(mentions(socket.output,
                 "socket                 connect inet 127.0.0.1:80: failed with an errno"));
  CHECK(mentions(socket.output, "plugin text-transform\n"));  // the sibling, which did its work
  CHECK(mentions(socket.output, "host capabilities      log 1, read_input 1"));

  // --json: the same summary, as data.
  test::Command json = test::runCordonStdout(
      "audit summary " + log + " --run " + socketRun + " --plugin open-socket --json",
      dir.path("stderr.txt"));
  auto parsed = nlohmann::json::parse(json.output, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  REQUIRE(parsed["plugins"].size() == 1);
  bool connect = false;
  for (const auto& s : parsed["plugins"][0]["sockets"])
    connect |= s["syscall"] == "connect" && s["address"] == "inet 127.0.0.1:80";
  CHECK(connect);

  test::Command unknown = test::runCordon("audit summary " + log + " --run 0123456789abcdef");
  CHECK(unknown.exitCode == 2);
  CHECK(mentions(unknown.output, "no record of run '0123456789abcdef'"));
}

TEST_CASE(
    "audit query: the records of one run, plugin and event family, as JSON lines or a table") {
  test::TempDir dir;
  const std::string log = dir.path("audit.jsonl");
  const std::string first =
      attackAndRecord(dir, "read-passwd", test::sourcePath("tests/security/hostile-policy.yaml"));
  attackAndRecord(dir, "segfault", test::sourcePath("tests/security/hostile-policy.yaml"));

  test::Command lines = test::runCordonStdout(
      "audit query " + log + " --run " + first + " --plugin read-passwd --event 'gate.*'",
      dir.path("stderr.txt"));
  CHECK(lines.exitCode == 0);
  std::istringstream in(lines.output);
  std::string line;
  size_t count = 0;
  while (std::getline(in, line)) {
    auto record = nlohmann::json::parse(line, nullptr, false);
    REQUIRE(record.is_object());
    CHECK(record["run"] == first);
    CHECK(record["plugin"] == "read-passwd");
    CHECK(record["event"].get<std::string>().rfind("gate.", 0) == 0);
    ++count;
  }
  CHECK(count >= 4);  // the admission, describe, init, execute at least

  // Every record of the run, the signature checks before run.start included.
  test::Command all =
      test::runCordonStdout("audit query " + log + " --run " + first, dir.path("stderr.txt"));
  CHECK(mentions(all.output, "\"event\":\"plugin.verify\""));
  CHECK_FALSE(mentions(all.output, "segfault"));

  test::Command table = test::runCordon("audit query " + log + " --step attack --format table");
  INFO(table.output);
  CHECK(table.exitCode == 0);
  CHECK(mentions(table.output, "seq    ts"));
  CHECK(mentions(table.output, "sandbox.violation"));
  CHECK(mentions(table.output, "plugin.crash"));  // both runs' attack steps
  CHECK(mentions(table.output, "record(s) matched"));

  // OCSF: one event per line, the run as the correlation id.
  test::Command ocsf = test::runCordonStdout(
      "audit query " + log + " --run " + first + " --event sandbox.violation --format ocsf",
      dir.path("stderr.txt"));
  auto event = nlohmann::json::parse(ocsf.output, nullptr, false);
  REQUIRE(event.is_object());
  CHECK(event["class_uid"] == 2004);
  CHECK(event["metadata"]["correlation_uid"] == first);
  CHECK(event["file"]["path"] == "/etc/passwd");

  test::Command badTime = test::runCordon("audit query " + log + " --since yesterday");
  CHECK(badTime.exitCode == 2);
  CHECK(mentions(badTime.output, "--since yesterday: expected a UTC time"));
}

TEST_CASE("audit query and summary show a plugin's hostile bytes only made safe") {
  test::TempDir dir;
  const std::string log = dir.path("audit.jsonl");
  const std::string run =
      attackAndRecord(dir, "text-error", test::sourcePath("tests/security/hostile-policy.yaml"));
  test::Command summary = test::runCordon("audit summary " + log + " --run " + run);
  INFO(summary.output);
  CHECK(summary.exitCode == 0);
  checkSummarySafe(summary.output);
  CHECK(mentions(summary.output, "\\x1b]0;pwned"));  // shown as an escape, not obeyed
  test::Command table = test::runCordon("audit query " + log + " --format table");
  checkSummarySafe(table.output);

  // A line that is not a record is counted and pointed to, not silently dropped.
  {
    std::ofstream append(log, std::ios::app);
    append << "not a record\n";
  }
  test::Command warned = test::runCordon("audit query " + log + " --event run.end");
  CHECK(warned.exitCode == 0);
  CHECK(mentions(warned.output, "1 line(s) of " + log + " are not records (first: " + log + ":"));
}
