// Hostile plugins against the real worker. Each attack must be stopped, reported with the right
// category and the step's name, audited, cost nothing but its own step (an independent sibling
// step in the same workflow still produces its output), and leave this same supervisor able to
// run the next workflow, with the audit chain intact.
#include <doctest/doctest.h>

#include <filesystem>

#include "test_support.h"

using namespace cordon;

namespace {

struct Expected {
  const char* plugin;
  ErrorCategory category;
  const char* auditEvent;   // the record that explains the stop
  const char* auditDetail;  // a field of that record ("syscall" or "signal"), or nullptr
  const char* detailValue;
  const char* messagePart = nullptr;  // text the error's message must contain, if any
};

void attackThenRecover(const Expected& expected) {
  test::TempDir dir;
  const std::string audit = dir.path("audit.jsonl");
  const std::string policy = test::sourcePath("tests/security/hostile-policy.yaml");
  std::string workflow = dir.write("attack.yaml", test::attackWithSibling(expected.plugin));

  auto attack = test::runWorkflow(workflow, policy, audit);
  REQUIRE_FALSE_MESSAGE(attack.report.ok(), "the attack by " << expected.plugin << " succeeded");
  const Error& error = *attack.report.error;
  INFO("error: " << error.describe());
  CHECK(error.category == expected.category);
  CHECK(error.step == "attack");
  if (expected.messagePart != nullptr) {
    CHECK(error.message.find(expected.messagePart) != std::string::npos);
  }
  // The attack cost only its own branch: the independent sibling step ran and is right.
  REQUIRE(attack.report.outputs.count("sibling") == 1);
  CHECK(test::bytesOf(attack.report.outputs.at("sibling")) == "SOME TEXT FOR THE PLUGIN");

  auto explained = test::withEvent(attack.audit, expected.auditEvent);
  REQUIRE_MESSAGE(!explained.empty(), "no '" << expected.auditEvent << "' audit record");
  CHECK(explained[0]["plugin"] == expected.plugin);
  if (expected.auditDetail != nullptr) {
    CHECK(explained[0][expected.auditDetail] == expected.detailValue);
  }
  CHECK(test::withEvent(attack.audit, "run.end").at(0)["status"] == "failed");
  CHECK(test::withEvent(attack.audit, "plugin.stop").size() ==
        2);  // the attacker's and the sibling's

  // The same process, the same audit log: the next workflow runs as if nothing happened.
  auto next = test::runWorkflow(test::sourcePath("examples/text-pipeline/workflow.yaml"),
                                test::sourcePath("policies/default.yaml"), audit);
  std::string nextError = next.report.ok() ? "" : next.report.error->describe();
  CHECK_MESSAGE(next.report.ok(), "the run after the attack failed: " << nextError);
  CHECK(next.report.outputs.size() == 3);
  auto verified = verifyAuditLog(audit);
  std::string why = verified.ok() ? std::string() : verified.error().message;
  CHECK_MESSAGE(verified.ok(), why);
}

}  // namespace

TEST_CASE("hostile: reading /etc/passwd is a sandbox violation") {
  attackThenRecover(
      {"read-passwd", ErrorCategory::kSandboxViolation, "sandbox.violation", "syscall", "openat"});
}

