// The trusted side holds: hostile bytes, forged verdicts, run-time code, a full disk, signals
// and a SIGKILLed supervisor, each against the real supervisor and the real worker.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/untrusted_text.h"
#include "test_support.h"

using namespace cordon;

namespace {

const std::string kHostilePolicy = "tests/security/hostile-policy.yaml";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What reaches a terminal from a hostile run must hold no escape, no C1 control, no bidi control
// and no line that a plugin began.
void checkTerminalSafe(const std::string& output) {
  CHECK_FALSE(contains(output, "\x1b"));
  CHECK_FALSE(contains(output, "\x9b"));
  CHECK_FALSE(contains(output, "\xc2\x9b"));
  CHECK_FALSE(contains(output, "\xe2\x80\xae"));
  CHECK_FALSE(contains(output, "\r"));
  // The plugin's forged status line (its run id is all zeros) never starts a line.
  CHECK_FALSE(contains(output, "\ncordon: workflow succeeded; run 0000000000000000"));
}

test::RunResult attack(const test::TempDir& dir, const std::string& plugin) {
  std::string workflow = dir.write("attack.yaml", test::attackWithSibling(plugin));
  return test::runWorkflow(workflow, test::sourcePath(kHostilePolicy), dir.path("audit.jsonl"));
}

// The run went on around the attacker, ended with run.end, and its log verifies.
void checkContained(const test::TempDir& dir, const test::RunResult& run) {
  REQUIRE(run.report.outputs.count("sibling") == 1);
  CHECK(test::bytesOf(run.report.outputs.at("sibling")) == "SOME TEXT FOR THE PLUGIN");
  CHECK(test::withEvent(run.audit, "run.end").size() == 1);
  auto verified = verifyAuditLog(dir.path("audit.jsonl"));
  CHECK_MESSAGE(verified.ok(), (verified.ok() ? "" : verified.error().message));
}

// A policy of one section: a benign plugin's grants, plus `extra` lines and `extraLimits`.
std::string onePluginPolicy(const test::TempDir& dir, const std::string& plugin,
                            const std::string& extra, const std::string& extraLimits = "") {
  return dir.write("policy.yaml",
                   "version: 1\nplugins:\n  " + plugin +
                       ":\n    calls: [describe, init, execute, shutdown]\n"
                       "    host: { read_input: { max_bytes: 1048576 } }\n"
                       "    limits: { memory_mb: 128, cpu_seconds: 10, open_files: 32" +
                       extraLimits + " }\n" + extra);
}

std::string cliArgs(const std::string& workflow, const test::TempDir& dir) {
  return "run " + workflow + " --policy " + test::sourcePath(kHostilePolicy) + " --audit-log " +
         dir.path("audit.jsonl");
}

}  // namespace

TEST_CASE("trusted side: ill-formed UTF-8 and escapes in a plugin's error and log lines") {
  test::TempDir dir;
  auto run = attack(dir, "text-error");
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kPluginError);
  CHECK(run.report.error->step == "attack");
  checkContained(dir, run);
  // The record keeps the evidence: valid text, and the raw bytes as hex.
  auto ends = test::withEvent(run.audit, "step.end");
  REQUIRE(ends.size() == 2);
  const auto& error = ends[0]["step"] == "attack" ? ends[0]["error"] : ends[1]["error"];
  CHECK(error.contains("message_hex"));
  CHECK(isValidUtf8(error["message"].get<std::string>()));

  // Through the real CLI: the terminal sees neutralised text, --json stays valid JSON.
  std::string workflow = dir.write("cli.yaml", test::attackWithSibling("text-error"));
  test::Command shown = test::runCordon(cliArgs(workflow, dir));
  INFO(shown.output);
  CHECK(shown.exitCode == 1);
  checkTerminalSafe(shown.output);
  CHECK(contains(shown.output, "\\x1b]0;pwned"));  // shown, as an escape, not obeyed
  test::Command json =
      test::runCordonStdout(cliArgs(workflow, dir) + " --json", dir.path("stderr.txt"));
  CHECK(json.exitCode == 1);
  auto parsed = nlohmann::json::parse(json.output, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  CHECK(parsed["status"] == "failed");
}

TEST_CASE("trusted side: an output of hostile bytes reaches --json and the terminal safely") {
  test::TempDir dir;
  std::string workflow =
      dir.write("out.yaml",
                "name: out\ninputs:\n  text: { value: \"x\" }\nsteps:\n"
                "  - { name: attack, plugin: text-output, inputs: { text: inputs.text } }\n"
                "outputs:\n  result: attack.result\n");
  test::Command shown = test::runCordon(cliArgs(workflow, dir));
  INFO(shown.output);
  CHECK(shown.exitCode == 0);
  checkTerminalSafe(shown.output);
  test::Command json =
      test::runCordonStdout(cliArgs(workflow, dir) + " --json", dir.path("stderr.txt"));
  CHECK(json.exitCode == 0);
  auto parsed = nlohmann::json::parse(json.output, nullptr, false);
  REQUIRE_FALSE(parsed.is_discarded());
  CHECK(parsed["outputs"]["result"].contains("text_hex"));
  CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());
}

