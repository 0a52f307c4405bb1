// Which bytes may run (issue #4, docs/trust.md): every way a package can be wrong is refused
// with its own message and a plugin.verify record; what was verified is what runs, whatever
// happens to the file afterwards; and signatures round-trip with the real minisign tool.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/preflight.h"
#include "plugins/elf_audit.h"
#include "policy/policy_parser.h"
#include "test_support.h"
#include "trust/minisign.h"

using namespace cordon;

namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

int shell(const std::string& command) {
  // The command line is the test's own: running the real minisign is the point.
  int status = std::system((command + " >/dev/null 2>&1").c_str());  // NOLINT(cert-env33-c)
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A private plugin directory holding copies of the built, signed packages, a private trust
// store that trusts the development key, and a private state directory.
struct TrustBed {
  test::TempDir dir;
  std::string plugins = dir.path("plugins");
  std::string store = dir.path("trust");
  std::string state = dir.path("state");
  std::string auditPath = dir.path("audit.jsonl");

  TrustBed() {
    fs::create_directories(plugins);
    fs::create_directories(store);
    for (const char* name : {"text-transform", "word-count"}) {
      fs::copy(test::pluginDirectories()[0] + "/" + name, plugins + "/" + name);
    }
    fs::copy_file(test::trustStoreDirectory() + "/cordon-dev.pub", store + "/cordon-dev.pub");
    trust("[\"*\"]");
  }

  void trust(const std::string& scope, const std::string& revoked = "") const {
    spit(store + "/trust.yaml",
         "keys:\n  - file: cordon-dev.pub\n    scope: " + scope + "\n" + revoked);
  }
  std::string package(const std::string& file) const { return plugins + "/text-transform/" + file; }

  // A publisher key made by minisign itself (no password: p.key), trusted for text-transform
  // alone in place of the development key.
  void trustMinisignPublisher() const {
    REQUIRE(shell("minisign -v") == 0);
    REQUIRE(shell("minisign -G -W -p " + store + "/publisher.pub -s " + dir.path("p.key")) == 0);
    spit(store + "/trust.yaml", "keys:\n  - file: publisher.pub\n    scope: [text-transform]\n");
  }

  Outcome<std::shared_ptr<Preflight>> check(const std::string& policy = "",
                                            const std::string& plugin = "text-transform") const {
    std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow(plugin, "text"));
    std::string policyPath = policy.empty() ? test::sourcePath("policies/default.yaml")
                                            : dir.write("policy.yaml", policy);
    auto audit = AuditLog::open(auditPath);
    REQUIRE(audit.ok());
    return preflight(workflow, policyPath, {{plugins}, store, state},
                     RunAudit(audit.value().get(), newRunId()));
  }

  std::vector<nlohmann::json> verifications() const {
    return test::withEvent(test::readAudit(auditPath), "plugin.verify");
  }
};

// text-transform's section of policies/default.yaml plus `signature` rules.
std::string policyWithSignature(const std::string& rules) {
  return "version: 1\nplugins:\n  text-transform:\n    calls: [describe, init, execute, shutdown]\n"
         "    host: { read_input: {} }\n    signature: " +
         rules + "\n";
}

// Asserts a refusal whose message contains `expected`, and the matching audit record.
void expectRefused(const TrustBed& bed, const Outcome<std::shared_ptr<Preflight>>& result,
                   const std::string& expected) {
  REQUIRE_FALSE(result.ok());
  INFO(result.error().describe());
  CHECK(result.error().message.find(expected) != std::string::npos);
  CHECK(result.error().step == "attack");
  auto records = bed.verifications();
  REQUIRE_FALSE(records.empty());
  const auto& record = records.back();
  CHECK(record["result"] == "refused");
  CHECK(record["plugin"] == "text-transform");
  CHECK(record["version"] == "1.0.0");
  CHECK(record["reason"].get<std::string>().find(expected) != std::string::npos);
  CHECK(record["digest"].get<std::string>().rfind("sha256:", 0) == 0);
}

minisign::SecretKey devKey() {
  return minisign::parseSecretKey(slurp(test::devSecretKey())).value();
}

}  // namespace

TEST_CASE("a signed package from the trust store verifies, and the record says who signed it") {
  TrustBed bed;
  auto result = bed.check();
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? std::string() : result.error().describe()));
  auto records = bed.verifications();
  REQUIRE(records.size() == 1);
  CHECK(records[0]["result"] == "verified");
  CHECK(records[0]["key_id"] == minisign::keyIdText(devKey().id));
  CHECK(records[0]["digest"] == result.value()->plugins.at("text-transform").digest);
}

