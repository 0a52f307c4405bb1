// The gate's decisions, one by one: every call in either direction is allowed only when the
// policy grants it, budgets are charged per call, and every decision is audited.
#include <doctest/doctest.h>
#include <sys/syscall.h>

#include <cerrno>

#include "gate/gate.h"
#include "policy/policy_learner.h"
#include "policy/policy_parser.h"
#include "run/denial_tally.h"
#include "test_support.h"

using namespace cordon;

namespace {

constexpr uint64_t kNoArgs[6] = {};

struct GateFixture {
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  p:
    calls: [describe, execute]
    host:
      read_input: { max_bytes: 100, max_calls: 3 }
      log: { max_bytes: 10 }
    max_output_bytes: 50
)",
                                                  "policy.yaml"));
  std::unique_ptr<AuditLog> audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream{*audit};
  Gate gate{*policy.forPlugin("p"), stream.events};
  CallScope scope{"p", "step-1", PluginMethod::kExecute};

  std::vector<nlohmann::json> records() const { return test::readAudit(dir.path("audit.jsonl")); }
};

}  // namespace

TEST_CASE_FIXTURE(GateFixture, "supervisor->plugin calls pass only when granted, and are audited") {
  CHECK_FALSE(gate.admitPluginCall(scope, PluginMethod::kExecute).has_value());
  auto denial = gate.admitPluginCall(scope, PluginMethod::kInit);
  REQUIRE(denial.has_value());
  CHECK(denial->category == ErrorCategory::kPolicyDenial);
  CHECK(denial->step == "step-1");
  auto log = records();
  REQUIRE(log.size() == 2);
  CHECK(log[0]["event"] == "gate.allow");
  CHECK(log[0]["method"] == "execute");
  CHECK(log[1]["event"] == "gate.deny");
  CHECK(log[1]["method"] == "init");
  CHECK(log[1]["direction"] == "supervisor->plugin");
  CHECK(log[1]["category"] == "policy_denial");
  CHECK(scope.firstDenial.has_value());
}

TEST_CASE_FIXTURE(GateFixture,
                  "plugin->host calls pass only when granted and while the call is open") {
  CHECK_FALSE(gate.admitHostCall(scope, HostCapability::kReadInput).has_value());
  CHECK_FALSE(gate.admitHostCall(scope, HostCapability::kLog).has_value());
  scope.open = false;  // the execute call returned: its Host capability is dead
  auto late = gate.admitHostCall(scope, HostCapability::kReadInput);
  REQUIRE(late.has_value());
  CHECK(late->category == ErrorCategory::kPolicyDenial);
  CHECK(records().back()["event"] == "gate.deny");
}

