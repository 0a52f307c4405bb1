// Policy files: parsing, closed defaults, and errors that name file:line:field.
#include <doctest/doctest.h>

#include <cerrno>

#include "policy/oci_profile.h"
#include "policy/policy_learner.h"
#include "policy/policy_lint.h"
#include "policy/policy_parser.h"
#include "test_support.h"

using namespace cordon;

namespace {

Policy parsePolicy(const std::string& text) {
  return parsePolicy(YamlDocument::parse(text, "policy.yaml"));
}

std::string policyParseError(const std::string& text) {
  try {
    parsePolicy(text);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("the policy was accepted");
  return "";
}

}  // namespace

TEST_CASE("a policy section grants exactly what it lists") {
  Policy policy = parsePolicy(R"(version: 1
plugins:
  reader:
    calls: [describe, execute]
    host:
      read_input: { max_bytes: 4096, max_calls: 8 }
    syscalls: [sleep]
    limits: { memory_mb: 64, cpu_seconds: 3, open_files: 16 }
    timeout_ms: 250
    max_output_bytes: 100
)");
  const PluginPolicy* reader = policy.forPlugin("reader");
  REQUIRE(reader != nullptr);
  CHECK(reader->allows(PluginMethod::kExecute));
  CHECK_FALSE(reader->allows(PluginMethod::kInit));
  CHECK(reader->grant(HostCapability::kLog) == nullptr);
  REQUIRE(reader->grant(HostCapability::kReadInput) != nullptr);
  CHECK(reader->grant(HostCapability::kReadInput)->maxBytes == 4096);
  CHECK(reader->grant(HostCapability::kReadInput)->maxCalls == 8);
  CHECK(reader->syscalls.count("nanosleep") == 1);
  CHECK(reader->limits.memoryBytes == 64ull << 20);
  CHECK(reader->limits.cpuSeconds == 3);
  CHECK(reader->callTimeout.count() == 250);
  CHECK(reader->maxOutputBytes == 100);
}

TEST_CASE("what a policy does not mention is denied") {
  Policy policy = parsePolicy("version: 1\nplugins:\n  quiet: {}\n");
  const PluginPolicy* quiet = policy.forPlugin("quiet");
  REQUIRE(quiet != nullptr);
  CHECK_FALSE(quiet->allows(PluginMethod::kDescribe));
  CHECK_FALSE(quiet->allows(PluginMethod::kExecute));
  CHECK(quiet->grant(HostCapability::kLog) == nullptr);
  CHECK(quiet->grant(HostCapability::kReadInput) == nullptr);
  CHECK(quiet->syscalls.empty());
  CHECK(policy.forPlugin("stranger") == nullptr);  // no section and no default: may not run
}

TEST_CASE("a default section governs plugins without their own") {
  Policy policy = parsePolicy("version: 1\ndefault:\n  calls: [execute]\nplugins:\n  a: {}\n");
  REQUIRE(policy.forPlugin("stranger") != nullptr);
  CHECK(policy.forPlugin("stranger")->allows(PluginMethod::kExecute));
  CHECK_FALSE(policy.forPlugin("a")->allows(PluginMethod::kExecute));
}

TEST_CASE("policy errors name the file, the line and the field") {
  SUBCASE("an unknown host capability") {
    std::string e = policyParseError("version: 1\nplugins:\n  p:\n    host:\n      network: {}\n");
    CHECK(e.find("policy.yaml:") != std::string::npos);
    CHECK(e.find("plugins.p.host") != std::string::npos);
    CHECK(e.find("network") != std::string::npos);
  }
  SUBCASE("a misspelt key is not silently ignored") {
    std::string e = policyParseError("version: 1\nplugins:\n  p:\n    timout_ms: 5\n");
    CHECK(e.find("policy.yaml:4") != std::string::npos);
    CHECK(e.find("timout_ms") != std::string::npos);
  }
  SUBCASE("an unknown method") {
    std::string e =
        policyParseError("version: 1\nplugins:\n  p:\n    calls: [describe, destroy]\n");
    CHECK(e.find("plugins.p.calls[1]") != std::string::npos);
  }
  SUBCASE("a syscall that is forbidden whatever the policy says") {
    std::string e = policyParseError("version: 1\nplugins:\n  p:\n    syscalls: [ptrace]\n");
    CHECK(e.find("policy.yaml:4") != std::string::npos);
    CHECK(e.find("ptrace") != std::string::npos);
  }
  SUBCASE("a syscall name that does not exist") {
    std::string e = policyParseError("version: 1\nplugins:\n  p:\n    syscalls: [not_a_syscall]\n");
    CHECK(e.find("not_a_syscall") != std::string::npos);
  }
  SUBCASE("a limit out of range") {
    std::string e = policyParseError("version: 1\nplugins:\n  p:\n    limits: { memory_mb: 1 }\n");
    CHECK(e.find("policy.yaml:4") != std::string::npos);
    CHECK(e.find("plugins.p.limits.memory_mb") != std::string::npos);
  }
  SUBCASE("a negative timeout") {
    std::string e = policyParseError("version: 1\nplugins:\n  p:\n    timeout_ms: -5\n");
    CHECK(e.find("plugins.p.timeout_ms") != std::string::npos);
  }
  SUBCASE("a missing or wrong version") {
    CHECK(policyParseError("plugins: {}\n").find("version") != std::string::npos);
    CHECK(policyParseError("version: 2\nplugins: {}\n").find("version") != std::string::npos);
  }
}

TEST_CASE("on_violation is kill by default, or an errno by name") {
  CHECK_FALSE(
      parsePolicy("version: 1\nplugins:\n  p: {}\n").forPlugin("p")->violationErrno.has_value());
  CHECK_FALSE(parsePolicy("version: 1\nplugins:\n  p: { on_violation: kill }\n")
                  .forPlugin("p")
                  ->violationErrno.has_value());
  auto errnoPolicy =
      parsePolicy("version: 1\nplugins:\n  p:\n    on_violation: { errno: EPERM }\n");
  CHECK(errnoPolicy.forPlugin("p")->violationErrno == std::optional<int>(EPERM));
  std::string e =
      policyParseError("version: 1\nplugins:\n  p:\n    on_violation: { errno: EWHAT }\n");
  CHECK(e.find("policy.yaml:4") != std::string::npos);
  CHECK(e.find("plugins.p.on_violation.errno") != std::string::npos);
  CHECK(policyParseError("version: 1\nplugins:\n  p: { on_violation: shrug }\n")
            .find("on_violation") != std::string::npos);
}

TEST_CASE("filesystem grants are absolute, plain and away from the kernel's interfaces") {
  auto granted =
      parsePolicy("version: 1\nplugins:\n  p:\n    filesystem: { read_only: [/usr/share] }\n");
  CHECK(granted.forPlugin("p")->readOnlyPaths == std::vector<std::string>{"/usr/share"});
  CHECK(granted.forPlugin("p")->syscalls.count("openat") == 1);  // reading needs it
  for (const char* bad :
       {"relative/path", "/", "/usr/../etc", "/proc/self", "/sys", "/dev/mem", "/plugin/x"}) {
    INFO(bad);
    std::string e = policyParseError(std::string("version: 1\nplugins:\n  p:\n    filesystem:\n") +
                                     "      read_only: [" + bad + "]\n");
    CHECK(e.find("policy.yaml:5") != std::string::npos);
    CHECK(e.find("plugins.p.filesystem.read_only[0]") != std::string::npos);
  }
}

TEST_CASE("signature rules are closed by default, explicit to open, and lint warns about each") {
  Policy closed =
      parsePolicy("version: 1\nplugins:\n  a: { calls: [describe, init, execute, shutdown] }\n");
  const SignatureRules& rules = closed.forPlugin("a")->signature;
  CHECK(rules.required);
  CHECK_FALSE(rules.allowLegacy);
  CHECK_FALSE(rules.allowRollback);
  CHECK(lintPolicy(closed).empty());

  Policy open = parsePolicy(
      "version: 1\nplugins:\n  a:\n    signature: { required: false, allow_legacy: true, "
      "allow_rollback: true }\n    calls: [describe, init, execute, shutdown]\n");
  const SignatureRules& opened = open.forPlugin("a")->signature;
  CHECK_FALSE(opened.required);
  CHECK(opened.allowLegacy);
  CHECK(opened.allowRollback);
  auto findings = lintPolicy(open);
  REQUIRE(findings.size() == 3);
  for (const auto& finding : findings) {
    CHECK(finding.field == "plugins.a.signature");
    CHECK(finding.line == 4);
  }
  CHECK(policyParseError("version: 1\nplugins:\n  a:\n    signature: { required: maybe }\n") ==
        "policy.yaml:4:28: field 'plugins.a.signature.required': must be true or false");
  CHECK(policyParseError("version: 1\nplugins:\n  a:\n    signature: { trusted: true }\n")
            .find("trusted") != std::string::npos);
}

TEST_CASE("a section extends a profile: grants add up, scalars and limits are overridden") {
  Policy policy = parsePolicy(R"(version: 1
profiles:
  reader:
    extends: base
    host: { read_input: { max_bytes: 100 } }
    syscalls: [sleep]
  base:
    calls: [describe, execute]
    limits: { memory_mb: 64, cpu_seconds: 3 }
    timeout_ms: 100
plugins:
  p:
    extends: reader
    calls: [init]
    syscalls: [identity]
    limits: { cpu_seconds: 7 }
)");
  const PluginPolicy& p = *policy.forPlugin("p");
  CHECK(p.name == "p");
  CHECK(p.extends == "reader");
  CHECK(p.calls == std::set<PluginMethod>{PluginMethod::kDescribe, PluginMethod::kInit,
                                          PluginMethod::kExecute});
  REQUIRE(p.grant(HostCapability::kReadInput) != nullptr);
  CHECK(p.grant(HostCapability::kReadInput)->maxBytes == 100);
  CHECK(p.syscalls.count("nanosleep") == 1);
  CHECK(p.syscalls.count("getuid") == 1);
  CHECK(p.limits.memoryBytes == 64ull << 20);
  CHECK(p.limits.cpuSeconds == 7);
  CHECK(p.callTimeout == std::chrono::milliseconds(100));
  CHECK(policy.profiles.size() == 2);
  // A profile is not a section: a plugin named like one still has none.
  CHECK(policy.forPlugin("reader") == nullptr);
}

TEST_CASE("extends names a profile that exists and does not loop") {
  CHECK(policyParseError("version: 1\nplugins:\n  p: { extends: nope }\n") ==
        "policy.yaml:3:17: field 'plugins.p.extends': no profile named 'nope'");
  CHECK(policyParseError("version: 1\nprofiles:\n  a: { extends: b }\n  b: { extends: a }\n")
            .find("extends itself") != std::string::npos);
}

TEST_CASE("syscall rules carry argument conditions and actions") {
  Policy policy = parsePolicy(R"(version: 1
plugins:
  p:
    syscalls:
      - sleep
      - { name: getcwd }
      - name: socket
        args: [{ index: 0, op: eq, value: 1 }, { index: 1, op: masked_eq, mask: 0xf, value: 1 }]
      - { name: kill, action: { errno: EPERM } }
      - { name: tgkill, action: log }
)");
  const PluginPolicy& p = *policy.forPlugin("p");
  CHECK(p.syscalls.count("getcwd") == 1);  // no conditions, allow: a plain grant
  REQUIRE(p.syscallRules.size() == 3);
  CHECK(p.syscallRules[0].name == "socket");
  CHECK(p.syscallRules[0].action == SyscallRule::Action::kAllow);
  REQUIRE(p.syscallRules[0].conditions.size() == 2);
  CHECK(p.syscallRules[0].conditions[1].op == ArgCondition::Op::kMaskedEq);
  CHECK(p.syscallRules[0].conditions[1].mask == 0xf);
  const uint64_t stream[6] = {1, 0x80001, 0, 0, 0, 0};
  const uint64_t datagram[6] = {1, 2, 0, 0, 0, 0};
  CHECK(p.syscallRules[0].matches(stream));
  CHECK_FALSE(p.syscallRules[0].matches(datagram));
  CHECK(p.syscallRules[1].action == SyscallRule::Action::kErrno);
  CHECK(p.syscallRules[1].error == EPERM);
  CHECK(p.syscallRules[2].action == SyscallRule::Action::kLog);
  CHECK(p.syscallRules[2].line == 10);

  CHECK(policyParseError(
            "version: 1\nplugins:\n  p:\n    syscalls: [{ name: ptrace, action: log }]\n") ==
        "policy.yaml:4:24: field 'plugins.p.syscalls[0].name': 'ptrace' may not be granted to a "
        "plugin");
  CHECK(policyParseError("version: 1\nplugins:\n  p:\n    syscalls: [{ name: mmap }]\n")
            .find("governed by w_xor_x") != std::string::npos);
  CHECK(policyParseError(
            "version: 1\nplugins:\n  p:\n    syscalls:\n      - { name: socket, args: [{ "
            "index: 6, value: 1 }] }\n")
            .find("syscalls[0].args[0].index") != std::string::npos);
  CHECK(policyParseError(
            "version: 1\nplugins:\n  p:\n    syscalls:\n      - { name: socket, args: [{ "
            "index: 0, value: -1 }] }\n")
            .find("not an unsigned 64-bit number") != std::string::npos);
  CHECK(policyParseError(
            "version: 1\nplugins:\n  p:\n    syscalls:\n      - { name: socket, args: [{ "
            "index: 0, op: ge, value: 1 }, { index: 0, op: le, value: 2 }] }\n")
            .find("argument 0 is already compared in this rule") != std::string::npos);
  CHECK(policyParseError(
            "version: 1\nplugins:\n  p:\n    syscalls: [{ name: socket, action: maybe }]\n")
            .find("must be allow, kill, log or { errno: NAME }") != std::string::npos);
}

TEST_CASE("lint names a section that lacks a method every run calls, and one without shutdown") {
  Policy policy = parsePolicy(R"(version: 1
plugins:
  a:
    calls: [describe, execute]
  b:
    calls: [describe, init, execute]
  c:
    calls: [describe, init, execute, shutdown]
)");
  CHECK(policy.forPlugin("a")->missingRunCalls() == std::vector<PluginMethod>{PluginMethod::kInit});
  CHECK(policy.forPlugin("b")->missingRunCalls().empty());
  auto findings = lintPolicy(policy);
  REQUIRE(findings.size() == 2);
  CHECK(findings[0].field == "plugins.a.calls");
  CHECK(findings[0].line == 4);
  CHECK(findings[0].message.find("lacks 'init', which every run calls") == 0);
  CHECK(findings[1].field == "plugins.b.calls");
  CHECK(findings[1].message.find("lacks 'shutdown'") == 0);
  Policy none = parsePolicy("version: 1\nplugins:\n  d: {}\n");
  CHECK(none.forPlugin("d")->missingRunCallsText().find("lacks 'describe', 'init' and 'execute'") ==
        0);
}

TEST_CASE(
    "lint warns about rules that let a syscall run and about W^X off, not about errno rules") {
  Policy policy = parsePolicy(R"(version: 1
plugins:
  a:
    syscalls:
      - { name: socket, args: [{ index: 0, value: 1 }] }
      - { name: kill, action: { errno: EPERM } }
    danger_w_xor_x_off: true
    calls: [describe, init, execute, shutdown]
)");
  CHECK(policy.forPlugin("a")->dangerWXorXOff);
  auto findings = lintPolicy(policy);
  REQUIRE(findings.size() == 3);
  CHECK(findings[0].field == "plugins.a.syscalls");
  CHECK(findings[0].message.find("'socket'") != std::string::npos);
  CHECK(findings[1].message.find("network:") == 0);
  CHECK(findings[2].field == "plugins.a.danger_w_xor_x_off");
  CHECK(findings[2].line == 7);
}

TEST_CASE(
    "an OCI seccomp profile imports as syscalls, rules and on_violation, minus what never runs") {
  OciImport import = importOciProfile(test::sourcePath("tests/fixtures/oci/profile.json"));
  CHECK(import.violationErrno == std::optional<int>(EPERM));
  CHECK(import.syscalls ==
        std::set<std::string>{"getcwd", "nanosleep", "read", "sysinfo", "uname", "write"});
  REQUIRE(import.rules.size() == 5);
  CHECK(import.rules[0].name == "socket");
  CHECK(import.rules[0].action == SyscallRule::Action::kAllow);
  CHECK(import.rules[1].action == SyscallRule::Action::kErrno);
  CHECK(import.rules[1].error == 97);
  CHECK(import.rules[2].name == "personality");
  CHECK(import.rules[2].conditions.at(0).op == ArgCondition::Op::kMaskedEq);
  CHECK(import.rules[2].conditions.at(0).mask == 0xffff0000);  // OCI: (arg & value) == valueTwo
  CHECK(import.rules[2].conditions.at(0).value == 0);
  CHECK(import.rules[3].action == SyscallRule::Action::kLog);
  CHECK(import.rules[4].action == SyscallRule::Action::kKill);
  std::string skipped;
  for (const auto& line : import.skipped) skipped += line + "\n";
  INFO(skipped);
  CHECK(import.skipped.size() == 10);
  for (const char* expected :
       {"chown32: not a syscall on this architecture", "execve: forbidden to every plugin",
        "ptrace: forbidden to every plugin", "mmap: governed by w_xor_x",
        "no_such_syscall: unknown to this libseccomp", "getppid: SCMP_ACT_TRACE",
        "s390_runtime_instr: for another architecture",
        "open_by_handle_at: only with CAP_DAC_READ_SEARCH", "getrusage: only from kernel 99.0",
        "times: excluded on this architecture"}) {
    CHECK_MESSAGE(skipped.find(expected) != std::string::npos, expected);
  }

  // The printed profile is a policy that reads back to the same grants.
  test::TempDir dir;
  Policy reread =
      loadPolicy(dir.write("imported.yaml", ociImportAsPolicy(import, "docker") +
                                                "plugins:\n  p: { extends: docker }\n"));
  const PluginPolicy& p = *reread.forPlugin("p");
  CHECK(p.syscalls == import.syscalls);
  CHECK(p.syscallRules.size() == import.rules.size());
  CHECK(p.syscallRules[1].error == 97);
  CHECK(p.syscallRules[2].conditions.at(0).mask == 0xffff0000);
  CHECK(p.violationErrno == std::optional<int>(EPERM));
}

TEST_CASE("danger_oci_seccomp in a policy imports the profile, relative to the policy file") {
  test::TempDir dir;
  std::string json = test::sourcePath("tests/fixtures/oci/profile.json");
  Policy policy = loadPolicy(
      dir.write("p.yaml", "version: 1\nprofiles:\n  docker: { danger_oci_seccomp: " + json +
                              " }\nplugins:\n  p:\n    extends: docker\n"
                              "    on_violation: kill\n"));
  const PluginPolicy& p = *policy.forPlugin("p");
  CHECK(p.syscalls.count("getcwd") == 1);
  CHECK(p.syscallRules.size() == 5);
  CHECK_FALSE(p.violationErrno.has_value());  // the section's own on_violation wins
  auto findings = lintPolicy(policy);
  bool warned = false;
  for (const auto& finding : findings) warned |= finding.field == "plugins.p.danger_oci_seccomp";
  CHECK(warned);

  dir.write("allow.json", R"({ "defaultAction": "SCMP_ACT_ALLOW" })");
  std::string error;
  try {
    loadPolicy(
        dir.write("q.yaml", "version: 1\nplugins:\n  p: { danger_oci_seccomp: allow.json }\n"));
  } catch (const InputError& e) {
    error = e.what();
  }
  CHECK(error.find("q.yaml:3:28: field 'plugins.p.danger_oci_seccomp'") != std::string::npos);
  CHECK(error.find("field 'defaultAction'") != std::string::npos);
  CHECK(error.find("deny by default") != std::string::npos);
  CHECK_THROWS_AS(
      parseOciProfile("{ \"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{ \"names\": "
                      "[\"read\"], \"action\": \"SCMP_ACT_BOGUS\" }] }",
                      "x.json"),
      InputError);
  CHECK_THROWS_AS(parseOciProfile("{ not json", "x.json"), InputError);
  CHECK_THROWS_AS(parseOciProfile("{ \"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{ "
                                  "\"architecture\": \"SCMP_ARCH_S390X\" }] }",
                                  "x.json"),
                  InputError);
}

TEST_CASE("filesystem: read_write, scratch_mb, proc and devices; writes need file_size_mb") {
  Policy policy = parsePolicy(R"(version: 1
plugins:
  p:
    limits: { file_size_mb: 8 }
    filesystem: { read_write: [/srv/out], scratch_mb: 16, proc: true, devices: true }
    calls: [describe, init, execute, shutdown]
)");
  const PluginPolicy& p = *policy.forPlugin("p");
  CHECK(p.readWritePaths == std::vector<std::string>{"/srv/out"});
  CHECK(p.scratchBytes == 16ull << 20);
  CHECK(p.mountProc);
  CHECK(p.devices);
  CHECK(p.syscalls.count("openat") == 1);
  CHECK(p.syscalls.count("unlinkat") == 1);
  auto findings = lintPolicy(policy);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].message.find("read_write '/srv/out'") != std::string::npos);

  CHECK(policyParseError("version: 1\nplugins:\n  p:\n    filesystem: { scratch_mb: 1 }\n")
            .find("limits.file_size_mb is 0") != std::string::npos);
  CHECK(
      policyParseError("version: 1\nplugins:\n  p:\n    filesystem: { read_write: [/scratch/x] }\n")
          .find("may not reach into /scratch") != std::string::npos);
  // Only reading: no write syscalls.
  CHECK(parsePolicy("version: 1\nplugins:\n  p: { filesystem: { proc: true } }\n")
            .forPlugin("p")
            ->syscalls.count("unlinkat") == 0);
}