TEST_CASE("a tampered byte is refused") {
  TrustBed bed;
  std::string bytes = slurp(bed.package("text-transform.so"));
  bytes[bytes.size() / 2] ^= 0x01;
  spit(bed.package("text-transform.so"), bytes);
  expectRefused(bed, bed.check(), "does not match the file's bytes");
}

TEST_CASE("a truncated signature is refused") {
  TrustBed bed;
  std::string signature = slurp(bed.package("text-transform.so.minisig"));
  spit(bed.package("text-transform.so.minisig"), signature.substr(0, signature.size() - 30));
  expectRefused(bed, bed.check(), "truncated");
}

TEST_CASE("a signature by a key outside the trust store is refused") {
  TrustBed bed;
  auto [stranger, strangerPublic] = minisign::generateKeyPair();
  auto manifest = loadManifest(bed.package("plugin.yaml"));
  spit(bed.package("text-transform.so.minisig"),
       minisign::formatSignature(minisign::sign(stranger, slurp(bed.package("text-transform.so")),
                                                trustedCommentFor(manifest))));
  expectRefused(
      bed, bed.check(),
      "signed by key " + minisign::keyIdText(stranger.id) + ", which is not in the trust store");
}

TEST_CASE("a revoked key is refused") {
  TrustBed bed;
  const std::string id = minisign::keyIdText(devKey().id);
  bed.trust("[\"*\"]", "revoked:\n  keys: [" + id + "]\n");
  expectRefused(bed, bed.check(), "signed by key " + id + ", which is revoked");
}

TEST_CASE("a revoked digest is refused") {
  TrustBed bed;
  const std::string digest = sha256Digest(slurp(bed.package("text-transform.so")));
  bed.trust("[\"*\"]", "revoked:\n  digests: [\"" + digest + "\"]\n");
  expectRefused(bed, bed.check(), "its digest " + digest + " is revoked");
}

TEST_CASE("a key may sign only the plugins in its scope") {
  TrustBed bed;
  bed.trust("[word-count, \"acme-*\"]");
  expectRefused(bed, bed.check(),
                "may not sign plugin 'text-transform' (its scope: word-count, acme-*)");
  bed.trust("[\"text-*\"]");
  CHECK(bed.check().ok());
}

TEST_CASE("an unsigned plugin is refused unless the policy says a signature is optional") {
  TrustBed bed;
  fs::remove(bed.package("text-transform.so.minisig"));
  expectRefused(bed, bed.check(), "unsigned:");
  auto allowed = bed.check(policyWithSignature("{ required: false }"));
  REQUIRE_MESSAGE(allowed.ok(), (allowed.ok() ? std::string() : allowed.error().describe()));
  CHECK(bed.verifications().back()["result"] == "unsigned_allowed");
}

TEST_CASE("an optional signature that is present must still hold") {
  TrustBed bed;
  std::string bytes = slurp(bed.package("text-transform.so"));
  bytes[100] ^= 0x40;
  spit(bed.package("text-transform.so"), bytes);
  expectRefused(bed, bed.check(policyWithSignature("{ required: false }")),
                "does not match the file's bytes");
}

TEST_CASE("swapped signature files are refused as vouching for another plugin") {
  TrustBed bed;
  fs::copy_file(bed.plugins + "/word-count/word-count.so.minisig",
                bed.package("text-transform.so.minisig"), fs::copy_options::overwrite_existing);
  expectRefused(bed, bed.check(), "vouches for 'cordon-plugin name=word-count");
}

TEST_CASE("an altered trusted comment is refused") {
  TrustBed bed;
  std::string signature = slurp(bed.package("text-transform.so.minisig"));
  auto at = signature.find("version=1.0.0");
  REQUIRE(at != std::string::npos);
  signature.replace(at, 13, "version=9.0.0");
  spit(bed.package("text-transform.so.minisig"), signature);
  expectRefused(bed, bed.check(), "trusted comment was altered");
}

TEST_CASE("a signature for another version of the same plugin is refused") {
  TrustBed bed;
  spit(bed.package("text-transform.so.minisig"),
       minisign::formatSignature(
           minisign::sign(devKey(), slurp(bed.package("text-transform.so")),
                          "cordon-plugin name=text-transform version=0.9.0 abi=1")));
  expectRefused(bed, bed.check(), "not for version 1.0.0");
}