TEST_CASE("trusted side: a refused read_file of a path that is not UTF-8 is audited as a denial") {
  test::TempDir dir;
  auto run = attack(dir, "text-path");
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kPolicyDenial);
  checkContained(dir, run);
  auto denials = test::withEvent(run.audit, "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["method"] == "read_file");
  CHECK(denials[0]["path_hex"] == hexBytes("/etc/\xff\xfe\x80passwd"));
}

TEST_CASE("trusted side: an input name that is not UTF-8 cannot break the run") {
  test::TempDir dir;
  auto run = attack(dir, "text-input-name");
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->step == "attack");
  checkContained(dir, run);
}

TEST_CASE(
    "trusted side: after loading, exit codes and report lines are the plugin's, not verdicts") {
  for (const char* plugin : {"fake-setup-failure", "fake-load-refusal"}) {
    INFO(plugin);
    test::TempDir dir;
    auto run = attack(dir, plugin);
    REQUIRE_FALSE(run.report.ok());
    CHECK(run.report.error->category == ErrorCategory::kCrash);
    CHECK_FALSE(contains(run.report.error->message, "forged by the plugin"));
    CHECK(test::withEvent(run.audit, "sandbox.setup_failed").empty());
    CHECK(test::withEvent(run.audit, "plugin.rejected").empty());
    REQUIRE(test::withEvent(run.audit, "plugin.crash").size() == 1);
    CHECK(test::withEvent(run.audit, "plugin.crash")[0]["phase"] == "serving");
    checkContained(dir, run);
  }
}

TEST_CASE("trusted side: a claimed memory limit is the plugin's own failure, with no text of its") {
  // Exit 160 cannot be told from a real one without cgroup v2 (docs/errors.md): any plugin can
  // reach its memory limit on purpose, so the claim earns nothing a real malloc would not. What
  // it may not do is put its own words into the verdict.
  test::TempDir dir;
  auto run = attack(dir, "fake-memory-limit");
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kResourceLimit);
  CHECK(contains(run.report.error->message, "an allocation of ? bytes failed"));
  CHECK_FALSE(contains(run.report.error->message, "pwned"));
  auto limits = test::withEvent(run.audit, "resource.limit");
  REQUIRE(limits.size() == 1);
  CHECK_FALSE(contains(limits[0].dump(), "pwned"));
  checkContained(dir, run);
}

TEST_CASE("trusted side: W^X holds while the plugin loads (no RWX page, no anonymous code)") {
  for (const auto& expected :
       {std::pair{"wx-constructor", "mmap"}, std::pair{"wx-flip", "mprotect"}}) {
    const std::string plugin = expected.first;
    const std::string syscall = expected.second;
    INFO(plugin);
    test::TempDir dir;
    auto run = attack(dir, plugin);
    REQUIRE_FALSE(run.report.ok());
    CHECK(run.report.error->category == ErrorCategory::kSandboxViolation);
    auto violations = test::withEvent(run.audit, "sandbox.violation");
    REQUIRE(violations.size() == 1);
    CHECK(violations[0]["syscall"] == syscall);
    checkContained(dir, run);
  }
}

TEST_CASE("trusted side: /scratch runs out of inodes long before kernel memory matters") {
  test::TempDir dir;
  const std::string workflow =
      dir.write("flood.yaml", test::oneStepWorkflow("inode-flood", "result"));
  const std::string policy = onePluginPolicy(
      dir, "inode-flood", "    filesystem: { scratch_mb: 1 }\n", ", file_size_mb: 1");
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  INFO((run.report.error ? run.report.error->message : ""));
  REQUIRE(run.report.ok());
  const std::string result = test::bytesOf(run.report.outputs.at("result"));
  INFO(result);
  // scratch_mb: 1 allows 256 inodes (one per 4 KiB), the mount's root among them.
  REQUIRE(result.rfind("created ", 0) == 0);
  const long created = std::strtol(result.c_str() + 8, nullptr, 10);
  CHECK(created > 0);
  CHECK(created < 256);
  CHECK(result.find("No space left on device") != std::string::npos);
}

