// Filesystem grants: a granted path is readable at the same place inside the sandbox and nothing
// else exists there; no escape (absolute paths, "..", symlinks, /proc) reaches the host, and a
// granted path is never writable.
#include <doctest/doctest.h>

#include <filesystem>

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
    return *run.report.outputs.at("result");
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

TEST_CASE("filesystem grants are validated before anything runs") {
  test::TempDir dir;
  std::string policy = dir.write("policy.yaml",
                                 "version: 1\nplugins:\n  file-reader:\n"
                                 "    filesystem: { read_only: [/does/not/exist] }\n");
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("file-reader"));
  auto checked = preflight(workflow, policy, test::trustOptions(), nullptr);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.error().category == ErrorCategory::kBadInput);
  CHECK(checked.error().message.find("/does/not/exist") != std::string::npos);
}