TEST_CASE("on_failure: fail by default, or a capped restart with doubling backoff") {
  CHECK(parsePolicy("version: 1\nplugins:\n  p: {}\n").forPlugin("p")->onFailure.restarts == 0);
  const FailurePolicy restart =
      parsePolicy("version: 1\nplugins:\n  p: { on_failure: { restart: 3, backoff_ms: 250 } }\n")
          .forPlugin("p")
          ->onFailure;
  CHECK(restart.restarts == 3);
  CHECK(restart.delayBefore(1) == std::chrono::milliseconds(250));
  CHECK(restart.delayBefore(3) == std::chrono::milliseconds(1000));
  const FailurePolicy slow =
      parsePolicy("version: 1\nplugins:\n  p: { on_failure: { restart: 10, backoff_ms: 60000 } }\n")
          .forPlugin("p")
          ->onFailure;
  CHECK(slow.delayBefore(10) == FailurePolicy::kMaxBackoff);
  CHECK(policyParseError("version: 1\nplugins:\n  p: { on_failure: { restart: 11 } }\n")
            .find("on_failure.restart") != std::string::npos);
  CHECK(policyParseError("version: 1\nplugins:\n  p: { on_failure: retry }\n")
            .find("must be 'fail' or { restart: N, backoff_ms: M }") != std::string::npos);
}

