#include "cli/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace cordon {

Outcome<RunLock> RunLock::take(const std::string& stateDir, const std::string& runId) {
  const std::filesystem::path directory = std::filesystem::path(stateDir) / "locks";
  std::error_code made;
  std::filesystem::create_directories(directory, made);
  const std::string path = (directory / (runId + ".lock")).string();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return makeError(ErrorCategory::kBadInput, path + ": cannot open: " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int reason = errno;
    close(fd);
    if (reason == EWOULDBLOCK) {
      return makeError(ErrorCategory::kBadInput,
                       "run " + runId + " is still going: another cordon holds " + path);
    }
    return makeError(ErrorCategory::kBadInput, path + ": cannot lock: " + std::strerror(reason));
  }
  return RunLock(fd);
}

RunLock::~RunLock() {
  if (fd_ >= 0) close(fd_);  // the run is over: the lock file stays, unlocked
}

}  // namespace cordon