TEST_CASE("hostile: a refused syscall is recorded with what it named, not only a pointer") {
  test::TempDir dir;
  // The path a stopped openat named, read from the blocked worker.
  auto stolen = test::runWorkflow(
      dir.write("passwd.yaml", test::oneStepWorkflow("read-passwd", "x")),
      test::sourcePath("tests/security/hostile-policy.yaml"), dir.path("audit.jsonl"));
  REQUIRE_FALSE(stolen.report.ok());
  auto violation = test::withEvent(stolen.audit, "sandbox.violation");
  REQUIRE(violation.size() == 1);
  CHECK(violation[0]["syscall"] == "openat");
  CHECK(violation[0]["path"] == "/etc/passwd");

  // The address a refused connect named, under a policy that lets the socket be made (logged)
  // and fails everything else outside the allowlist with EPERM.
  std::string policy = dir.write("connect-policy.yaml", R"(version: 1
plugins:
  open-socket:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 128, cpu_seconds: 10, open_files: 32 }
    timeout_ms: 5000
    syscalls:
      - { name: socket, action: log }
    on_violation: { errno: EPERM }
)");
  auto reached =
      test::runWorkflow(dir.write("socket.yaml", test::oneStepWorkflow("open-socket", "x")), policy,
                        dir.path("audit2.jsonl"));
  REQUIRE_FALSE(reached.report.ok());
  bool connectRecorded = false;
  for (const auto& denial : test::withEvent(reached.audit, "gate.deny")) {
    if (denial["method"] != "connect") continue;
    connectRecorded = true;
    CHECK(denial["address"] == "inet 127.0.0.1:80");
    CHECK(denial["direction"] == "plugin->kernel");
  }
  CHECK(connectRecorded);
  auto socketAllowed = test::withEvent(reached.audit, "gate.allow");
  CHECK(std::any_of(socketAllowed.begin(), socketAllowed.end(),
                    [](const nlohmann::json& r) { return r["method"] == "socket"; }));
}

TEST_CASE("hostile: opening a socket is a sandbox violation") {
  attackThenRecover(
      {"open-socket", ErrorCategory::kSandboxViolation, "sandbox.violation", "syscall", "socket"});
}

TEST_CASE("hostile: fork is a sandbox violation even with room for processes") {
  attackThenRecover(
      {"fork-child", ErrorCategory::kSandboxViolation, "sandbox.violation", "syscall", "clone"});
}

TEST_CASE("hostile: execve is a sandbox violation") {
  attackThenRecover(
      {"exec-shell", ErrorCategory::kSandboxViolation, "sandbox.violation", "syscall", "execve"});
}

TEST_CASE("hostile: an endless loop is stopped by the call timeout") {
  attackThenRecover({"endless-loop", ErrorCategory::kTimeout, "plugin.timeout", nullptr, nullptr});
}

TEST_CASE("hostile: a segfault is a crash") {
  attackThenRecover({"segfault", ErrorCategory::kCrash, "plugin.crash", "signal", "SIGSEGV"});
}

TEST_CASE("a plugin whose descriptor speaks another ABI is rejected by the worker") {
  attackThenRecover(
      {"wrong-abi", ErrorCategory::kBadInput, "plugin.rejected", nullptr, nullptr,
       "the plugin could not be loaded: the plugin speaks ABI 2, this worker speaks 1"});
}

TEST_CASE("a shared object without a plugin descriptor is rejected by the worker") {
  attackThenRecover(
      {"no-descriptor", ErrorCategory::kBadInput, "plugin.rejected", nullptr, nullptr,
       "the plugin could not be loaded: the plugin does not export cordon_plugin_v1"});
}

TEST_CASE("hostile: a host capability the policy does not grant is a policy denial") {
  attackThenRecover({"ungranted-log", ErrorCategory::kPolicyDenial, "gate.deny", "method", "log"});
}

TEST_CASE("hostile: exceeding the memory limit is a resource limit") {
  attackThenRecover({"memory-hog", ErrorCategory::kResourceLimit, "resource.limit", "limit",
                     "memory",
                     "bytes failed; plugins.memory-hog.limits.memory_mb)"});  // the field to raise
}

TEST_CASE("hostile: an ELF constructor is already inside the sandbox") {
  attackThenRecover({"constructor-socket", ErrorCategory::kSandboxViolation, "sandbox.violation",
                     "syscall", "socket"});
}

TEST_CASE("hostile: garbage on the RPC socket is a protocol error") {
  attackThenRecover(
      {"rpc-garbage", ErrorCategory::kProtocolError, "protocol.error", nullptr, nullptr});
}