TEST_CASE("a capability the policy leaves out is denied") {
  test::TempDir dir;
  Policy policy = parsePolicy(
      YamlDocument::parse("version: 1\nplugins:\n  p: { calls: [execute] }\n", "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  Gate gate(*policy.forPlugin("p"), stream.events);
  CallScope scope{"p", "s", PluginMethod::kExecute};
  auto denial = gate.admitHostCall(scope, HostCapability::kLog);
  REQUIRE(denial.has_value());
  CHECK(denial->message.find("does not grant host capability 'log'") != std::string::npos);
  auto record = test::readAudit(dir.path("audit.jsonl")).back();
  CHECK(record["direction"] == "plugin->host");
  CHECK(record["method"] == "log");
}

TEST_CASE_FIXTURE(GateFixture, "host budgets are charged per call and run out") {
  CHECK_FALSE(gate.chargeHostBudget(scope, HostCapability::kReadInput, 60).has_value());
  auto tooMuch = gate.chargeHostBudget(scope, HostCapability::kReadInput, 41);
  REQUIRE(tooMuch.has_value());
  CHECK(tooMuch->category == ErrorCategory::kResourceLimit);

  CallScope next{"p", "step-2", PluginMethod::kExecute};
  CHECK_FALSE(gate.chargeHostBudget(next, HostCapability::kReadInput, 1).has_value());
  CHECK_FALSE(gate.chargeHostBudget(next, HostCapability::kReadInput, 1).has_value());
  CHECK_FALSE(gate.chargeHostBudget(next, HostCapability::kReadInput, 1).has_value());
  auto fourth = gate.chargeHostBudget(next, HostCapability::kReadInput, 1);
  REQUIRE(fourth.has_value());  // max_calls: 3
  CHECK(fourth->category == ErrorCategory::kResourceLimit);

  CHECK_FALSE(gate.chargeHostBudget(next, HostCapability::kLog, 10).has_value());
  CHECK(gate.chargeHostBudget(next, HostCapability::kLog, 11).has_value());
}

TEST_CASE_FIXTURE(GateFixture, "outputs over max_output_bytes are refused") {
  CHECK_FALSE(gate.admitOutputs(scope, 2, 50).has_value());
  auto big = gate.admitOutputs(scope, 2, 51);
  REQUIRE(big.has_value());
  CHECK(big->category == ErrorCategory::kResourceLimit);
}

TEST_CASE("a plugin without a policy section may not start, and that is audited") {
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse("version: 1\nplugins:\n  known: {}\n", "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  CHECK(admitPlugin(policy, "known", "s", stream.events).ok());
  auto refused = admitPlugin(policy, "stranger", "s", stream.events);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().category == ErrorCategory::kPolicyDenial);
  CHECK(refused.error().step == "s");
  auto log = test::readAudit(dir.path("audit.jsonl"));
  REQUIRE(log.size() == 2);
  CHECK(log[1]["event"] == "gate.deny");
  CHECK(log[1]["plugin"] == "stranger");
}

TEST_CASE_FIXTURE(GateFixture, "a flood of denials in one call is capped in the audit log") {
  DenialTally tally;  // what the run's report counts: every denial, the suppressed ones too
  stream.events.subscribe(tally);
  for (int i = 0; i < 1000; ++i) gate.admitPluginCall(scope, PluginMethod::kInit);
  gate.closeScope(scope);
  // The recorded ones by their method; the suppressed ones under the call's own method, with
  // no direction, as gate.deny_suppressed names them.
  auto counted = tally.counts();
  REQUIRE(counted.size() == 2);
  CHECK(counted[0].direction == "");
  CHECK(counted[0].method == "execute");
  CHECK(counted[0].count == 1000 - Gate::kDenialRecordsPerCall);
  CHECK(counted[1].direction == "supervisor->plugin");
  CHECK(counted[1].method == "init");
  CHECK(counted[1].count == Gate::kDenialRecordsPerCall);
  CHECK(counted[1].category == ErrorCategory::kPolicyDenial);
  for (const DenialCount& denial : counted) CHECK(denial.step == "step-1");
  auto log = records();
  CHECK(test::withEvent(log, "gate.deny").size() == Gate::kDenialRecordsPerCall);
  auto summary = test::withEvent(log, "gate.deny_suppressed");
  REQUIRE(summary.size() == 1);
  CHECK(summary[0]["suppressed"] == 1000 - Gate::kDenialRecordsPerCall);
  CHECK(summary[0]["recorded"] == Gate::kDenialRecordsPerCall);
  CHECK_FALSE(scope.open);
}

TEST_CASE_FIXTURE(GateFixture, "syscalls sent to the supervisor pass only while loading") {
  using Kind = Gate::SyscallDecision::Kind;
  CHECK(gate.admitSyscall(scope, true, SYS_openat, kNoArgs).kind == Kind::kAllow);
  CHECK(gate.admitSyscall(scope, true, SYS_mmap, kNoArgs).kind == Kind::kAllow);
  CHECK(gate.admitSyscall(scope, false, SYS_openat, kNoArgs).kind == Kind::kStopWorker);
  CHECK(gate.admitSyscall(scope, true, SYS_socket, kNoArgs).kind == Kind::kStopWorker);
  CHECK(gate.admitSyscall(scope, true, SYS_execve, kNoArgs).kind == Kind::kStopWorker);
}

TEST_CASE("on_violation errno fails the syscall instead, but never a forbidden one") {
  using Kind = Gate::SyscallDecision::Kind;
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  p: { on_violation: { errno: EACCES } }\n", "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  Gate gate(*policy.forPlugin("p"), stream.events);
  CallScope scope{"p", "s", PluginMethod::kExecute};
  auto socketCall = gate.admitSyscall(scope, false, SYS_socket, kNoArgs);
  CHECK(socketCall.kind == Kind::kFailWithErrno);
  CHECK(socketCall.error == EACCES);
  CHECK(gate.admitSyscall(scope, false, SYS_ptrace, kNoArgs).kind == Kind::kStopWorker);
  CHECK(gate.admitSyscall(scope, false, SYS_execve, kNoArgs).kind == Kind::kStopWorker);
  auto record = test::readAudit(dir.path("audit.jsonl")).back();
  CHECK(record["event"] == "gate.deny");
  CHECK(record["direction"] == "plugin->kernel");
  CHECK(record["method"] == "socket");
  CHECK(record["category"] == "sandbox_violation");
  REQUIRE(scope.firstDenial.has_value());
  CHECK(scope.firstDenial->category == ErrorCategory::kSandboxViolation);
}

TEST_CASE("syscall rules decide by the arguments the kernel saw, first match first") {
  using Kind = Gate::SyscallDecision::Kind;
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  p:
    syscalls:
      - { name: socket, args: [{ index: 0, value: 1 }], action: log }
      - { name: socket, args: [{ index: 0, op: ne, value: 1 }], action: { errno: EAFNOSUPPORT } }
      - { name: kill, action: kill }
      - { name: getcwd, args: [{ index: 1, op: gt, value: 4096 }], action: { errno: EINVAL } }
)",
                                                  "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  Gate gate(*policy.forPlugin("p"), stream.events);
  CallScope scope{"p", "s", PluginMethod::kExecute};
  const uint64_t unixSocket[6] = {1, 1, 0, 0, 0, 0};
  const uint64_t inetSocket[6] = {2, 1, 0, 0, 0, 0};
  const uint64_t smallBuffer[6] = {0, 100, 0, 0, 0, 0};

  CHECK(gate.admitSyscall(scope, false, SYS_socket, unixSocket).kind == Kind::kAllow);
  auto logged = test::readAudit(dir.path("audit.jsonl")).back();
  CHECK(logged["event"] == "gate.allow");
  CHECK(logged["direction"] == "plugin->kernel");
  CHECK(logged["method"] == "socket");
  CHECK(logged["args"] == "0x1,0x1,0x0,0x0,0x0,0x0");  // the one format (docs/audit.md)

  auto inet = gate.admitSyscall(scope, false, SYS_socket, inetSocket);
  CHECK(inet.kind == Kind::kFailWithErrno);
  CHECK(inet.error == EAFNOSUPPORT);
  auto denied = test::readAudit(dir.path("audit.jsonl")).back();
  CHECK(denied["event"] == "gate.deny");
  CHECK(denied["category"] == "sandbox_violation");
  CHECK(denied["reason"].get<std::string>().find("socket(0x2,0x1,0x0,0x0,0x0,0x0)") !=
        std::string::npos);
  CHECK(denied["args"] == "0x2,0x1,0x0,0x0,0x0,0x0");  // the same format as in the reason

  CHECK(gate.admitSyscall(scope, false, SYS_kill, kNoArgs).kind == Kind::kStopWorker);
  // No rule matches: on_violation (kill by default) decides.
  CHECK(gate.admitSyscall(scope, false, SYS_getcwd, smallBuffer).kind == Kind::kStopWorker);
}

TEST_CASE("rate_per_second refuses a burst past the rate and refills with time, across calls") {
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  p:\n    host: { log: { rate_per_second: 3 } }\n", "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  test::AuditedEvents stream(*audit);
  Gate gate(*policy.forPlugin("p"), stream.events, [&now] { return now; });
  CallScope first{"p", "s", PluginMethod::kExecute};
  for (int i = 0; i < 3; ++i) CHECK_FALSE(gate.chargeHostBudget(first, HostCapability::kLog, 1));
  auto refused = gate.chargeHostBudget(first, HostCapability::kLog, 1);
  REQUIRE(refused.has_value());
  CHECK(refused->category == ErrorCategory::kResourceLimit);
  CHECK(refused->message.find("rate_per_second") != std::string::npos);
  // A new call does not reset the bucket: the rate is the worker's.
  CallScope second{"p", "s2", PluginMethod::kExecute};
  CHECK(gate.chargeHostBudget(second, HostCapability::kLog, 1).has_value());
  now += std::chrono::milliseconds(700);  // 2.1 tokens back
  CHECK_FALSE(gate.chargeHostBudget(second, HostCapability::kLog, 1));
  CHECK_FALSE(gate.chargeHostBudget(second, HostCapability::kLog, 1));
  CHECK(gate.chargeHostBudget(second, HostCapability::kLog, 1).has_value());
  now += std::chrono::seconds(60);  // refills to the burst, not beyond
  for (int i = 0; i < 3; ++i) CHECK_FALSE(gate.chargeHostBudget(second, HostCapability::kLog, 1));
  CHECK(gate.chargeHostBudget(second, HostCapability::kLog, 1).has_value());
}

TEST_CASE("learning lets every syscall but the forbidden ones run, recording each once") {
  using Kind = Gate::SyscallDecision::Kind;
  test::TempDir dir;
  Policy policy = learningPolicy();
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  Gate gate(*policy.forPlugin("p"), stream.events);
  CallScope scope{"p", "s", PluginMethod::kExecute};
  CHECK(gate.admitSyscall(scope, false, SYS_socket, kNoArgs).kind == Kind::kAllow);
  CHECK(gate.admitSyscall(scope, false, SYS_socket, kNoArgs).kind == Kind::kAllow);
  CHECK(gate.admitSyscall(scope, false, SYS_ptrace, kNoArgs).kind == Kind::kStopWorker);
  CHECK(gate.admitSyscall(scope, false, SYS_execve, kNoArgs).kind == Kind::kStopWorker);
  auto learned = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "gate.learn");
  REQUIRE(learned.size() == 1);
  CHECK(learned[0]["name"] == "socket");
}

