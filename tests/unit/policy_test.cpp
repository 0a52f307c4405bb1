// Policy files: parsing, closed defaults, and errors that name file:line:field.
#include <doctest/doctest.h>

#include <cerrno>

#include "policy/policy_lint.h"
#include "policy/policy_parser.h"

using namespace cordon;

namespace {

Policy parse(const std::string& text) {
  return parsePolicy(YamlDocument::parse(text, "policy.yaml"));
}

std::string parseError(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("the policy was accepted");
  return "";
}

}  // namespace

TEST_CASE("a policy section grants exactly what it lists") {
  Policy policy = parse(R"(version: 1
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
  Policy policy = parse("version: 1\nplugins:\n  quiet: {}\n");
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
  Policy policy = parse("version: 1\ndefault:\n  calls: [execute]\nplugins:\n  a: {}\n");
  REQUIRE(policy.forPlugin("stranger") != nullptr);
  CHECK(policy.forPlugin("stranger")->allows(PluginMethod::kExecute));
  CHECK_FALSE(policy.forPlugin("a")->allows(PluginMethod::kExecute));
}

TEST_CASE("policy errors name the file, the line and the field") {
  SUBCASE("an unknown host capability") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    host:\n      network: {}\n");
    CHECK(e.find("policy.yaml:") != std::string::npos);
    CHECK(e.find("plugins.p.host") != std::string::npos);
    CHECK(e.find("network") != std::string::npos);
  }
  SUBCASE("a misspelt key is not silently ignored") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    timout_ms: 5\n");
    CHECK(e.find("policy.yaml:4") != std::string::npos);
    CHECK(e.find("timout_ms") != std::string::npos);
  }
  SUBCASE("an unknown method") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    calls: [describe, destroy]\n");
    CHECK(e.find("plugins.p.calls[1]") != std::string::npos);
  }
  SUBCASE("a syscall that is forbidden whatever the policy says") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    syscalls: [ptrace]\n");
    CHECK(e.find("policy.yaml:4") != std::string::npos);
    CHECK(e.find("ptrace") != std::string::npos);
  }
  SUBCASE("a syscall name that does not exist") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    syscalls: [not_a_syscall]\n");
    CHECK(e.find("not_a_syscall") != std::string::npos);
  }
  SUBCASE("a limit out of range") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    limits: { memory_mb: 1 }\n");
    CHECK(e.find("policy.yaml:4") != std::string::npos);
    CHECK(e.find("plugins.p.limits.memory_mb") != std::string::npos);
  }
  SUBCASE("a negative timeout") {
    std::string e = parseError("version: 1\nplugins:\n  p:\n    timeout_ms: -5\n");
    CHECK(e.find("plugins.p.timeout_ms") != std::string::npos);
  }
  SUBCASE("a missing or wrong version") {
    CHECK(parseError("plugins: {}\n").find("version") != std::string::npos);
    CHECK(parseError("version: 2\nplugins: {}\n").find("version") != std::string::npos);
  }
}

TEST_CASE("on_violation is kill by default, or an errno by name") {
  CHECK_FALSE(parse("version: 1\nplugins:\n  p: {}\n").forPlugin("p")->violationErrno.has_value());
  CHECK_FALSE(parse("version: 1\nplugins:\n  p: { on_violation: kill }\n")
                  .forPlugin("p")
                  ->violationErrno.has_value());
  auto errnoPolicy = parse("version: 1\nplugins:\n  p:\n    on_violation: { errno: EPERM }\n");
  CHECK(errnoPolicy.forPlugin("p")->violationErrno == std::optional<int>(EPERM));
  std::string e = parseError("version: 1\nplugins:\n  p:\n    on_violation: { errno: EWHAT }\n");
  CHECK(e.find("policy.yaml:4") != std::string::npos);
  CHECK(e.find("plugins.p.on_violation.errno") != std::string::npos);
  CHECK(parseError("version: 1\nplugins:\n  p: { on_violation: shrug }\n").find("on_violation") !=
        std::string::npos);
}

TEST_CASE("filesystem grants are absolute, plain and away from the kernel's interfaces") {
  auto granted = parse("version: 1\nplugins:\n  p:\n    filesystem: { read_only: [/usr/share] }\n");
  CHECK(granted.forPlugin("p")->readOnlyPaths == std::vector<std::string>{"/usr/share"});
  CHECK(granted.forPlugin("p")->syscalls.count("openat") == 1);  // reading needs it
  for (const char* bad :
       {"relative/path", "/", "/usr/../etc", "/proc/self", "/sys", "/dev/mem", "/plugin/x"}) {
    INFO(bad);
    std::string e = parseError(std::string("version: 1\nplugins:\n  p:\n    filesystem:\n") +
                               "      read_only: [" + bad + "]\n");
    CHECK(e.find("policy.yaml:5") != std::string::npos);
    CHECK(e.find("plugins.p.filesystem.read_only[0]") != std::string::npos);
  }
}

TEST_CASE("signature rules are closed by default, explicit to open, and lint warns about each") {
  Policy closed = parse("version: 1\nplugins:\n  a: { calls: [execute] }\n");
  const SignatureRules& rules = closed.forPlugin("a")->signature;
  CHECK(rules.required);
  CHECK_FALSE(rules.allowLegacy);
  CHECK_FALSE(rules.allowRollback);
  CHECK(lintPolicy(closed).empty());

  Policy open = parse(
      "version: 1\nplugins:\n  a:\n    signature: { required: false, allow_legacy: true, "
      "allow_rollback: true }\n");
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
  CHECK(parseError("version: 1\nplugins:\n  a:\n    signature: { required: maybe }\n") ==
        "policy.yaml:4: field 'plugins.a.signature.required': must be true or false");
  CHECK(parseError("version: 1\nplugins:\n  a:\n    signature: { trusted: true }\n")
            .find("trusted") != std::string::npos);
}