TEST_CASE("hostile: burning CPU past cpu_seconds is a resource limit") {
  attackThenRecover({"cpu-burn", ErrorCategory::kResourceLimit, "resource.limit", "limit", "cpu",
                     "s reached (plugins.cpu-burn.limits.cpu_seconds)"});
}

TEST_CASE("hostile: output over max_output_bytes is refused at the gate") {
  attackThenRecover(
      {"huge-output", ErrorCategory::kResourceLimit, "gate.deny", "method", "execute.outputs"});
}

TEST_CASE("hostile: flooding a host capability is stopped at its budget") {
  attackThenRecover({"log-flood", ErrorCategory::kResourceLimit, "gate.deny", "method", "log"});
}

TEST_CASE("hostile: an RPC message past every bound is a protocol error") {
  attackThenRecover(
      {"oversized-message", ErrorCategory::kProtocolError, "protocol.error", nullptr, nullptr});
}

TEST_CASE("hostile: a forged violation report on stderr is not believed") {
  test::TempDir dir;
  std::string workflow = dir.write("forged.yaml", test::oneStepWorkflow("forged-report", "result"));
  auto run = test::runWorkflow(workflow, test::sourcePath("tests/security/hostile-policy.yaml"),
                               dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "innocent");
  CHECK(test::withEvent(run.audit, "sandbox.violation").empty());
  CHECK(test::withEvent(run.audit, "plugin.stop").at(0)["exit"] == "exit code 0");
}

TEST_CASE("on_violation errno: a refused syscall fails and the plugin carries on, audited") {
  test::TempDir dir;
  std::string workflow = dir.write("probe.yaml", test::oneStepWorkflow("socket-probe", "result"));
  auto run = test::runWorkflow(workflow, test::sourcePath("tests/security/hostile-policy.yaml"),
                               dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "socket refused: errno 1");  // EPERM
  auto denials = test::withEvent(run.audit, "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["direction"] == "plugin->kernel");
  CHECK(denials[0]["method"] == "socket");
  CHECK(test::withEvent(run.audit, "sandbox.violation").empty());
}

TEST_CASE("on_violation errno never covers a forbidden syscall") {
  test::TempDir dir;
  std::string workflow = dir.write("probe.yaml", R"(name: probe-then-ptrace
inputs: { text: { value: "x" } }
steps:
  - name: attack
    plugin: socket-probe
    config: { then: ptrace }
    inputs: { text: inputs.text }
)");
  auto run = test::runWorkflow(workflow, test::sourcePath("tests/security/hostile-policy.yaml"),
                               dir.path("audit.jsonl"));
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kSandboxViolation);
  auto violations = test::withEvent(run.audit, "sandbox.violation");
  REQUIRE(violations.size() == 1);
  CHECK(violations[0]["syscall"] == "ptrace");
}

TEST_CASE("hostile: single-syscall escape attempts are each stopped at their syscall") {
  // plugin (tests/security/plugins/syscall_attempts.c) -> the syscall the sandbox stops it at
  const std::pair<const char*, const char*> attempts[] = {
      {"ptrace-attach", "ptrace"},
      {"kill-others", "kill"},
      {"bpf-load", "bpf"},
      {"io-uring", "io_uring_setup"},
      {"userfaultfd", "userfaultfd"},
      {"perf-event", "perf_event_open"},
      {"keyctl", "add_key"},
      {"mount-tmpfs", "mount"},
      {"unshare-userns", "unshare"},
      {"setns", "setns"},
      {"chroot", "chroot"},
      {"execveat", "execveat"},
      {"thread-bomb", "clone"},  // glibc tries clone3 (ENOSYS), then clone
      {"tiocsti", "ioctl"},
      {"proc-self-mem", "openat"},
      {"dotdot-shadow", "openat"},
      {"proc-one-root", "openat"},
      {"write-file", "openat"},
      {"symlink", "symlink"},
      {"mprotect-exec", "mprotect"},
      {"mmap-exec", "mmap"},
      {"memfd-exec", "memfd_create"},
      {"unix-socket", "socket"},
      {"netlink-socket", "socket"},
      {"packet-socket", "socket"},
      {"inet6-socket", "socket"},
      {"socketpair", "socketpair"},
      {"fd-exhaustion", "dup"},
      {"process-vm-read", "process_vm_readv"},
      {"seccomp-escape", "seccomp"},
      {"open-by-handle", "open_by_handle_at"},
      {"personality", "personality"},
      {"prctl-dumpable", "prctl"},
  };
  for (const auto& [plugin, syscall] : attempts) {
    SUBCASE(plugin) {
      attackThenRecover({plugin, ErrorCategory::kSandboxViolation, "sandbox.violation",
                         syscall == nullptr ? nullptr : "syscall", syscall});
    }
  }
}