TEST_CASE("read_file paths are admitted only under a granted prefix, whole components only") {
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  p:
    host:
      read_file: { paths: [/srv/data, /etc/hostname] }
)",
                                                  "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  Gate gate(*policy.forPlugin("p"), stream.events);
  CallScope scope{"p", "s", PluginMethod::kExecute};
  auto inside = gate.admitFilePath(scope, "/srv/data/a/b.txt");
  REQUIRE(inside.ok());
  CHECK(inside.value().directory == "/srv/data");
  CHECK(inside.value().relative == "a/b.txt");
  auto file = gate.admitFilePath(scope, "/etc/hostname");
  REQUIRE(file.ok());
  CHECK(file.value().directory == "/etc");
  CHECK(file.value().relative == "hostname");
  for (const char* refused : {"/srv/database/x", "/srv/data/../x", "/srv/data/./x", "/srv//data/x",
                              "srv/data/x", "", "/etc"}) {
    INFO(refused);
    CHECK_FALSE(gate.admitFilePath(scope, refused).ok());
  }
  auto denials = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "gate.deny");
  CHECK(denials.size() == 7);
  CHECK(denials[0]["method"] == "read_file");
}

TEST_CASE("every limit's refusal names the policy field to raise, in the section that set it") {
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  p:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 4, max_calls: 1 }
      log: { max_bytes: 2, rate_per_second: 1 }
    max_output_bytes: 3
