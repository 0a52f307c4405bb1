// Filesystem grants: a granted path is readable at the same place inside the sandbox and nothing
// else exists there; no escape (absolute paths, "..", symlinks, /proc) reaches the host, and a
// granted path is never writable.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/preflight.h"
#include "test_support.h"

using namespace cordon;

namespace {

struct Grant {
  test::TempDir dir;
  std::string granted = dir.path("granted");
  std::string policy;

  Grant() {
    std::filesystem::create_directories(granted);
    dir.write("granted/notes.txt", "granted content");
    dir.write("outside.txt", "host secret");
    std::filesystem::create_symlink(dir.path("outside.txt"), granted + "/link-out");
    policy = dir.write("policy.yaml",
                       "version: 1\nplugins:\n  file-reader:\n"
                       "    calls: [describe, init, execute, shutdown]\n"
                       "    filesystem: { read_only: [" +
                           granted + "] }\n");
  }

  // What file-reader reports for `path` (its content or "errno N").
  std::string read(const std::string& path, bool write = false) {
    std::string workflow = dir.write("flow.yaml",
                                     "name: read\nsteps:\n  - name: read\n"
                                     "    plugin: file-reader\n"
                                     "    config: { path: \"" +
                                         path + "\"" + (write ? ", write: yes" : "") +
                                         " }\n"
                                         "outputs:\n  result: read.result\n");
    auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
    REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
    return test::bytesOf(run.report.outputs.at("result"));
  }
};

}  // namespace

TEST_CASE_FIXTURE(Grant, "a granted path reads; nothing else exists inside the sandbox") {
  CHECK(read(granted + "/notes.txt") == "granted content");
  CHECK(read(dir.path("outside.txt")) == "errno 2");      // ENOENT: absolute path outside
  CHECK(read(granted + "/../outside.txt") == "errno 2");  // ".." out of the grant
  CHECK(read(granted + "/link-out") == "errno 2");        // a symlink pointing outside
  CHECK(read("/proc/self/root" + dir.path("outside.txt")) == "errno 2");  // no /proc at all
  CHECK(read("/proc/1/root/etc/passwd") == "errno 2");
  CHECK(read("/etc/passwd") == "errno 2");
}

TEST_CASE_FIXTURE(Grant, "a granted path is never writable") {
  CHECK(read(granted + "/notes.txt", true) == "errno 30");  // EROFS
  CHECK(read(granted + "/new.txt", true) == "errno 30");
  CHECK(read("/plugin/dropped", true) == "errno 30");
  CHECK(read("/dropped", true) == "errno 30");
}

TEST_CASE_FIXTURE(Grant, "a worker finds the record of the call it serves already in the log") {
  // The supervisor->plugin allow is the one record that may wait for a flush (docs/audit.md,
  // "When a record is written"); the worker's RPC stream writes it before the call's message.
  // The plugin reads the log itself, inside its sandbox, the moment its call arrives.
  std::string workflow = dir.write("tail.yaml",
                                   "name: tail\nsteps:\n  - name: tail\n"
                                   "    plugin: file-reader\n"
                                   "    config: { path: \"" +
                                       granted +
                                       "/audit.jsonl\", tail: yes }\n"
                                       "outputs:\n  result: tail.result\n");
  auto run = test::runWorkflow(workflow, policy, granted + "/audit.jsonl");
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  const std::string tail = test::bytesOf(run.report.outputs.at("result"));
  REQUIRE(tail.size() > 1);
  REQUIRE(tail.back() == '\n');
  const size_t start = tail.rfind('\n', tail.size() - 2);
  auto last = nlohmann::json::parse(tail.substr(start == std::string::npos ? 0 : start + 1));
  CHECK(last["event"] == "gate.allow");
  CHECK(last["direction"] == "supervisor->plugin");
  CHECK(last["method"] == "execute");
  CHECK(last["step"] == "tail");
}