TEST_CASE("a syscall rule answers by the arguments: AF_INET gets an errno, audited with them") {
  test::TempDir dir;
  std::string policy = dir.write("policy.yaml", R"(version: 1
profiles:
  benign:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 128, cpu_seconds: 10, open_files: 32 }
    timeout_ms: 5000
plugins:
  socket-probe:
    extends: benign
    syscalls:
      - { name: socket, args: [{ index: 0, op: eq, value: 2 }], action: { errno: EAFNOSUPPORT } }
)");
  std::string workflow = dir.write("probe.yaml", test::oneStepWorkflow("socket-probe", "result"));
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) ==
        "socket refused: errno 97");  // EAFNOSUPPORT
  auto denials = test::withEvent(run.audit, "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["direction"] == "plugin->kernel");
  CHECK(denials[0]["method"] == "socket");
  CHECK(denials[0]["reason"].get<std::string>().find("socket(0x2,0x1,0x0") != std::string::npos);
  CHECK(denials[0]["args"].get<std::string>().rfind("0x2,0x1,0x0,", 0) == 0);

  // The same plugin under a rule that covers only AF_UNIX: AF_INET matches no rule, and the
  // default on_violation (kill) stops the worker with the syscall named.
  std::string strict = dir.write("strict.yaml", R"(version: 1
plugins:
  socket-probe:
    calls: [describe, init, execute, shutdown]
    syscalls:
      - { name: socket, args: [{ index: 0, op: eq, value: 1 }], action: log }
)");
  auto stopped = test::runWorkflow(workflow, strict, dir.path("audit2.jsonl"));
  REQUIRE_FALSE(stopped.report.ok());
  CHECK(stopped.report.error->category == ErrorCategory::kSandboxViolation);
  CHECK(test::withEvent(stopped.audit, "sandbox.violation").at(0)["syscall"] == "socket");
}

TEST_CASE("a plugin under an imported OCI profile gets that profile's answers") {
  test::TempDir dir;
  std::string policy =
      dir.write("policy.yaml",
                "version: 1\nprofiles:\n  docker: { danger_oci_seccomp: " +
                    test::sourcePath("tests/fixtures/oci/profile.json") +
                    " }\nplugins:\n  socket-probe:\n    extends: docker\n    calls: [describe, "
                    "init, execute, shutdown]\n");
  std::string workflow = dir.write("probe.yaml", test::oneStepWorkflow("socket-probe", "result"));
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  // The profile's rule for AF_INET (errnoRet 97), not its default (EPERM).
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "socket refused: errno 97");
  CHECK(test::withEvent(run.audit, "gate.deny").at(0)["method"] == "socket");
}

