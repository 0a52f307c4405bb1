// Large artifacts as sealed memfds with real sandboxed workers: a producer writes its output in
// place and a consumer maps it read-only, so neither the supervisor nor RPC copies the bytes;
// the consumer cannot write the mapping, the producer cannot keep a way to change the bytes it
// handed over, a mapping beyond the policy's budget is refused and recorded, and the
// supervisor's memory does not grow with the artifact.
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "test_support.h"

using namespace cordon;

namespace {

constexpr char kBlobPolicy[] = R"(version: 1
plugins:
  blob:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 134217728 }
      map_input: { max_bytes: MAP_BYTES }
    limits: { memory_mb: 512, cpu_seconds: 60 }
    timeout_ms: 20000
    max_output_bytes: 134217728
)";

test::RunResult runBlob(const test::TempDir& dir, const std::string& workflow,
                        uint64_t mapBytes = 134217728) {
  std::string policy = kBlobPolicy;
  policy.replace(policy.find("MAP_BYTES"), 9, std::to_string(mapBytes));
  return test::runWorkflow(dir.write("flow.yaml", workflow), dir.write("policy.yaml", policy),
                           dir.path("audit.jsonl"));
}

uint64_t statusKib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(std::string(field).size()));
  }
  return 0;
}

// The pattern blob.c writes: byte i is (i / 4096 + i) & 0xff.
bool holdsPattern(const std::string& bytes) {
  for (size_t i = 0; i < bytes.size(); ++i)
    if (static_cast<unsigned char>(bytes[i]) != ((i / 4096 + i) & 0xff)) return false;
  return true;
}

}  // namespace

TEST_CASE("a 64 MiB output written in place is mapped by the next step, never copied") {
  test::TempDir dir;
  // VmHWM from here on: the supervisor (this process) must not hold the artifact's bytes.
  std::ofstream("/proc/self/clear_refs") << "5";
  const uint64_t before = statusKib("VmHWM:");
  auto run = runBlob(dir, R"(name: blob64m
steps:
  - { name: make, plugin: blob, config: { mode: produce, bytes: "67108864" } }
  - { name: check, plugin: blob, config: { mode: consume }, inputs: { in: make.out } }
outputs:
  check: check.check
  blob: make.out
)");
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("check")) == "67108864 ok");
  CHECK(test::stepOf(run.report, "make").outputSizes.at("out") == 67108864);
  const uint64_t grown = statusKib("VmHWM:") - before;
  // Under AddressSanitizer or ThreadSanitizer the process's RSS is the sanitizer's too (shadow
  // memory, a quarantine of freed blocks): there the figure says nothing about the supervisor,
  // so it is only shown.
  if (dlsym(RTLD_DEFAULT, "__asan_init") != nullptr ||
      dlsym(RTLD_DEFAULT, "__tsan_init") != nullptr) {
    MESSAGE("under a sanitizer the peak grew by " << grown << " KiB (not checked)");
  } else {
    CHECK_MESSAGE(grown < 16 * 1024, "the supervisor's peak grew by " << grown << " KiB");
  }
  // The bytes are the producer's, as the supervisor reads them back.
  auto head = run.report.outputs.at("blob")->head(1 << 20);
  REQUIRE(head.ok());
  CHECK(holdsPattern(head.value()));
  // Mapping is a host call like any other: admitted and recorded.
  bool mapped = false;
  for (const auto& record : test::withEvent(run.audit, "gate.allow"))
    mapped = mapped || (record.value("method", "") == "map_input" && record["step"] == "check");
  CHECK(mapped);
  bool created = false;
  for (const auto& record : test::withEvent(run.audit, "gate.allow"))
    created =
        created || (record.value("method", "") == "create_output" && record["step"] == "make");
  CHECK(created);
  CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());
}