TEST_CASE("filesystem grants are validated before anything runs") {
  test::TempDir dir;
  std::string policy = dir.write("policy.yaml",
                                 "version: 1\nplugins:\n  file-reader:\n"
                                 "    calls: [describe, init, execute, shutdown]\n"
                                 "    filesystem: { read_only: [/does/not/exist] }\n");
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("file-reader"));
  auto checked = preflight(workflow, policy, test::trustOptions(), RunAudit{});
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.error().category == ErrorCategory::kBadInput);
  CHECK(checked.error().message.find("/does/not/exist") != std::string::npos);
}

namespace {

// file-reader under `grants` (the YAML of a filesystem section); what it reports for `config`.
std::string probe(test::TempDir& dir, const std::string& grants, const std::string& config) {
  std::string policy = dir.write("policy.yaml",
                                 "version: 1\nplugins:\n  file-reader:\n"
                                 "    calls: [describe, init, execute, shutdown]\n"
                                 "    limits: { file_size_mb: 4 }\n"
                                 "    filesystem: " +
                                     grants + "\n");
  std::string workflow = dir.write("flow.yaml",
                                   "name: probe\nsteps:\n  - name: probe\n"
                                   "    plugin: file-reader\n"
                                   "    config: " +
                                       config + "\noutputs:\n  result: probe.result\n");
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  return test::bytesOf(run.report.outputs.at("result"));
}

}  // namespace

TEST_CASE("a read_write path is written through to the host; the rest stays read-only") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("out"));
  std::filesystem::create_directories(dir.path("in"));
  const std::string grants =
      "{ read_write: [" + dir.path("out") + "], read_only: [" + dir.path("in") + "] }";
  CHECK(probe(dir, grants,
              "{ path: \"" + dir.path("out/result.txt") + "\", write: yes, content: hello }") ==
        "written");
  std::ifstream written(dir.path("out/result.txt"));
  std::string content((std::istreambuf_iterator<char>(written)), std::istreambuf_iterator<char>());
  CHECK(content == "hello");
  CHECK(probe(dir, grants, "{ path: \"" + dir.path("in/x") + "\", write: yes }") == "errno 30");
  CHECK(probe(dir, grants, "{ path: \"/dropped\", write: yes }") == "errno 30");
}

TEST_CASE("disk fill: the scratch tmpfs fills to its size and no further") {
  test::TempDir dir;
  std::string result = probe(dir, "{ scratch_mb: 1 }", "{ path: /scratch/fill, fill: yes }");
  INFO(result);
  REQUIRE(result.rfind("filled ", 0) == 0);
  char* end = nullptr;
  const unsigned long long written = std::strtoull(result.c_str() + 7, &end, 10);
  REQUIRE(std::string(end).rfind(" bytes: errno ", 0) == 0);
  const long error = std::strtol(end + 14, nullptr, 10);
  CHECK(error == 28);  // ENOSPC
  CHECK(written <= 1ull << 20);
  CHECK(written >= 1ull << 19);
  // The scratch dir is the worker's own: nothing of it reaches the host, and the root stays
  // read-only next to it.
  CHECK(probe(dir, "{ scratch_mb: 1 }", "{ path: /dropped, write: yes }") == "errno 30");
}

TEST_CASE("proc: true mounts the worker's own /proc, read-only") {
  test::TempDir dir;
  CHECK(probe(dir, "{ proc: true }", "{ path: /proc/self/status }").find("Name:") == 0);
  CHECK(probe(dir, "{ proc: true }", "{ path: /proc/1/cmdline }").find("cordon-worker") !=
        std::string::npos);                                                      // PID 1 is itself
  CHECK(probe(dir, "{ proc: true }", "{ path: /proc/2/status }") == "errno 2");  // nobody else
  CHECK(probe(dir, "{ proc: true }", "{ path: /proc/self/mem, write: yes }") == "errno 30");
  CHECK(probe(dir, "{ devices: true }", "{ path: /proc/self/status }") == "errno 2");
}

