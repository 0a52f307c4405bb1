// One supervisor per run: a journaled run holds an exclusive flock on STATE_DIR/locks/RUN.lock
// for as long as its process lives (the kernel lets go when it dies, SIGKILL included), so
// cordon resume can tell a run whose supervisor died from one still going.
#pragma once

#include <string>

#include "core/error.h"

namespace cordon {

class RunLock {
 public:
  // The lock of run `runId` under `stateDir`; a bad_input error naming the file when another
  // process holds it.
  static Outcome<RunLock> take(const std::string& stateDir, const std::string& runId);
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock& operator=(RunLock&&) = delete;
  RunLock(const RunLock&) = delete;
  ~RunLock();

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cordon
