// Resource limits on a real cgroup v2 kernel. These run only where a cgroup v2 tree with the
// memory, pids and cpu controllers is delegated to the test (tools/checks/cgroup-vm.sh boots one
// under QEMU); anywhere else each test fails, rather than passing without having looked.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test_support.h"
#include "worker/cgroup_limits.h"

using namespace cordon;

namespace {

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The delegated tree this process uses; fails the test when there is none.
std::string treeDirectory() {
  CgroupTree* tree = test::host().cgroups();
  REQUIRE_MESSAGE(tree != nullptr,
                  "no delegated cgroup v2 tree: " << test::host().noCgroupReason());
  return tree->directory();
}

// Cgroups of Cordon's in `directory` other than this test process's own leaf.
std::vector<std::string> cordonCgroups(const std::string& directory) {
  std::vector<std::string> found;
  const std::string mine = "cordon-supervisor-" + std::to_string(getpid());
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("cordon-", 0) == 0 && name != mine) found.push_back(name);
  }
  return found;
}

uint64_t cpuUsageMicros(const std::string& cgroup) {
  std::istringstream stat(readText(cgroup + "/cpu.stat"));
  for (std::string key; stat >> key;) {
    uint64_t value = 0;
    stat >> value;
    if (key == "usage_usec") return value;
  }
  FAIL("no usage_usec in " << cgroup << "/cpu.stat");
  return 0;
}

// `cordon run` of one busy step (it spins until killed) in the background.
struct BackgroundRun {
  pid_t supervisor;
  std::string workerCgroup;
};

BackgroundRun startSpinningRun(const test::TempDir& dir, const std::string& limits) {
  dir.write("policy.yaml",
            "version: 1\nplugins:\n  endless-loop:\n"
            "    calls: [describe, init, execute, shutdown]\n"
            "    limits: { " +
                limits + " }\n    timeout_ms: 60000\n");
  dir.write("spin.yaml",
            "name: spin\ninputs:\n  text: { value: \"x\" }\nsteps:\n"
            "  - { name: spin, plugin: endless-loop, inputs: { text: inputs.text } }\n");
  pid_t pid =
      test::startCordon("run " + dir.path("spin.yaml") + " --policy " + dir.path("policy.yaml") +
                            " --audit-log " + dir.path("audit.jsonl"),
                        dir.path("out.txt"));
  // Up to 60 s: the guest is emulated.
  nlohmann::json start =
      test::waitForRunningStep(dir.path("audit.jsonl"), std::chrono::milliseconds(60000));
  if (start.is_null()) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL("the spinning run did not start: " << readText(dir.path("out.txt")));
  }
  return {pid, start["cgroup"].get<std::string>()};
}

int stop(const BackgroundRun& run) {
  kill(run.supervisor, SIGTERM);
  int status = 0;
  waitpid(run.supervisor, &status, 0);
  return status;
}

}  // namespace

TEST_CASE(
    "cgroup v2: memory.max stops a plugin that fills /scratch under its address-space limit") {
  const std::string tree = treeDirectory();
  test::TempDir dir;
  // 64 MiB of memory, 512 MiB of scratch: without the cgroup, RLIMIT_AS never sees tmpfs pages
  // and the plugin writes until the mount is full.
  const std::string policy = dir.write(
      "policy.yaml",
      "version: 1\nplugins:\n  scratch-fill:\n    calls: [describe, init, execute, shutdown]\n"
      "    host: { read_input: { max_bytes: 1048576 } }\n"
      "    filesystem: { scratch_mb: 512 }\n"
      "    limits: { memory_mb: 64, cpu_seconds: 60, open_files: 32, file_size_mb: 512 }\n"
      "    timeout_ms: 60000\n");
  const std::string workflow =
      dir.write("fill.yaml", test::oneStepWorkflow("scratch-fill", "result"));
  auto run = test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
  if (run.report.ok())
    FAIL("the plugin ran to the end: " << test::bytesOf(run.report.outputs.at("result")));
  REQUIRE(run.report.error.has_value());
  CHECK(run.report.error->category == ErrorCategory::kResourceLimit);
  CHECK(run.report.error->message.find("cgroup memory.max (64 MiB)") != std::string::npos);
  CHECK(run.report.error->message.find("OOM") != std::string::npos);
  CHECK(run.report.error->message.find("(plugins.scratch-fill.limits.memory_mb)") !=
        std::string::npos);
  auto limits = test::withEvent(run.audit, "resource.limit");
  REQUIRE(limits.size() == 1);
  CHECK(limits[0]["limit"] == "memory.max");
  auto starts = test::withEvent(run.audit, "plugin.start");
  REQUIRE(starts.size() == 1);
  CHECK(starts[0]["cgroup"].get<std::string>().rfind(tree + "/cordon-worker-scratch-fill-", 0) ==
        0);
}

TEST_CASE("cgroup v2: a running worker's cgroup holds its limits, and cpu_percent is a CPU share") {
  const std::string tree = treeDirectory();
  test::TempDir dir;
  auto run = startSpinningRun(
      dir, "memory_mb: 96, cpu_seconds: 60, open_files: 32, processes: 7, cpu_percent: 25");
  INFO(run.workerCgroup);
  CHECK(readText(run.workerCgroup + "/memory.max") == std::to_string(96 << 20) + "\n");
  CHECK(readText(run.workerCgroup + "/pids.max") == "7\n");
  CHECK(readText(run.workerCgroup + "/cpu.max") == "25000 100000\n");
  CHECK(readText(run.workerCgroup + "/cgroup.procs") != "");

  // A CPU-bound plugin at 25 %: a quarter of one CPU, measured by the kernel over 2 s.
  const uint64_t before = cpuUsageMicros(run.workerCgroup);
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const uint64_t used = cpuUsageMicros(run.workerCgroup) - before;
  const double wall =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  const double share = static_cast<double>(used) / wall;
  MESSAGE("cpu share at cpu_percent 25: " << share);
  CHECK(share > 0.20);
  CHECK(share < 0.30);

  const int status = stop(run);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 143));
  CHECK_FALSE(std::filesystem::exists(run.workerCgroup));
}