TEST_CASE("the learner turns a learning run's records into a policy with headroom") {
  PolicyLearner learner;
  auto record = [&](const nlohmann::json& r) { learner.observeRecord(r); };
  record({{"event", "gate.allow"},
          {"plugin", "p"},
          {"direction", "supervisor->plugin"},
          {"method", "describe"}});
  record({{"event", "gate.allow"},
          {"plugin", "p"},
          {"direction", "supervisor->plugin"},
          {"method", "execute"}});
  record({{"event", "gate.allow"},
          {"plugin", "p"},
          {"direction", "supervisor->plugin"},
          {"method", "start"}});
  record({{"event", "gate.learn"}, {"plugin", "p"}, {"kind", "syscall"}, {"name", "getcwd"}});
  record({{"event", "gate.learn"}, {"plugin", "p"}, {"kind", "syscall"}, {"name", "read"}});
  record({{"event", "gate.learn"},
          {"plugin", "p"},
          {"kind", "host"},
          {"usage", {{"log", {{"calls", 3}, {"bytes", 90}, {"largest_bytes", 600}}}}}});
  record({{"event", "plugin.stop"}, {"plugin", "p"}, {"max_rss_kib", 10240}, {"cpu_seconds", 1.2}});
  record({{"event", "step.end"}, {"plugin", "p"}, {"ms", 400.0}});
  learner.observeOutputs("p", 5000);
  std::string yaml = learner.policyYaml("flow.yaml", "0123");
  INFO(yaml);
  Policy policy = parsePolicy(YamlDocument::parse(yaml, "learned.yaml"));
  const PluginPolicy& p = *policy.forPlugin("p");
  CHECK(p.calls == std::set<PluginMethod>{PluginMethod::kDescribe, PluginMethod::kExecute});
  CHECK(p.syscalls == std::set<std::string>{"getcwd"});  // read is in the runtime set anyway
  REQUIRE(p.grant(HostCapability::kLog) != nullptr);
  CHECK(p.grant(HostCapability::kLog)->maxBytes == 1200);
  CHECK(p.grant(HostCapability::kLog)->maxCalls == 6);
  CHECK(p.grant(HostCapability::kReadInput) == nullptr);
  CHECK(p.limits.memoryBytes == (20ull + 64) << 20);
  CHECK(p.limits.cpuSeconds == 4);
  CHECK(p.callTimeout == std::chrono::milliseconds(1800));
  CHECK(p.maxOutputBytes == 10000);
  CHECK_FALSE(p.dangerLearning);  // a learned policy enforces
  CHECK(learningPolicy().fallback->dangerLearning);
  // The policy says what it stands on: one step, one execute call, x2.
  CHECK(yaml.find("# The sample is one run: 1 step and 1 execute call, every budget x2") !=
        std::string::npos);
  CHECK(yaml.find("    # sampled: 1 step, 1 execute call\n") != std::string::npos);
}