TEST_CASE("a workflow input file is mapped too, and chunked reads still work beside it") {
  test::TempDir dir;
  std::string bytes(3 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i / 4096 + i) & 0xff);
  dir.write("big.bin", bytes);
  auto run = runBlob(dir, R"(name: input
inputs:
  big: { file: big.bin }
steps:
  - { name: mapped, plugin: blob, config: { mode: consume }, inputs: { in: inputs.big } }
  - { name: chunked, plugin: blob, config: { mode: read-chunks }, inputs: { in: inputs.big } }
  - { name: copied, plugin: blob, config: { mode: copy }, inputs: { in: inputs.big } }
  - { name: recheck, plugin: blob, config: { mode: consume }, inputs: { in: copied.out } }
outputs:
  mapped: mapped.check
  chunked: chunked.check
  recheck: recheck.check
)");
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("mapped")) == "3145728 ok");
  CHECK(test::bytesOf(run.report.outputs.at("chunked")) == "3145728 read");
  CHECK(test::bytesOf(run.report.outputs.at("recheck")) == "3145728 ok");
}

TEST_CASE("the consumer cannot write the mapping: it faults, and the bytes stay the producer's") {
  test::TempDir dir;
  auto run = runBlob(dir, R"W(name: write-input
steps:
  - { name: make, plugin: blob, config: { mode: produce, bytes: "1048576" } }
  - { name: vandal, plugin: blob, config: { mode: write-input }, inputs: { in: make.out } }
  - { name: after, plugin: blob, config: { mode: consume }, inputs: { in: make.out }, needs: [vandal], if: "always()" }
outputs:
  after: after.check
)W");
  const StepReport& vandal = test::stepOf(run.report, "vandal");
  REQUIRE(vandal.error.has_value());
  CHECK(vandal.error->category == ErrorCategory::kCrash);
  CHECK(test::stepOf(run.report, "after").state == StepState::kSucceeded);
  CHECK(test::bytesOf(run.report.outputs.at("after")) == "1048576 ok");
}

TEST_CASE("a producer that keeps a writable mapping of its output has it refused") {
  test::TempDir dir;
  auto run = runBlob(dir, R"(name: keep-writable
steps:
  - { name: sly, plugin: blob, config: { mode: keep-writable, bytes: "1048576" } }
  - { name: reader, plugin: blob, config: { mode: consume }, inputs: { in: sly.out } }
)");
  const StepReport& sly = test::stepOf(run.report, "sly");
  REQUIRE(sly.error.has_value());
  CHECK(sly.error->category == ErrorCategory::kProtocolError);
  CHECK(sly.error->message.find("writable mapping") != std::string::npos);
  CHECK(test::stepOf(run.report, "reader").state == StepState::kSkipped);
  auto ends = test::withEvent(run.audit, "step.end");
  bool recorded = false;
  for (const auto& end : ends)
    recorded = recorded || (end["step"] == "sly" && end["error"]["category"] == "protocol_error");
  CHECK(recorded);
}

TEST_CASE("budgets: a mapping beyond map_input.max_bytes and an output beyond max_output_bytes") {
  test::TempDir dir;
  auto run = runBlob(dir, R"(name: budgets
steps:
  - { name: make, plugin: blob, config: { mode: produce, bytes: "2097152" } }
  - { name: greedy, plugin: blob, config: { mode: consume }, inputs: { in: make.out } }
  - { name: huge, plugin: blob, config: { mode: produce, bytes: "268435456" } }
)",
                     1 << 20);
  const StepReport& greedy = test::stepOf(run.report, "greedy");
  REQUIRE(greedy.error.has_value());
  CHECK(greedy.error->category == ErrorCategory::kResourceLimit);
  CHECK(greedy.error->message.find("plugins.blob.host.map_input.max_bytes") != std::string::npos);
  const StepReport& huge = test::stepOf(run.report, "huge");
  REQUIRE(huge.error.has_value());
  CHECK(huge.error->category == ErrorCategory::kResourceLimit);
  CHECK(huge.error->message.find("plugins.blob.max_output_bytes") != std::string::npos);
  std::set<std::string> denied;
  for (const auto& record : test::withEvent(run.audit, "gate.deny"))
    denied.insert(record.value("method", "") + "@" + record.value("step", ""));
  CHECK(denied.count("map_input@greedy") == 1);
  CHECK(denied.count("create_output@huge") == 1);
}