TEST_CASE("devices: true gives /dev/null, /dev/zero and /dev/urandom and nothing else") {
  test::TempDir dir;
  CHECK(probe(dir, "{ devices: true }", "{ path: /dev/null, write: yes, content: x }") ==
        "written");
  CHECK(probe(dir, "{ devices: true }", "{ path: /dev/zero }") == std::string(256, '\0'));
  CHECK(probe(dir, "{ devices: true }", "{ path: /dev/urandom }").size() == 256);
  CHECK(probe(dir, "{ devices: true }", "{ path: /dev/sda }") == "errno 2");
  CHECK(probe(dir, "{ devices: true }", "{ path: /dev/mem }") == "errno 2");
  CHECK(probe(dir, "{ proc: true }", "{ path: /dev/null }") == "errno 2");
}

namespace {

// file-broker under a read_file grant of `prefix`; what it reports for `path`.
std::string broker(test::TempDir& dir, const std::string& grant, const std::string& path,
                   std::vector<nlohmann::json>* audit = nullptr) {
  std::string policy = dir.write("broker.yaml",
                                 "version: 1\nplugins:\n  file-broker:\n"
                                 "    calls: [describe, init, execute, shutdown]\n"
                                 "    host:\n      " +
                                     grant + "\n");
  std::string workflow = dir.write("broker-flow.yaml",
                                   "name: broker\nsteps:\n  - name: read\n"
                                   "    plugin: file-broker\n"
                                   "    config: { path: \"" +
                                       path + "\" }\noutputs:\n  result: read.result\n");
  auto run = test::runWorkflow(workflow, policy, dir.path("broker-audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  if (audit != nullptr) *audit = run.audit;
  return test::bytesOf(run.report.outputs.at("result"));
}

}  // namespace

TEST_CASE("read_file: the supervisor reads under the granted prefixes and nowhere else") {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("data/sub"));
  std::filesystem::create_directories(dir.path("database"));
  dir.write("data/sub/notes.txt", "brokered content");
  dir.write("database/secret.txt", "neighbour secret");
  dir.write("outside.txt", "host secret");
  std::filesystem::create_symlink(dir.path("outside.txt"), dir.path("data/link-out"));
  std::filesystem::create_symlink("../outside.txt", dir.path("data/relative-out"));
  const std::string grant = "read_file: { paths: [" + dir.path("data") + "], max_bytes: 1024 }";
  const std::string denied = "status 2";    // CORDON_ERR_DENIED
  const std::string notFound = "status 5";  // CORDON_ERR_NOT_FOUND

  CHECK(broker(dir, grant, dir.path("data/sub/notes.txt")) == "brokered content");
  CHECK(broker(dir, grant, dir.path("data/missing.txt")) == notFound);
  std::vector<nlohmann::json> audit;
  CHECK(broker(dir, grant, dir.path("outside.txt"), &audit) == denied);
  auto denials = test::withEvent(audit, "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["method"] == "read_file");
  CHECK(denials[0]["reason"].get<std::string>().find("outside the granted paths") !=
        std::string::npos);
  // A prefix is a whole path component: data does not cover database.
  CHECK(broker(dir, grant, dir.path("database/secret.txt")) == denied);
  CHECK(broker(dir, grant, dir.path("data/../outside.txt")) == denied);        // '..'
  CHECK(broker(dir, grant, dir.path("data/link-out")) == denied);              // symlink, absolute
  CHECK(broker(dir, grant, dir.path("data/relative-out"), &audit) == denied);  // symlink, ..
  CHECK(test::withEvent(audit, "gate.deny")
            .at(0)["reason"]
            .get<std::string>()
            .find("leads out of its grant") != std::string::npos);
  CHECK(broker(dir, grant, dir.path("data/sub")) == denied);  // a directory is not a file
  // Without the grant, the capability itself is refused.
  CHECK(broker(dir, "log: {}", dir.path("data/sub/notes.txt")) == denied);
  // Over the byte budget: a resource limit.
  CHECK(broker(dir, "read_file: { paths: [" + dir.path("data") + "], max_bytes: 4 }",
               dir.path("data/sub/notes.txt")) == "status 3");  // CORDON_ERR_LIMIT
}