TEST_CASE("trusted side: a weakened sandbox is named danger_ in its policy and its audit") {
  test::TempDir dir;
  const std::string workflow = dir.write("jit.yaml", test::oneStepWorkflow("mprotect-exec"));
  const std::string policy =
      onePluginPolicy(dir, "mprotect-exec", "    danger_w_xor_x_off: true\n");
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  INFO((run.report.error ? run.report.error->message : ""));
  CHECK(test::withEvent(run.audit, "sandbox.violation").empty());  // the mode is in force
  auto starts = test::withEvent(run.audit, "plugin.start");
  REQUIRE(starts.size() == 1);
  CHECK(starts[0]["danger"] == nlohmann::json::array({"danger_w_xor_x_off"}));

  // Without it, the same plugin is stopped, and its start names no danger.
  test::TempDir closed;
  auto stopped = attack(closed, "mprotect-exec");
  CHECK(test::withEvent(stopped.audit, "sandbox.violation").size() == 1);
  auto closedStarts = test::withEvent(stopped.audit, "plugin.start");
  REQUIRE_FALSE(closedStarts.empty());
  CHECK_FALSE(closedStarts[0].contains("danger"));

  // The old spelling is refused with the new one, not quietly honoured.
  const std::string old =
      dir.write("old.yaml", "version: 1\nplugins:\n  mprotect-exec: { w_xor_x: false }\n");
  test::Command refused = test::runCordon("validate " + workflow + " --policy " + old);
  CHECK(refused.exitCode == 2);
  CHECK(refused.output.find("old.yaml:3:29: field 'plugins.mprotect-exec.w_xor_x'") !=
        std::string::npos);
  CHECK(refused.output.find("danger_w_xor_x_off: true") != std::string::npos);
}

namespace {

// A plugin that never returns from execute, with time to spare: only a signal ends its run.
std::string busyWorkflow(const test::TempDir& dir) {
  dir.write("busy-policy.yaml",
            "version: 1\nplugins:\n  endless-loop:\n"
            "    calls: [describe, init, execute, shutdown]\n"
            "    limits: { memory_mb: 128, cpu_seconds: 60, open_files: 32 }\n"
            "    timeout_ms: 60000\n");
  return dir.write("busy.yaml",
                   "name: busy\ninputs:\n  text: { value: \"x\" }\nsteps:\n"
                   "  - { name: spin, plugin: endless-loop, inputs: { text: inputs.text } }\n");
}

// Starts `cordon run` on the busy workflow and waits until its worker spins; returns the
// supervisor's pid and the worker's host pid.
std::pair<pid_t, pid_t> startBusyRun(const test::TempDir& dir) {
  pid_t supervisor =
      test::startCordon("run " + busyWorkflow(dir) + " --policy " + dir.path("busy-policy.yaml") +
                            " --audit-log " + dir.path("audit.jsonl"),
                        dir.path("out.txt"));
  // Up to 10 s for the worker to start and enter execute.
  nlohmann::json start =
      test::waitForRunningStep(dir.path("audit.jsonl"), std::chrono::milliseconds(10000));
  if (start.is_null()) {
    kill(supervisor, SIGKILL);
    waitpid(supervisor, nullptr, 0);
    FAIL("the busy run did not start");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // into plugin code
  return {supervisor, start["pid"].get<pid_t>()};
}

// Gone, or a zombie waiting for a reaper that is not us: either way no code of it runs.
bool processGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z';
}

bool goneWithin(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (processGone(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return processGone(pid);
}

}  // namespace

TEST_CASE("trusted side: SIGTERM and SIGINT cancel a run: workers killed, run.end cancelled") {
  for (const auto& expected : {std::pair{SIGTERM, 143}, std::pair{SIGINT, 130}}) {
    const int signal = expected.first;
    const int code = expected.second;
    INFO("signal " << signal);
    test::TempDir dir;
    auto [supervisor, worker] = startBusyRun(dir);
    REQUIRE(kill(supervisor, signal) == 0);
    int status = 0;
    REQUIRE(waitpid(supervisor, &status, 0) == supervisor);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == code);
    CHECK(goneWithin(worker, std::chrono::milliseconds(2000)));
    auto records = test::readAudit(dir.path("audit.jsonl"));
    auto end = test::withEvent(records, "run.end");
    REQUIRE(end.size() == 1);
    CHECK(end[0]["status"] == "cancelled");
    CHECK(end[0]["error"]["category"] == "cancelled");
    CHECK(test::withEvent(records, "plugin.stop").size() == 1);
    CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());
  }
}