default:
  calls: [describe, init, execute, shutdown]
  host: { log: { max_bytes: 2 } }
)",
                                                  "p.yaml"));
  auto audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  test::AuditedEvents stream(*audit);
  auto field = [](const std::optional<Error>& refusal) {
    REQUIRE(refusal.has_value());
    CHECK(refusal->category == ErrorCategory::kResourceLimit);
    const size_t open = refusal->message.rfind('(');
    return refusal->message.substr(open + 1, refusal->message.size() - open - 2);
  };
  Gate gate(*policy.forPlugin("p"), stream.events);
  CallScope scope{"p", "s", PluginMethod::kExecute};
  CHECK(field(gate.chargeHostBudget(scope, HostCapability::kReadInput, 5)) ==
        "plugins.p.host.read_input.max_bytes");
  CHECK(field(gate.chargeHostBudget(scope, HostCapability::kReadInput, 1)) ==
        "plugins.p.host.read_input.max_calls");
  CHECK(field(gate.chargeHostBudget(scope, HostCapability::kLog, 3)) ==
        "plugins.p.host.log.max_bytes");
  CHECK(field(gate.chargeHostBudget(scope, HostCapability::kLog, 1)) ==
        "plugins.p.host.log.rate_per_second");
  CHECK(field(gate.chargeOutputBuffer(scope, 4)) == "plugins.p.max_output_bytes");
  CHECK(field(gate.admitOutputs(scope, 1, 4)) == "plugins.p.max_output_bytes");
  // A plugin governed by the default section is told to raise the default's field.
  Gate fallback(*policy.forPlugin("stranger"), stream.events);
  CallScope other{"stranger", "s", PluginMethod::kExecute};
  CHECK(field(fallback.chargeHostBudget(other, HostCapability::kLog, 3)) ==
        "default.host.log.max_bytes");
}