TEST_CASE("without a map_input grant, a plugin that asks for it is refused before it runs") {
  test::TempDir dir;
  std::string policy = kBlobPolicy;
  const std::string grant = "      map_input: { max_bytes: MAP_BYTES }\n";
  policy.erase(policy.find(grant), grant.size());
  test::Command validate = test::runCordon("validate " + dir.write("flow.yaml", R"W(name: no-grant
inputs:
  text: { value: "hello" }
steps:
  - { name: reader, plugin: blob, config: { mode: consume }, inputs: { in: inputs.text } }
)W") + " --policy " + dir.write("policy.yaml", policy));
  INFO(validate.output);
  CHECK(validate.exitCode == 2);
  CHECK(validate.output.find("host map_input") != std::string::npos);
}

TEST_CASE("beyond the memory budget, outputs spill to a content-addressed directory") {
  test::TempDir dir;
  std::string policy = kBlobPolicy;
  policy.replace(policy.find("MAP_BYTES"), 9, "134217728");
  EngineOptions options = test::testEngineOptions();
  options.artifactMemoryBytes = 3 << 20;
  options.spillDirectory = dir.path("spill");
  auto run = test::runWorkflow(dir.write("flow.yaml", R"W(name: spill
steps:
  - { name: small, plugin: blob, config: { mode: produce, bytes: "2097152" } }
  - { name: large, plugin: blob, config: { mode: produce, bytes: "4194304" } }
  - { name: check, plugin: blob, config: { mode: consume }, inputs: { in: large.out } }
  - { name: chunks, plugin: blob, config: { mode: read-chunks }, inputs: { in: large.out } }
outputs:
  check: check.check
  chunks: chunks.check
  large: large.out
)W"),
                               dir.write("policy.yaml", policy), dir.path("audit.jsonl"),
                               test::pluginDirectories(), options);
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  // The spilled bytes are read and mapped from their file like any input.
  CHECK(test::bytesOf(run.report.outputs.at("check")) == "4194304 ok");
  CHECK(test::bytesOf(run.report.outputs.at("chunks")) == "4194304 read");
  auto spills = test::withEvent(run.audit, "artifact.spill");
  REQUIRE(spills.size() == 1);  // 2 MiB fit the 3 MiB budget; 4 MiB more do not
  CHECK(spills[0]["step"] == "large");
  CHECK(spills[0]["output"] == "out");
  CHECK(spills[0]["bytes"] == 4194304);
  const std::string path = spills[0]["path"];
  const std::string digest = spills[0]["digest"];
  REQUIRE(digest.rfind("sha256:", 0) == 0);
  CHECK(path == dir.path("spill") + "/sha256/" + digest.substr(7));
  // Named by its content: the file's SHA-256 is its name, and it is read-only.
  test::Command sum = test::runShell("sha256sum " + path);
  CHECK(sum.output.rfind(digest.substr(7), 0) == 0);
  CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::owner_write) ==
        std::filesystem::perms::none);
  auto head = run.report.outputs.at("large")->head(1 << 20);
  REQUIRE(head.ok());
  CHECK(holdsPattern(head.value()));

  // Every output's SHA-256 is recorded (the large ones hashed off the event loop), before
  // run.end: the spilled one's equals its file's, a small one's equals sha256sum's.
  std::map<std::string, std::string> digests;
  size_t lastDigest = 0;
  size_t runEnd = 0;
  for (size_t i = 0; i < run.audit.size(); ++i) {
    if (run.audit[i]["event"] == "artifact.digest") {
      digests[run.audit[i]["step"].get<std::string>() + "." +
              run.audit[i]["output"].get<std::string>()] = run.audit[i]["digest"];
      lastDigest = i;
    }
    if (run.audit[i]["event"] == "run.end") runEnd = i;
  }
  CHECK(digests.size() == 4);
  CHECK(digests["large.out"] == digest);
  test::Command small = test::runShell("printf '4194304 ok' | sha256sum");
  CHECK(small.output.rfind(digests["check.check"].substr(7), 0) == 0);
  CHECK(lastDigest < runEnd);
}