TEST_CASE("trusted side: SIGTERM in the middle of a pool's parallel steps cancels them all") {
  test::TempDir dir;
  dir.write("pool-policy.yaml",
            "version: 1\nplugins:\n  mix:\n    calls: [describe, init, execute, shutdown]\n"
            "    host:\n      read_input: { max_bytes: 65536 }\n"
            "    limits: { memory_mb: 128, cpu_seconds: 120 }\n    timeout_ms: 120000\n"
            "    max_workers: 2\n");
  std::string workflow = "name: pool\ninputs:\n  text: { value: \"x\" }\nsteps:\n";
  for (int i = 0; i < 6; ++i) {
    workflow += "  - { name: s" + std::to_string(i) +
                ", plugin: mix, config: { spin_ms: \"60000\" }, inputs: { a: inputs.text } }\n";
  }
  pid_t supervisor = test::startCordon("run " + dir.write("pool.yaml", workflow) + " --policy " +
                                           dir.path("pool-policy.yaml") + " --jobs 4" +
                                           " --audit-log " + dir.path("audit.jsonl"),
                                       dir.path("out.txt"));
  // Both workers of the pool in a step, with the other four steps waiting for one.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  size_t running = 0;
  while (running < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    running = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "step.start").size();
  }
  if (running < 2) {
    kill(supervisor, SIGKILL);
    waitpid(supervisor, nullptr, 0);
    FAIL("the pool's steps did not start");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // into plugin code
  REQUIRE(kill(supervisor, SIGTERM) == 0);
  int status = 0;
  REQUIRE(waitpid(supervisor, &status, 0) == supervisor);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 143);

  auto records = test::readAudit(dir.path("audit.jsonl"));
  auto starts = test::withEvent(records, "plugin.start");
  CHECK(starts.size() == 2);  // the pool never grew past max_workers
  for (const auto& start : starts) {
    CHECK(goneWithin(start["pid"].get<pid_t>(), std::chrono::milliseconds(2000)));
    size_t stops = 0;
    for (const auto& stop : test::withEvent(records, "plugin.stop"))
      if (stop["pid"] == start["pid"]) ++stops;
    CHECK(stops == 1);  // reaped once, whichever paths saw it go
  }
  // A cancelled worker did nothing wrong: no fault is recorded for it.
  for (const char* fault : {"plugin.crash", "protocol.error", "sandbox.violation", "plugin.timeout",
                            "resource.limit"}) {
    CHECK_MESSAGE(test::withEvent(records, fault).empty(), fault);
  }
  // Every step is accounted for: the two that ran were cancelled, the rest never started.
  auto ends = test::withEvent(records, "step.end");
  CHECK(ends.size() == 2);
  for (const auto& end : ends) CHECK(end["status"] == "cancelled");
  CHECK(test::withEvent(records, "step.skipped").size() == 4);
  auto runEnd = test::withEvent(records, "run.end");
  REQUIRE(runEnd.size() == 1);
  CHECK(runEnd[0]["status"] == "cancelled");
  CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());
}

TEST_CASE(
    "trusted side: a SIGKILLed supervisor leaves no worker running, even one in plugin code") {
  test::TempDir dir;
  auto [supervisor, worker] = startBusyRun(dir);
  REQUIRE_FALSE(processGone(worker));
  REQUIRE(kill(supervisor, SIGKILL) == 0);
  REQUIRE(waitpid(supervisor, nullptr, 0) == supervisor);
  CHECK(goneWithin(worker, std::chrono::milliseconds(2000)));
}

TEST_CASE(
    "trusted side: a full disk under the audit log stops the run cleanly, nothing published") {
  if (geteuid() != 0) {
    MESSAGE("skipped: mounting the small tmpfs needs root (CI runs this as root)");
    return;
  }
  test::TempDir dir;
  const std::string disk = dir.path("disk");
  std::filesystem::create_directories(disk);
  REQUIRE(mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=64k") == 0);
  {
    // Leave about 4 KiB: the run gets a few records in, then the disk is full.
    std::ofstream filler(disk + "/filler", std::ios::binary);
    filler << std::string(size_t{60} * 1024, 'x');
  }
  const std::string outputs = dir.path("outputs");
  test::Command run =
      test::runCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                      " --policy " + test::sourcePath("policies/default.yaml") + " --audit-log " +
                      disk + "/audit.jsonl" + " --output-dir " + outputs);
  INFO(run.output);
  CHECK(run.exitCode == 1);
  CHECK(contains(run.output, "No space left on device"));
  // No output was published, and what the log holds verifies (no torn line).
  CHECK((!std::filesystem::exists(outputs) || std::filesystem::is_empty(outputs)));
  auto scan = scanAuditLog(disk + "/audit.jsonl");
  REQUIRE(scan.ok());
  CHECK(scan.value().defect == AuditDefect::kNone);
  CHECK(scan.value().records > 0);
  CHECK(umount(disk.c_str()) == 0);
}

TEST_CASE("trusted side: a plugin that needs writable code is refused with a load error") {
  test::TempDir dir;
  std::string workflow = dir.write("stack.yaml", test::attackWithSibling("exec-stack"));
  test::Command run = test::runCordon(cliArgs(workflow, dir));
  INFO(run.output);
  CHECK(run.exitCode == 2);
  CHECK(contains(run.output, "the plugin could not be loaded"));
  CHECK(contains(run.output, "executable stack"));
  auto rejected = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "plugin.rejected");
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0]["plugin"] == "exec-stack");
}