TEST_CASE("the learner's headroom multiplies every measured figure, and the policy says so") {
  PolicyLearner learner(3);
  for (int step = 0; step < 2; ++step) {
    learner.observeRecord({{"event", "gate.allow"},
                           {"plugin", "p"},
                           {"direction", "supervisor->plugin"},
                           {"method", "execute"}});
    learner.observeRecord({{"event", "step.end"}, {"plugin", "p"}, {"ms", 1000.0}});
  }
  learner.observeRecord(
      {{"event", "gate.learn"},
       {"plugin", "p"},
       {"kind", "host"},
       {"usage", {{"read_input", {{"calls", 10}, {"bytes", 10000}, {"largest_bytes", 9000}}}}}});
  learner.observeRecord(
      {{"event", "plugin.stop"}, {"plugin", "p"}, {"max_rss_kib", 10240}, {"cpu_seconds", 2.0}});
  learner.observeOutputs("p", 5000);
  const std::string yaml = learner.policyYaml("flow.yaml", "0123");
  INFO(yaml);
  const Policy policy = parsePolicy(YamlDocument::parse(yaml, "learned.yaml"));
  const PluginPolicy& p = *policy.forPlugin("p");
  REQUIRE(p.grant(HostCapability::kReadInput) != nullptr);
  CHECK(p.grant(HostCapability::kReadInput)->maxBytes == 30000);
  CHECK(p.grant(HostCapability::kReadInput)->maxCalls == 30);
  CHECK(p.limits.memoryBytes == (30ull + 64) << 20);
  CHECK(p.limits.cpuSeconds == 7);
  CHECK(p.callTimeout == std::chrono::milliseconds(4000));
  CHECK(p.maxOutputBytes == 15000);
  CHECK(learner.sampleText() == "2 steps and 2 execute calls, every budget x3 (--headroom)");
  CHECK(yaml.find("times x3") != std::string::npos);
  // Below 1 would grant less than the run used: it counts as 1.
  PolicyLearner tight(0.5);
  tight.observeOutputs("p", 5000);
  CHECK(parsePolicy(YamlDocument::parse(tight.policyYaml("f.yaml", "1"), "t.yaml"))
            .forPlugin("p")
            ->maxOutputBytes == 5000);
}

