#include "run/artifacts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cordon {
namespace {

class InMemoryArtifact final : public ArtifactBytes {
 public:
  explicit InMemoryArtifact(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Outcome<Done> copyTo(uint64_t offset, size_t length, char* out) const override {
    std::memcpy(out, bytes_.data() + offset, length);
    return Done{};
  }

 private:
  std::string bytes_;
};

bool sameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Read with pread on demand rather than mapped: a mapping turns a file that someone truncates
// during the run into SIGBUS in the supervisor, while pread just comes back short. The change
// check after each read covers rewrites of the same length too (ctime cannot be set back).
class InputFileArtifact final : public ArtifactBytes {
 public:
  InputFileArtifact(std::string path, int fd, const struct stat& opened)
      : path_(std::move(path)), fd_(fd), opened_(opened) {}
  ~InputFileArtifact() override { close(fd_); }
  InputFileArtifact(const InputFileArtifact&) = delete;
  InputFileArtifact& operator=(const InputFileArtifact&) = delete;

  uint64_t size() const override { return static_cast<uint64_t>(opened_.st_size); }

  Outcome<Done> copyTo(uint64_t offset, size_t length, char* out) const override {
    for (size_t done = 0; done < length;) {
      ssize_t got = pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        return makeError(ErrorCategory::kBadInput,
                         path_ + ": cannot read input file: " + std::strerror(errno));
      }
      if (got == 0) return changed();
      done += static_cast<size_t>(got);
    }
    struct stat now {};
    if (fstat(fd_, &now) != 0 || now.st_size != opened_.st_size ||
        !sameTime(now.st_mtim, opened_.st_mtim) || !sameTime(now.st_ctim, opened_.st_ctim)) {
      return changed();
    }
    return Done{};
  }

 private:
  Error changed() const {
    return makeError(ErrorCategory::kBadInput,
                     path_ + ": the input file changed while the run was reading it (it was " +
                         std::to_string(opened_.st_size) + " bytes when the run began)");
  }

  std::string path_;
  int fd_;
  struct stat opened_;
};

const char* fileKind(const struct stat& info) {
  if (S_ISDIR(info.st_mode)) return "a directory";
  if (S_ISFIFO(info.st_mode)) return "a FIFO";
  if (S_ISCHR(info.st_mode) || S_ISBLK(info.st_mode)) return "a device";
  if (S_ISSOCK(info.st_mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

Outcome<std::string> ArtifactBytes::head(size_t limit) const {
  std::string bytes(static_cast<size_t>(std::min<uint64_t>(limit, size())), '\0');
  auto copied = copyTo(0, bytes.size(), bytes.data());
  if (!copied.ok()) return copied.error();
  return bytes;
}

Artifact makeArtifact(std::string bytes) {
  return std::make_shared<const InMemoryArtifact>(std::move(bytes));
}

Outcome<Artifact> openInputFile(const std::string& path, uint64_t maxBytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer before its type is seen.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    return makeError(ErrorCategory::kBadInput,
                     path + ": cannot read input file: " + std::strerror(errno));
  }
  struct stat info {};
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    const std::string kind =
        fstat(fd, &info) != 0 ? "something that cannot be examined" : fileKind(info);
    close(fd);
    return makeError(ErrorCategory::kBadInput,
                     path + ": an input must be a regular file, and this is " + kind);
  }
  const auto size = static_cast<uint64_t>(info.st_size);
  if (size > maxBytes) {
    close(fd);
    return makeError(ErrorCategory::kBadInput,
                     path + ": input of " + std::to_string(size) + " bytes exceeds the limit of " +
                         std::to_string(maxBytes) + " bytes (--max-input-mb)");
  }
  return Artifact(std::make_shared<const InputFileArtifact>(path, fd, info));
}

}  // namespace cordon