TEST_CASE("hostile: flooding a host capability is stopped at its rate, the gate.deny says so") {
  test::TempDir dir;
  std::string policy = dir.write("policy.yaml", R"(version: 1
plugins:
  log-flood:
    calls: [describe, init, execute, shutdown]
    host:
      log: { max_bytes: 64, rate_per_second: 50 }
    # 20000 round trips cost the worker seconds of CPU on a slow build (ASan, coverage): the
    # rate, not the default 10 s CPU limit, must be what stops the flood here.
    limits: { cpu_seconds: 300 }
    timeout_ms: 300000
)");
  std::string workflow = dir.write("flood.yaml", test::oneStepWorkflow("log-flood"));
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kResourceLimit);
  auto denials = test::withEvent(run.audit, "gate.deny");
  REQUIRE_FALSE(denials.empty());
  CHECK(denials[0]["reason"].get<std::string>().find("rate_per_second") != std::string::npos);
  CHECK(run.report.error->message.find("rate_per_second") != std::string::npos);
  // 20000 calls in a few seconds at most: a few hundred passed, the rest were refused (recorded
  // up to the per-call cap, then summarised).
  auto summary = test::withEvent(run.audit, "gate.deny_suppressed");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0]["suppressed"].get<uint64_t>() > 15000);
}

namespace {

std::string restartPolicy(test::TempDir& dir, const std::string& onFailure) {
  std::filesystem::create_directories(dir.path("marks"));
  return dir.write("policy.yaml", R"(version: 1
profiles:
  benign:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 128, cpu_seconds: 10, open_files: 32, file_size_mb: 1 }
    timeout_ms: 5000
plugins:
  flaky:
    extends: benign
    filesystem: { read_write: [)" + dir.path("marks") +
                                      R"(] }
    on_failure: )" + onFailure + R"(
  segfault:
    extends: benign
    on_failure: )" + onFailure + "\n");
}

std::string flakyWorkflow(test::TempDir& dir) {
  return dir.write("flaky.yaml",
                   "name: flaky\nsteps:\n  - name: flaky\n    plugin: flaky\n"
                   "    config: { marker: \"" +
                       dir.path("marks/crashed") + "\" }\noutputs:\n  result: flaky.result\n");
}

}  // namespace

TEST_CASE(
    "on_failure restart: a crashed worker is restarted after its backoff and the step "
    "recovers") {
  test::TempDir dir;
  auto run =
      test::runWorkflow(flakyWorkflow(dir), restartPolicy(dir, "{ restart: 2, backoff_ms: 50 }"),
                        dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "recovered");
  auto restarts = test::withEvent(run.audit, "plugin.restart");
  REQUIRE(restarts.size() == 1);
  CHECK(restarts[0]["plugin"] == "flaky");
  CHECK(restarts[0]["restart"] == 1);
  CHECK(restarts[0]["backoff_ms"] == 50);
  CHECK(restarts[0]["error"]["category"] == "crash");
  CHECK(test::withEvent(run.audit, "plugin.start").size() == 2);
}

TEST_CASE("on_failure defaults to fail: the same crash fails the step") {
  test::TempDir dir;
  auto run =
      test::runWorkflow(flakyWorkflow(dir), restartPolicy(dir, "fail"), dir.path("audit.jsonl"));
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kCrash);
  CHECK(test::withEvent(run.audit, "plugin.restart").empty());
}

TEST_CASE("on_failure restart is capped; backoff doubles; then the step fails") {
  test::TempDir dir;
  std::string workflow = dir.write("crash.yaml", test::oneStepWorkflow("segfault"));
  auto run = test::runWorkflow(workflow, restartPolicy(dir, "{ restart: 3, backoff_ms: 10 }"),
                               dir.path("audit.jsonl"));
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kCrash);
  auto restarts = test::withEvent(run.audit, "plugin.restart");
  REQUIRE(restarts.size() == 3);
  CHECK(restarts[0]["backoff_ms"] == 10);
  CHECK(restarts[1]["backoff_ms"] == 20);
  CHECK(restarts[2]["backoff_ms"] == 40);
  CHECK(test::withEvent(run.audit, "plugin.restart_exhausted").size() == 1);
  CHECK(test::withEvent(run.audit, "plugin.start").size() == 4);
}

TEST_CASE("hostile: calling a capability the plugin invented is a protocol error") {
  attackThenRecover(
      {"forge-capability", ErrorCategory::kProtocolError, "protocol.error", nullptr, nullptr});
}