TEST_CASE("a legacy Ed signature is refused unless the policy allows it") {
  TrustBed bed;
  auto manifest = loadManifest(bed.package("plugin.yaml"));
  spit(bed.package("text-transform.so.minisig"),
       minisign::formatSignature(minisign::sign(devKey(), slurp(bed.package("text-transform.so")),
                                                trustedCommentFor(manifest), "legacy",
                                                minisign::Algorithm::kLegacy)));
  expectRefused(bed, bed.check(policyWithSignature("{ required: true }")), "legacy");
  auto allowed = bed.check(policyWithSignature("{ allow_legacy: true }"));
  REQUIRE_MESSAGE(allowed.ok(), (allowed.ok() ? std::string() : allowed.error().describe()));
  CHECK(bed.verifications().back()["reason"] == "legacy Ed signature, allowed by the policy");
}

TEST_CASE("rollback below the highest version this host has run is refused unless allowed") {
  TrustBed bed;
  {
    auto ledger = VersionLedger::open(bed.state);
    REQUIRE(ledger.ok());
    REQUIRE(ledger.value().recordRun("text-transform", *Version::parse("1.2.0")).ok());
  }
  expectRefused(bed, bed.check(), "rollback: version 1.0.0 is below 1.2.0");
  // It reads as a warning: what a downgrade may be, and what allowing it gives up.
  expectRefused(bed, bed.check(), "an old, vulnerable build put back on purpose");
  expectRefused(bed, bed.check(), "which turns that protection off");
  CHECK(bed.check(policyWithSignature("{ allow_rollback: true }")).ok());
}

TEST_CASE("running a plugin raises its mark in the rollback ledger") {
  TrustBed bed;
  auto checked = bed.check();
  REQUIRE(checked.ok());
  auto audit = AuditLog::open(bed.auditPath);
  REQUIRE(audit.ok());
  auto report = test::runPreflighted(*checked.value(), *audit.value()).report;
  REQUIRE(report.ok());
  auto reopened = VersionLedger::open(bed.state);
  REQUIRE(reopened.ok());
  REQUIRE(reopened.value().highest("text-transform"));
  CHECK(reopened.value().highest("text-transform")->text() == "1.0.0");
}

TEST_CASE("replacing the file after verification changes nothing: the verified bytes run") {
  TrustBed bed;
  auto checked = bed.check();
  REQUIRE(checked.ok());
  // An attacker swaps the shared object between verification and start: first a rename over
  // it (a new inode), then a write into the old one where the mode allows.
  fs::copy_file(test::pluginDirectories()[1] + "/segfault/segfault.so",
                bed.package("replacement.so"));
  fs::rename(bed.package("replacement.so"), bed.package("text-transform.so"));

  auto audit = AuditLog::open(bed.auditPath);
  REQUIRE(audit.ok());
  checked.value()->ledger.reset();
  auto report = test::runPreflighted(*checked.value(), *audit.value()).report;
  REQUIRE_MESSAGE(report.ok(), report.error->describe());
  CHECK(test::bytesOf(report.outputs.at("result")) == "SOME TEXT FOR THE PLUGIN");
}

TEST_CASE("a manifest asking for more than the policy grants is refused with the difference") {
  TrustBed bed;
  std::string manifest = slurp(bed.package("plugin.yaml"));
  manifest.replace(manifest.find("requests:"), 9,
                   "requests:\n  syscalls: [sleep]\n  filesystem: { read_only: [/usr/share] }");
  spit(bed.package("plugin.yaml"), manifest);
  auto result = bed.check();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().category == ErrorCategory::kPolicyDenial);
  CHECK(result.error().message.find("asks for more than the policy section 'text-transform' "
                                    "grants: syscall nanosleep (group sleep), syscall "
                                    "clock_nanosleep (group sleep), read-only path /usr/share") !=
        std::string::npos);
  auto denials = test::withEvent(test::readAudit(bed.auditPath), "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["not_granted"].size() == 3);
  CHECK(bed.verifications().empty());  // refused before its bytes were even read
}

