#include "worker/cgroup_limits.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
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

// The supervisor a Cordon cgroup belongs to: cordon-supervisor-PID, cordon-worker-NAME-PID-N.
std::optional<pid_t> ownerOf(const std::string& name) {
  std::string digits;
  if (name.rfind("cordon-supervisor-", 0) == 0) {
    digits = name.substr(18);
  } else if (name.rfind("cordon-worker-", 0) == 0) {
    const size_t last = name.rfind('-');
    const size_t before =
        last == std::string::npos || last == 0 ? std::string::npos : name.rfind('-', last - 1);
    if (before == std::string::npos || before < 14) return std::nullopt;
    digits = name.substr(before + 1, last - before - 1);
  }
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return static_cast<pid_t>(std::stoi(digits));
}

// What dead supervisors left (a SIGKILL leaves its cgroups behind). Only a dead owner's: an
// empty worker cgroup of a live one may be about to receive its worker.
void removeLeftovers(const std::string& directory) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    auto owner = ownerOf(entry.path().filename().string());
    if (owner && *owner != getpid() && kill(*owner, 0) != 0 && errno == ESRCH &&
        entry.is_directory(error)) {
      rmdir(entry.path().c_str());  // fails, harmlessly, if anything still runs in it
    }
  }
}

// flock on the tree's directory: supervisors sharing a tree set it up and take it down one at
// a time, so one never turns the controllers off under another.
class TreeLock {
 public:
  explicit TreeLock(const std::string& directory)
      : fd_(open(directory.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~TreeLock() {
    if (fd_ >= 0) close(fd_);
  }
  TreeLock(const TreeLock&) = delete;
  TreeLock& operator=(const TreeLock&) = delete;

 private:
  int fd_;
};

// Whether `leaf` is the only cgroup below `directory`.
bool onlyChild(const std::string& directory, const std::string& leaf) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    if (entry.is_directory(error) && entry.path().string() != leaf) return false;
  }
  return !error;
}

Outcome<std::unique_ptr<CgroupTree>> CgroupTree::adopt(const std::string& directory) {
  auto delegated = checkDelegation(directory);
  if (!delegated.ok()) return delegated.error();
  TreeLock lock(directory);
  removeLeftovers(directory);
  const std::string leaf = directory + "/cordon-supervisor-" + std::to_string(getpid());
  if (mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return makeError(ErrorCategory::kInternal, "mkdir " + leaf + ": " + std::strerror(errno));
  }
  std::unique_ptr<CgroupTree> tree(new CgroupTree(directory, leaf));
  auto moved = writeText(leaf + "/cgroup.procs", std::to_string(getpid()));
  if (!moved.ok()) return moved.error();
  auto enabled = writeText(directory + "/cgroup.subtree_control", "+memory +pids +cpu");
  if (!enabled.ok()) return enabled.error();
  return tree;
}

CgroupTree::~CgroupTree() {
  TreeLock lock(directory_);
  const std::string self = std::to_string(getpid());
  if (!writeText(directory_ + "/cgroup.procs", self).ok()) {
    // Not the root cgroup: a process may not sit beside enabled controllers. When nothing but
    // this leaf is left below (no other run, nothing of the operator's), turn them off again,
    // as they were before the first supervisor came, and move back.
    removeLeftovers(directory_);
    if (onlyChild(directory_, leaf_) &&
        writeText(directory_ + "/cgroup.subtree_control", "-memory -pids -cpu").ok()) {
      (void)writeText(directory_ + "/cgroup.procs", self);
    }
  }
  rmdir(leaf_.c_str());
}

uint64_t addressSpaceBackstop(uint64_t memoryBytes) {
  // Far enough above memory.max that the cgroup, which counts what the rlimit cannot (page
  // cache, tmpfs pages, kernel memory), always acts first on real use; still a bound on a
  // single absurd allocation.
  return std::max(memoryBytes * 4, memoryBytes + (uint64_t{1} << 30));
}

std::unique_ptr<CgroupTree> CgroupTree::detect(std::string* whyNot) {
  auto directory = cgroupDirectory(readText("/proc/self/mountinfo"), readText("/proc/self/cgroup"));
  if (!directory.ok()) {
    if (whyNot != nullptr) *whyNot = directory.error().message;
    return nullptr;
  }
  // Started by a process that is itself a supervisor (a test, a wrapper): its leaf holds
  // processes, so it cannot hold a tree; the tree is the one above it.
  std::string chosen = directory.value();
  const size_t slash = chosen.rfind('/');
  if (slash != std::string::npos && chosen.compare(slash + 1, 18, "cordon-supervisor-") == 0)
    chosen.erase(slash);
  auto adopted = adopt(chosen);
  if (!adopted.ok()) {
    if (whyNot != nullptr) *whyNot = adopted.error().message;
    return nullptr;
  }
  return std::move(adopted.value());
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
