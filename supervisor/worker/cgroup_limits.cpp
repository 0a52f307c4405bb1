#include "worker/cgroup_limits.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace cordon {
namespace {

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Outcome<Done> writeText(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError(ErrorCategory::kInternal, "open " + path + ": " + std::strerror(errno));
  ssize_t written = write(fd, text.data(), text.size());
  int saved = errno;
  close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return makeError(ErrorCategory::kInternal,
                     "write '" + text + "' to " + path + ": " + std::strerror(saved));
  }
  return Done{};
}

}  // namespace

Outcome<std::string> cgroupDirectory(const std::string& mountinfo, const std::string& selfCgroup) {
  std::string mountPoint;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, device, root;
    fields >> id >> parent >> device >> root >> mountPoint;
    break;
  }
  if (mountPoint.empty())
    return makeError(ErrorCategory::kInternal, "no cgroup2 filesystem is mounted");
  std::istringstream entries(selfCgroup);
  for (std::string line; std::getline(entries, line);) {
    if (line.rfind("0::", 0) == 0) {
      std::string path = line.substr(3);
      return path == "/" ? mountPoint : mountPoint + path;
    }
  }
  return makeError(ErrorCategory::kInternal, "this process has no cgroup v2 membership");
}

Outcome<Done> checkDelegation(const std::string& directory) {
  std::istringstream controllers(readText(directory + "/cgroup.controllers"));
  std::set<std::string> available;
  for (std::string name; controllers >> name;) available.insert(name);
  std::string missing;
  for (const char* needed : {"memory", "pids", "cpu"}) {
    if (available.count(needed) == 0)
      missing += (missing.empty() ? "" : ", ") + std::string(needed);
  }
  if (!missing.empty()) {
    return makeError(ErrorCategory::kInternal,
                     "the cgroup v2 tree at " + directory + " lacks the " + missing +
                         " controller(s) (they are not delegated, or a cgroup v1 hierarchy "
                         "holds them)");
  }
  if (access(directory.c_str(), W_OK) != 0 ||
      access((directory + "/cgroup.subtree_control").c_str(), W_OK) != 0) {
    return makeError(ErrorCategory::kInternal,
                     "the cgroup v2 tree at " + directory + " is not writable by this user");
  }
  return Done{};
}

Outcome<std::unique_ptr<CgroupTree>> CgroupTree::adopt(const std::string& directory) {
  auto delegated = checkDelegation(directory);
  if (!delegated.ok()) return delegated.error();
  const std::string leaf = directory + "/cordon-supervisor";
  if (mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return makeError(ErrorCategory::kInternal, "mkdir " + leaf + ": " + std::strerror(errno));
  }
  auto moved = writeText(leaf + "/cgroup.procs", std::to_string(getpid()));
  if (!moved.ok()) return moved.error();
  auto enabled = writeText(directory + "/cgroup.subtree_control", "+memory +pids +cpu");
  if (!enabled.ok()) return enabled.error();
  return std::unique_ptr<CgroupTree>(new CgroupTree(directory));
}

CgroupTree* CgroupTree::forThisProcess(std::string* whyNot) {
  static std::once_flag once;
  static std::unique_ptr<CgroupTree> tree;
  static std::string reason;
  std::call_once(once, [] {
    auto directory =
        cgroupDirectory(readText("/proc/self/mountinfo"), readText("/proc/self/cgroup"));
    if (!directory.ok()) {
      reason = directory.error().message;
    } else {
      auto adopted = adopt(directory.value());
      if (adopted.ok()) {
        tree = std::move(adopted.value());
      } else {
        reason = adopted.error().message;
      }
    }
    if (!tree) {
      std::fprintf(stderr,
                   "cordon: note: no delegated cgroup v2 tree (%s); workers are limited by "
                   "rlimits only (memory as address space, CPU time, processes, files)\n",
                   reason.c_str());
    }
  });
  if (whyNot != nullptr) *whyNot = reason;
  return tree.get();
}

Outcome<std::unique_ptr<WorkerCgroup>> CgroupTree::create(const std::string& name,
                                                          const CgroupLimits& limits) {
  const std::string path = directory_ + "/cordon-worker-" + name + "-" + std::to_string(getpid()) +
                           "-" + std::to_string(++created_);
  if (mkdir(path.c_str(), 0755) != 0) {
    return makeError(ErrorCategory::kInternal, "mkdir " + path + ": " + std::strerror(errno));
  }
  int fd = open(path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  std::unique_ptr<WorkerCgroup> cgroup(new WorkerCgroup(path, fd));
  if (fd < 0)
    return makeError(ErrorCategory::kInternal, "open " + path + ": " + std::strerror(errno));
  std::string cpu = "max 100000";
  if (limits.cpuPercent != 0) cpu = std::to_string(limits.cpuPercent * 1000) + " 100000";
  for (const auto& [file, value] :
       {std::pair{"memory.max", std::to_string(limits.memoryBytes)},
        std::pair{"memory.swap.max", std::string("0")},
        std::pair{"pids.max", std::to_string(limits.pids)}, std::pair{"cpu.max", cpu}}) {
    auto written = writeText(path + "/" + file, value);
    // memory.swap.max exists only with swap accounting; the rest must take.
    if (!written.ok() && std::string(file) != "memory.swap.max") return written.error();
  }
  return cgroup;
}

WorkerCgroup::~WorkerCgroup() {
  if (fd_ >= 0) close(fd_);
  rmdir(path_.c_str());  // empty once the worker is reaped
}

bool WorkerCgroup::oomKilled() const {
  std::istringstream events(readText(path_ + "/memory.events"));
  for (std::string key; events >> key;) {
    uint64_t count = 0;
    events >> count;
    if (key == "oom_kill" && count > 0) return true;
  }
  return false;
}

}  // namespace cordon