TEST_CASE("the same plugin and version offered twice is ambiguous; ranges pick the highest") {
  TrustBed bed;
  fs::copy(bed.plugins + "/text-transform", bed.plugins + "/text-transform-copy");
  auto result = bed.check();
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message.find("is ambiguous: version 1.0.0 is offered by both") !=
        std::string::npos);

  auto catalog = PluginCatalog::scan({bed.plugins});
  auto excluded = catalog.resolve("word-count", "^2");
  REQUIRE_FALSE(excluded.ok());
  CHECK(excluded.error().message.find("no version there is in '^2', found 1.0.0 (" + bed.plugins +
                                      "/word-count)") != std::string::npos);
  auto found = catalog.resolve("word-count", ">=1.0 <2");
  REQUIRE(found.ok());
  CHECK(found.value().manifest.version.text() == "1.0.0");
}

TEST_CASE("signatures round-trip with the real minisign tool, both ways") {
  REQUIRE_MESSAGE(shell("minisign -v") == 0, "minisign is not installed (tools/dev installs it)");
  test::TempDir dir;
  const std::string file = dir.write("payload.bin", std::string(100000, 'x') + "tail");

  // minisign signs (prehashed, with a trusted comment); cordon verifies.
  REQUIRE(shell("minisign -G -W -p " + dir.path("m.pub") + " -s " + dir.path("m.key")) == 0);
  REQUIRE(shell("minisign -S -s " + dir.path("m.key") + " -m " + file +
                " -t 'cordon-plugin name=x version=1.0.0 abi=1'") == 0);
  auto key = minisign::parsePublicKey(slurp(dir.path("m.pub")));
  REQUIRE(key.ok());
  auto signature = minisign::parseSignature(slurp(file + ".minisig"));
  REQUIRE(signature.ok());
  CHECK(signature.value().algorithm == minisign::Algorithm::kPrehashed);
  CHECK(signature.value().trustedComment == "cordon-plugin name=x version=1.0.0 abi=1");
  CHECK(minisign::verify(key.value(), signature.value(), slurp(file), false).ok());
  CHECK_FALSE(minisign::verify(key.value(), signature.value(), slurp(file) + "!", false).ok());

  // minisign's legacy mode (-l); accepted only when asked for.
  REQUIRE(shell("minisign -S -l -s " + dir.path("m.key") + " -m " + file + " -x " +
                dir.path("legacy.minisig")) == 0);
  auto legacy = minisign::parseSignature(slurp(dir.path("legacy.minisig")));
  REQUIRE(legacy.ok());
  CHECK(legacy.value().algorithm == minisign::Algorithm::kLegacy);
  CHECK_FALSE(minisign::verify(key.value(), legacy.value(), slurp(file), false).ok());
  CHECK(minisign::verify(key.value(), legacy.value(), slurp(file), true).ok());

  // cordon-sign reads minisign's secret key; minisign verifies what it signs.
  const std::string sign = test::signBinary();
  REQUIRE(shell(sign + " sign -s " + dir.path("m.key") + " -m " + file + " -x " +
                dir.path("c.minisig") + " -t 'made by cordon-sign'") == 0);
  CHECK(shell("minisign -V -p " + dir.path("m.pub") + " -m " + file + " -x " +
              dir.path("c.minisig")) == 0);

  // cordon-sign makes the keys; minisign signs with them and cordon-sign verifies.
  REQUIRE(shell(sign + " keygen -p " + dir.path("c.pub") + " -s " + dir.path("c.key")) == 0);
  REQUIRE(shell("minisign -S -s " + dir.path("c.key") + " -m " + file + " -x " +
                dir.path("m2.minisig")) == 0);
  CHECK(shell(sign + " verify -p " + dir.path("c.pub") + " -m " + file + " -x " +
              dir.path("m2.minisig")) == 0);
  CHECK(shell("minisign -V -p " + dir.path("c.pub") + " -m " + file + " -x " +
              dir.path("m2.minisig")) == 0);

  // And a tampered file fails in both tools.
  spit(file, "changed");
  CHECK(shell("minisign -V -p " + dir.path("c.pub") + " -m " + file + " -x " +
              dir.path("m2.minisig")) != 0);
  CHECK(shell(sign + " verify -p " + dir.path("c.pub") + " -m " + file + " -x " +
              dir.path("m2.minisig")) == 1);
}

