// The sandbox as the kernel sees it: a live worker, inspected from outside through /proc. These
// are the properties docs/architecture.md promises before any plugin code runs.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "policy/policy_parser.h"
#include "run/audit_subscriber.h"
#include "test_support.h"
#include "trust/plugin_verifier.h"
#include "worker/sandbox_spec_builder.h"
#include "worker/worker_handle.h"

using namespace cordon;

namespace {

std::string statusField(pid_t pid, const std::string& key) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      auto value = line.substr(key.size() + 1);
      return value.substr(value.find_first_not_of(" \t"));
    }
  }
  return "";
}

std::string namespaceOf(const std::string& pid, const char* kind) {
  return std::filesystem::read_symlink("/proc/" + pid + "/ns/" + kind).string();
}

struct LiveWorker {
  test::TempDir dir;
  Policy policy = parsePolicy(YamlDocument::parse(R"(version: 1
plugins:
  text-transform:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 128, cpu_seconds: 7, open_files: 20 }
)",
                                                  "policy.yaml"));
  std::unique_ptr<AuditLog> audit = std::move(AuditLog::open(dir.path("audit.jsonl")).value());
  AuditSubscriber record{*audit};
  RunEvents events{record};
  std::shared_ptr<SealedFile> sealed;
  std::unique_ptr<WorkerHandle> worker;

  LiveWorker() {
    const PluginPolicy& section = *policy.forPlugin("text-transform");
    std::string plugin = test::pluginDirectories()[0] + "/text-transform/text-transform.so";
    auto spec = buildSandboxSpec("text-transform", plugin, section);
    REQUIRE(spec.ok());
    sealed = std::move(SealedFile::readOnce(plugin, kMaxPluginBytes).value());
    WorkerLaunch launch{"text-transform",
                        plugin,
                        sealed->fd(),
                        "",
                        "",
                        test::workerBinary(),
                        &section,
                        spec.value(),
                        test::host().cgroups(),
                        test::host().noCgroupReason()};
    auto started =
        WorkerHandle::start(test::eventLoop(), events, launch).wait(test::eventLoop().waitScope);
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? std::string() : started.error().describe()));
    worker = std::move(started.value());
  }
  ~LiveWorker() { worker->stop().wait(test::eventLoop().waitScope); }
};

}  // namespace

TEST_CASE_FIXTURE(LiveWorker, "a worker lives in namespaces of its own") {
  std::string pid = std::to_string(worker->pid());
  for (const char* kind : {"user", "pid", "mnt", "net", "ipc", "uts", "cgroup"}) {
    INFO("namespace " << kind);
    CHECK(namespaceOf(pid, kind) != namespaceOf("self", kind));
  }
  CHECK(statusField(worker->pid(), "NSpid").find("\t1") != std::string::npos);  // PID 1 inside
}

TEST_CASE_FIXTURE(LiveWorker, "a worker holds no privileges and is under seccomp") {
  CHECK(statusField(worker->pid(), "NoNewPrivs") == "1");
  CHECK(statusField(worker->pid(), "Seccomp") == "2");  // filter mode
  CHECK(statusField(worker->pid(), "Seccomp_filters") ==
        "1");  // one, with the supervisor listening
  CHECK(statusField(worker->pid(), "CapEff") == "0000000000000000");
  CHECK(statusField(worker->pid(), "CapPrm") == "0000000000000000");
  CHECK(statusField(worker->pid(), "CapBnd") == "0000000000000000");
  CHECK(statusField(worker->pid(), "CapAmb") == "0000000000000000");
}

TEST_CASE_FIXTURE(
    LiveWorker, "a worker has the policy's rlimits, an empty environment and fds 0-3 and 5 only") {
  std::ifstream limits("/proc/" + std::to_string(worker->pid()) + "/limits");
  std::string text((std::istreambuf_iterator<char>(limits)), {});
  CHECK(text.find("Max cpu time              7                    8") != std::string::npos);
  CHECK(text.find("Max open files            20                   20") != std::string::npos);
  CHECK(text.find("Max address space         134217728            134217728") != std::string::npos);
  CHECK(text.find("Max file size             0                    0") != std::string::npos);

  if (geteuid() != 0) {
    WARN("not root: /proc of a non-dumpable worker is closed to us; environment and fds unchecked");
    return;
  }
  std::ifstream environ("/proc/" + std::to_string(worker->pid()) + "/environ");
  CHECK(std::string((std::istreambuf_iterator<char>(environ)), {}).empty());
  std::map<int, std::string> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(worker->pid()) + "/fd")) {
    fds[std::stoi(entry.path().filename().string())] =
        std::filesystem::read_symlink(entry).string();
  }
  // 0-1 /dev/null, 2 the report pipe, 3 the RPC socket, 5 the control socket (the supervisor
  // sends memfds on it). Past those only what the worker's event loop made itself after the
  // sandbox was built (epoll, eventfd, which may reuse 4 and 6): nothing inherited, no file, no
  // other socket, not the spec memfd nor the plugin's.
  CHECK(fds.at(0) == "/dev/null");
  CHECK(fds.at(1) == "/dev/null");
  CHECK(fds.at(2).rfind("pipe:", 0) == 0);
  CHECK(fds.at(3).rfind("socket:", 0) == 0);
  REQUIRE(fds.count(5) == 1);
  CHECK(fds.at(5).rfind("socket:", 0) == 0);
  for (const auto& entry : fds) {
    if (entry.first <= 3 || entry.first == 5) continue;
    INFO("fd " << entry.first << " -> " << entry.second);
    CHECK(entry.second.rfind("anon_inode:", 0) == 0);
  }
}

TEST_CASE_FIXTURE(LiveWorker, "a worker's root holds nothing but its plugin") {
  if (geteuid() != 0) {
    WARN("not root: the worker's root is closed to us");
    return;
  }
  std::string root = "/proc/" + std::to_string(worker->pid()) + "/root";
  std::set<std::string> top;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    top.insert(entry.path().filename().string());
  }
  CHECK(top == std::set<std::string>{"plugin"});
  CHECK(std::filesystem::exists(root + "/plugin/text-transform.so"));
  CHECK_FALSE(std::filesystem::exists(root + "/etc/passwd"));
}

TEST_CASE_FIXTURE(LiveWorker,
                  "a worker is born into its own cgroup with the policy's limits, or "
                  "the start record says there is none") {
  auto records = test::readAudit(dir.path("audit.jsonl"));
  auto starts = test::withEvent(records, "plugin.start");
  REQUIRE(starts.size() == 1);
  const std::string cgroup = starts[0]["cgroup"];
  if (cgroup.rfind("none: ", 0) == 0) {
    // This machine delegates no cgroup v2 tree: the reason is recorded, rlimits stand alone.
    MESSAGE("no delegated cgroup v2 tree here: " << cgroup);
    CHECK(cgroup.size() > 6);
    return;
  }
  std::ifstream memoryMax(cgroup + "/memory.max");
  uint64_t memory = 0;
  memoryMax >> memory;
  CHECK(memory == 128ull << 20);
  std::ifstream procs(cgroup + "/cgroup.procs");
  pid_t member = 0;
  procs >> member;
  CHECK(member == worker->pid());
}
