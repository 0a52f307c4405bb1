// cgroup v2 limits for workers, when the machine delegates a cgroup v2 tree to the supervisor
// (memory, pids and cpu controllers in its own cgroup, writable). Each worker is born into a
// cgroup of its own (clone3 CLONE_INTO_CGROUP) holding memory.max, pids.max and cpu.max, so
// the limits are in force before its first instruction. Without a delegated tree the rlimits
// stand alone, and the supervisor says so once (stderr) and on every plugin.start record.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"

namespace cordon {

struct CgroupLimits {
  uint64_t memoryBytes = 0;  // memory.max
  uint64_t pids = 0;         // pids.max
  uint64_t cpuPercent = 0;   // cpu.max: this share of one CPU, 0 = no cap
};

// The cgroup v2 directory a process may use, from the texts of /proc/self/mountinfo and
// /proc/self/cgroup; an error saying why not (no cgroup2 mount, no v2 line).
Outcome<std::string> cgroupDirectory(const std::string& mountinfo, const std::string& selfCgroup);

// Whether `directory` offers what workers need: the memory, pids and cpu controllers and write
// access. The error names the missing piece.
Outcome<Done> checkDelegation(const std::string& directory);

// A worker's own cgroup, removed when the worker is gone.
class WorkerCgroup {
 public:
  ~WorkerCgroup();
  int fd() const { return fd_; }  // for clone3's CLONE_INTO_CGROUP
  const std::string& path() const { return path_; }
  bool oomKilled() const;  // memory.events: the kernel killed a task at memory.max

 private:
  friend class CgroupTree;
  WorkerCgroup(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

class CgroupTree {
 public:
  // The tree this process may use (adopted: see adopt()), or nullptr with the reason in
  // `whyNot`. The composition root (host/) calls it once and owns the result.
  static std::unique_ptr<CgroupTree> detect(std::string* whyNot);

  // A cgroup for one worker with `limits` written; the error says which write failed.
  Outcome<std::unique_ptr<WorkerCgroup>> create(const std::string& name,
                                                const CgroupLimits& limits);

  // Sets up `directory` as a tree for workers: the supervisor moves itself into a leaf of its
  // own, cordon-supervisor-PID (cgroup v2 allows controllers only for children of a cgroup
  // without processes), then enables memory, pids and cpu for the children. Empty leaves and
  // worker cgroups that dead supervisors left behind (SIGKILL) are removed first.
  static Outcome<std::unique_ptr<CgroupTree>> adopt(const std::string& directory);
  // Moves the supervisor back to `directory` and removes its leaf. Below the root cgroup the
  // kernel allows that only with the controllers off again, which is done only when nothing but
  // this leaf is below `directory` (no other run, nothing of the operator's); otherwise the
  // empty leaf stays until the next supervisor's adopt() removes it.
  ~CgroupTree();
  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  const std::string& directory() const { return directory_; }

 private:
  CgroupTree(std::string directory, std::string leaf)
      : directory_(std::move(directory)), leaf_(std::move(leaf)) {}
  std::string directory_;
  std::string leaf_;
  uint64_t created_ = 0;
};

// With a tree, the memory limit is cgroup v2 memory.max and the address-space rlimit only a
// looser backstop, this far above it.
uint64_t addressSpaceBackstop(uint64_t memoryBytes);

}  // namespace cordon