TEST_CASE("a package signed by minisign itself runs") {
  TrustBed bed;
  bed.trustMinisignPublisher();
  REQUIRE(shell("minisign -S -s " + bed.dir.path("p.key") + " -m " +
                bed.package("text-transform.so") +
                " -t 'cordon-plugin name=text-transform version=1.0.0 abi=1 timestamp=1'") == 0);
  auto result = bed.check();
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? std::string() : result.error().describe()));
  CHECK(bed.verifications().back()["result"] == "verified");
}

TEST_CASE("minisign's default trusted comment is refused, naming the comment to sign with") {
  TrustBed bed;
  bed.trustMinisignPublisher();
  // No -t: minisign writes "timestamp:...\tfile:...".
  REQUIRE(shell("minisign -S -s " + bed.dir.path("p.key") + " -m " +
                bed.package("text-transform.so")) == 0);
  auto result = bed.check();
  expectRefused(bed, result, "the signature's trusted comment is minisign's default ('timestamp:");
  expectRefused(bed, result, "-t 'cordon-plugin name=text-transform version=1.0.0 abi=1'");
  expectRefused(bed, result, "cordon-sign package " + bed.plugins + "/text-transform");
}

TEST_CASE("a plugin built as one version and signed as another is stopped at describe") {
  // text-transform.so says 1.0.0 in its descriptor; package and sign it, validly, as 2.0.0.
  test::TempDir dir;
  REQUIRE(shell(test::signBinary() + " package -s " + test::devSecretKey() + " --object " +
                test::pluginDirectories()[0] + "/text-transform/text-transform.so" +
                " --name text-transform --version 2.0.0 -o " +
                dir.path("plugins/text-transform")) == 0);
  const std::string workflow =
      dir.write("flow.yaml", test::oneStepWorkflow("text-transform", "text"));
  test::Command run = test::runCordon("run " + workflow + " --plugin-path " + dir.path("plugins") +
                                      " --policy " + test::sourcePath("policies/default.yaml") +
                                      " --audit-log " + dir.path("audit.jsonl"));
  INFO(run.output);
  CHECK(run.exitCode == 1);
  CHECK(run.output.find("bad_input: plugin 'text-transform' declares version 1.0.0, but its "
                        "signed manifest says 2.0.0") != std::string::npos);
  // The signature itself held: what failed is the plugin's own word about what it is.
  auto verified = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "plugin.verify");
  REQUIRE(verified.size() == 1);
  CHECK(verified[0]["result"] == "verified");
  CHECK(verified[0]["version"] == "2.0.0");
}

TEST_CASE(
    "a shared object on the plugin path outside a package is named when its plugin is not found") {
  TrustBed bed;
  fs::copy_file(bed.package("text-transform.so"), bed.plugins + "/hello.so");
  fs::create_directories(bed.plugins + "/greeter");
  fs::copy_file(bed.package("text-transform.so"), bed.plugins + "/greeter/libgreet.so");
  auto catalog = PluginCatalog::scan({bed.plugins});
  for (const auto& [name, object] :
       {std::pair{"hello", "/hello.so"}, std::pair{"greeter", "/greeter/libgreet.so"}}) {
    auto found = catalog.resolve(name, "");
    REQUIRE_FALSE(found.ok());
    INFO(found.error().message);
    CHECK(found.error().message.find("plugin '" + std::string(name) + "' not found") !=
          std::string::npos);
    CHECK(found.error().message.find(bed.plugins + object + " is there, but not in a package") !=
          std::string::npos);
  }
  // Another name: nothing of the loose objects is said.
  auto other = catalog.resolve("nothing-like-it", "");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message.find("not in a package") == std::string::npos);
  CHECK(catalog.resolve("text-transform", "").ok());  // the packages are still found
}

TEST_CASE("the static audit flags imports the policy would make fail, and executable stacks") {
  const std::string hostile = test::pluginDirectories()[1];
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  open-socket:\n    calls: [describe, init, execute, shutdown]\n",
      "policy.yaml"));
  auto report =
      auditElf(slurp(hostile + "/open-socket/open-socket.so"), policy.forPlugin("open-socket"));
  REQUIRE(report.ok());
  bool flagged = false;
  for (const auto& finding : report.value().findings) {
    if (finding.kind == "import" && finding.detail.find("imports socket()") != std::string::npos)
      flagged = finding.severity == Severity::kHigh;
  }
  CHECK(flagged);

  auto clean = auditElf(slurp(test::pluginDirectories()[0] + "/sha256/sha256.so"), nullptr);
  REQUIRE(clean.ok());
  for (const auto& finding : clean.value().findings) {
    INFO(finding.detail);
    CHECK(finding.severity != Severity::kHigh);
  }

  auto stack = auditElf(slurp(hostile + "/exec-stack/exec-stack.so"), nullptr);
  REQUIRE(stack.ok());
  bool execstack = false;
  for (const auto& finding : stack.value().findings) execstack |= finding.kind == "execstack";
  CHECK(execstack);

  CHECK_FALSE(auditElf("not an elf", nullptr).ok());
  std::string truncated = slurp(test::pluginDirectories()[0] + "/sha256/sha256.so").substr(0, 200);
  CHECK_FALSE(auditElf(truncated, nullptr).ok());
}