TEST_CASE("read_file needs path prefixes; only read_file takes them") {
  Policy policy =
      parsePolicy("version: 1\nplugins:\n  p:\n    host: { read_file: { paths: [/srv/data] } }\n");
  REQUIRE(policy.forPlugin("p")->grant(HostCapability::kReadFile) != nullptr);
  CHECK(policy.forPlugin("p")->grant(HostCapability::kReadFile)->pathPrefixes ==
        std::vector<std::string>{"/srv/data"});
  CHECK(policyParseError("version: 1\nplugins:\n  p:\n    host: { read_file: {} }\n")
            .find("read_file needs paths") != std::string::npos);
  CHECK(policyParseError("version: 1\nplugins:\n  p:\n    host: { log: { paths: [/x] } }\n")
            .find("only read_file takes paths") != std::string::npos);
  CHECK(policyParseError(
            "version: 1\nplugins:\n  p:\n    host: { read_file: { paths: [/proc/1] } }\n")
            .find("may not reach into /proc") != std::string::npos);
}

TEST_CASE("opened files become read-only grants; kernel interfaces map to their own keys") {
  test::TempDir dir;
  const std::string data = dir.write("data.txt", "x");
  PolicyLearner learner;
  for (const std::string& path :
       {data, std::string("/dev/urandom"), std::string("/proc/self/status"),
        std::string("/sys/kernel/notes"), dir.path("missing.txt")}) {
    learner.observeRecord(
        {{"event", "gate.learn"}, {"plugin", "p"}, {"kind", "open"}, {"path", path}});
  }
  learner.observeRecord({{"event", "gate.learn"},
                         {"plugin", "p"},
                         {"kind", "open"},
                         {"path", dir.path("out.txt")},
                         {"write", true}});
  std::string yaml = learner.policyYaml("flow.yaml", "0123");
  INFO(yaml);
  const Policy policy = parsePolicy(YamlDocument::parse(yaml, "learned.yaml"));
  const PluginPolicy& p = *policy.forPlugin("p");
  CHECK(p.readOnlyPaths == std::vector<std::string>{data});
  CHECK(p.devices);
  CHECK(p.mountProc);
  CHECK(p.readWritePaths.empty());
  CHECK(yaml.find("# opened /sys/kernel/notes, which no policy can grant") != std::string::npos);
  CHECK(yaml.find("missing.txt, which does not exist") != std::string::npos);
  CHECK(yaml.find("# tried to write " + dir.path("out.txt")) != std::string::npos);

  // A path the plugin chose reaches the printed policy's comments only made safe: a newline in
  // it cannot start a line of YAML.
  PolicyLearner hostile;
  hostile.observeRecord({{"event", "gate.learn"},
                         {"plugin", "p"},
                         {"kind", "open"},
                         {"path", "/tmp/x\n  q:\n    calls: [execute]"},
                         {"write", true}});
  const std::string printed = hostile.policyYaml("flow.yaml", "0123");
  INFO(printed);
  CHECK(parsePolicy(YamlDocument::parse(printed, "learned.yaml")).forPlugin("q") == nullptr);
  CHECK(printed.find("\n  q:") == std::string::npos);
}

TEST_CASE("an OCI profile that grants nothing still prints a policy that parses") {
  // Found by tests/fuzz/fuzz_oci.cpp: an empty `syscalls:` printed as null.
  OciImport empty = parseOciProfile(R"({ "defaultAction": "SCMP_ACT_ERRNO" })", "empty.json");
  Policy policy = parsePolicy(YamlDocument::parse(ociImportAsPolicy(empty, "none"), "p.yaml"));
  CHECK(policy.profiles.at("none").syscalls.empty());
  CHECK(policy.profiles.at("none").violationErrno == std::optional<int>(EPERM));
}

TEST_CASE("an OCI profile with a number JSON cannot hold is bad input, not a crash") {
  // Found by tests/fuzz/fuzz_oci.cpp: nlohmann's out_of_range escaped the parser.
  CHECK_THROWS_AS(parseOciProfile("{ \"defaultErrnoRet\": 99999999e999998 }", "big.json"),
                  InputError);
}