TEST_CASE("cgroup v2: after runs, concurrent ones included, no cgroup of Cordon's is left") {
  const std::string tree = treeDirectory();
  CHECK(cordonCgroups(tree).empty());
  constexpr int kRuns = 3;
  std::vector<std::unique_ptr<test::TempDir>> dirs;
  std::vector<pid_t> runs;
  for (int i = 0; i < kRuns; ++i) {
    dirs.push_back(std::make_unique<test::TempDir>());
    pid_t pid =
        test::startCordon("run " + test::sourcePath("examples/text-pipeline/workflow.yaml") +
                              " --policy " + test::sourcePath("policies/default.yaml") +
                              " --audit-log " + dirs.back()->path("audit.jsonl"),
                          dirs.back()->path("out.txt"));
    runs.push_back(pid);
  }
  std::set<std::string> workerCgroups;
  for (int i = 0; i < kRuns; ++i) {
    int status = 0;
    REQUIRE(waitpid(runs[i], &status, 0) == runs[i]);
    INFO(readText(dirs[i]->path("out.txt")));
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    for (const auto& start :
         test::withEvent(test::readAudit(dirs[i]->path("audit.jsonl")), "plugin.start"))
      workerCgroups.insert(start["cgroup"].get<std::string>());
  }
  CHECK(workerCgroups.size() == 3 * kRuns);  // every worker in a cgroup of its own
  for (const auto& cgroup : workerCgroups) CHECK(cgroup.rfind(tree + "/cordon-worker-", 0) == 0);
  auto left = cordonCgroups(tree);
  INFO(left.size());
  for (const auto& name : left) MESSAGE("left behind: " << name);
  CHECK(left.empty());
}

TEST_CASE("cgroup v2: what a SIGKILLed supervisor left is removed by the next one") {
  const std::string tree = treeDirectory();
  test::TempDir dir;
  auto run = startSpinningRun(dir, "memory_mb: 64, cpu_seconds: 60, open_files: 32");
  REQUIRE(kill(run.supervisor, SIGKILL) == 0);
  REQUIRE(waitpid(run.supervisor, nullptr, 0) == run.supervisor);
  for (int i = 0; i < 100 && !readText(run.workerCgroup + "/cgroup.procs").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // PDEATHSIG ends the worker
  CHECK(std::filesystem::exists(run.workerCgroup));               // nobody was left to remove it
  test::TempDir next;
  test::Command again = test::runCordon(
      "run " + test::sourcePath("examples/text-pipeline/workflow.yaml") + " --policy " +
      test::sourcePath("policies/default.yaml") + " --audit-log " + next.path("audit.jsonl"));
  INFO(again.output);
  CHECK(again.exitCode == 0);
  CHECK_FALSE(std::filesystem::exists(run.workerCgroup));
  CHECK(cordonCgroups(tree).empty());
}

TEST_CASE("cgroup v2: an unprivileged supervisor uses a subtree delegated to it") {
  const std::string tree = treeDirectory();
  REQUIRE_MESSAGE(geteuid() == 0, "delegating a subtree needs root");
  test::TempDir dir;
  // As a delegating manager does: a subtree owned by nobody, which nobody's processes start in.
  const std::string delegated = tree + "/cordon-test-delegated-" + std::to_string(getpid());
  REQUIRE(std::filesystem::create_directory(delegated));
  for (const char* file : {"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"})
    REQUIRE(chown((delegated + file).c_str(), 65534, 65534) == 0);
  std::filesystem::permissions(dir.path(""), std::filesystem::perms::all);
  std::string cordon = test::cordonCommandLine(
      "run " + test::sourcePath("examples/text-pipeline/workflow.yaml") + " --policy " +
      test::sourcePath("policies/default.yaml") + " --audit-log " + dir.path("audit.jsonl"));
  const size_t state = cordon.find("CORDON_STATE_DIR=");  // one nobody can write
  REQUIRE(state != std::string::npos);
  cordon.replace(state, cordon.find(' ', state) - state, "CORDON_STATE_DIR=" + dir.path("state"));
  const std::string line = "echo $$ > " + delegated +
                           "/cgroup.procs && exec setpriv --reuid=65534 --regid=65534 "
                           "--clear-groups env " +
                           cordon;
  test::Command run = test::runShell(line);
  INFO(run.output);
  CHECK(run.exitCode == 0);
  auto starts = test::withEvent(test::readAudit(dir.path("audit.jsonl")), "plugin.start");
  REQUIRE(starts.size() == 3);
  for (const auto& start : starts)
    CHECK(start["cgroup"].get<std::string>().rfind(delegated + "/cordon-worker-", 0) == 0);
  // Its leaf and the workers' cgroups are gone, and the subtree is as it was handed over.
  CHECK(cordonCgroups(delegated).empty());
  CHECK(readText(delegated + "/cgroup.subtree_control").find("memory") == std::string::npos);
  CHECK(rmdir(delegated.c_str()) == 0);
}