TEST_CASE("the static audit weighs file access against the policy's filesystem grants") {
  const std::string hostile = test::pluginDirectories()[1];
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  read-passwd:\n    calls: [describe, init, execute, shutdown]\n"
      "  file-reader:\n    calls: [describe, init, execute, shutdown]\n"
      "    filesystem: { read_only: [/etc/hostname] }\n",
      "policy.yaml"));
  auto findingOf = [&](const std::string& plugin) -> std::optional<ElfFinding> {
    auto report =
        auditElf(slurp(hostile + "/" + plugin + "/" + plugin + ".so"), policy.forPlugin(plugin));
    REQUIRE(report.ok());
    for (const auto& finding : report.value().findings)
      if (finding.kind == "file-access") return finding;
    return std::nullopt;
  };
  // read-passwd opens /etc/passwd with open(), which glibc links as open64: no grant, so high.
  auto passwd = findingOf("read-passwd");
  REQUIRE(passwd.has_value());
  CHECK(passwd->severity == Severity::kHigh);
  CHECK(passwd->detail.find("imports open64()") != std::string::npos);
  CHECK(passwd->detail.find("grants no filesystem access") != std::string::npos);
  // With a read-only grant the opens work, inside what is granted: low, naming the grant.
  auto reader = findingOf("file-reader");
  REQUIRE(reader.has_value());
  CHECK(reader->severity == Severity::kLow);
  CHECK(reader->detail.find("read-only [/etc/hostname]") != std::string::npos);
  // syscall() can make any call: the audit says it cannot see which.
  auto raw = auditElf(slurp(hostile + "/seccomp-escape/seccomp-escape.so"), nullptr);
  REQUIRE(raw.ok());
  bool rawFlagged = false;
  for (const auto& finding : raw.value().findings)
    rawFlagged |= finding.kind == "raw-syscall" && finding.severity == Severity::kMedium;
  CHECK(rawFlagged);
  // A plugin that opens nothing has no such finding.
  auto clean = auditElf(slurp(test::pluginDirectories()[0] + "/sha256/sha256.so"), nullptr);
  REQUIRE(clean.ok());
  for (const auto& finding : clean.value().findings) CHECK(finding.kind != "file-access");
}

TEST_CASE("cordon-sign signs with minisign's default password-protected keys") {
  REQUIRE(shell("minisign -v") == 0);
  test::TempDir dir;
  const std::string file = dir.write("payload.bin", "bytes to sign");
  const std::string password = dir.write("password", "correct horse\n");
  const std::string wrong = dir.write("wrong", "battery staple\n");
  // minisign reads the new key's password (twice) from stdin; scrypt at its default cost.
  REQUIRE(shell("printf 'correct horse\\ncorrect horse\\n' | minisign -G -p " + dir.path("e.pub") +
                " -s " + dir.path("e.key")) == 0);
  REQUIRE(slurp(dir.path("e.key")).find("encrypted secret key") != std::string::npos);

  const std::string sign = test::signBinary() + " sign -s " + dir.path("e.key") + " -m " + file;
  CHECK(shell(sign + " -x " + dir.path("none.minisig")) == 2);  // no password given
  CHECK(shell(sign + " -x " + dir.path("bad.minisig") + " --password-file " + wrong) == 2);
  REQUIRE(shell(sign + " -x " + dir.path("ok.minisig") + " --password-file " + password) == 0);
  CHECK(shell("minisign -V -p " + dir.path("e.pub") + " -m " + file + " -x " +
              dir.path("ok.minisig")) == 0);

  auto key = minisign::parseSecretKey(slurp(dir.path("e.key")), "battery staple");
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().message.find("wrong password") != std::string::npos);
}
