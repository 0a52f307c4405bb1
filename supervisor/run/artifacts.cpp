#include "run/artifacts.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

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
  bool inMemory() const override { return false; }

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

  // The kernel copies the file into the memfd; the change check still applies to the result.
  Outcome<Done> fillMemfd(int memfd) const override {
    off_t offset = 0;
    while (static_cast<uint64_t>(offset) < size()) {
      ssize_t sent = sendfile(memfd, fd_, &offset, size() - static_cast<uint64_t>(offset));
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0)
        return makeError(ErrorCategory::kBadInput,
                         path_ + ": cannot copy input file: " + std::strerror(errno));
      if (sent == 0) return changed();
    }
    struct stat now {};
    if (fstat(fd_, &now) != 0 || now.st_size != opened_.st_size ||
        !sameTime(now.st_mtim, opened_.st_mtim) || !sameTime(now.st_ctim, opened_.st_ctim)) {
      return changed();
    }
    return Done{};
  }

  std::string path_;
  int fd_;
  struct stat opened_;
};

constexpr unsigned kAllSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

Error memfdError(const std::string& what) {
  return makeError(ErrorCategory::kInternal, what + ": " + std::strerror(errno));
}

// An artifact whose bytes are a sealed memfd: an output a worker wrote in place.
class SealedMemfdArtifact final : public ArtifactBytes {
 public:
  SealedMemfdArtifact(int fd, uint64_t size) : ArtifactBytes(fd), fd_(fd), size_(size) {}
  uint64_t size() const override { return size_; }
  Outcome<Done> copyTo(uint64_t offset, size_t length, char* out) const override {
    for (size_t done = 0; done < length;) {
      ssize_t got = pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return memfdError("reading an output memfd");
      done += static_cast<size_t>(got);
    }
    return Done{};
  }

 private:
  int fd_;  // owned by the base (its sealed memfd)
  uint64_t size_;
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

bool isOutputName(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

ArtifactBytes::~ArtifactBytes() {
  if (memfd_ >= 0) close(memfd_);
}

Outcome<Done> ArtifactBytes::fillMemfd(int fd) const {
  std::vector<char> chunk(std::min<uint64_t>(size(), 1 << 20));
  for (uint64_t offset = 0; offset < size();) {
    const size_t length = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size() - offset));
    auto copied = copyTo(offset, length, chunk.data());
    if (!copied.ok()) return copied;
    for (size_t done = 0; done < length;) {
      ssize_t wrote = write(fd, chunk.data() + done, length - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) return memfdError("filling a memfd");
      done += static_cast<size_t>(wrote);
    }
    offset += length;
  }
  return Done{};
}

Outcome<int> ArtifactBytes::openSealed() const {
  if (memfd_ < 0) {
    int fd = memfd_create("cordon-artifact", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return memfdError("memfd_create");
    auto filled = fillMemfd(fd);
    if (!filled.ok()) {
      close(fd);
      return filled.error();
    }
    if (fcntl(fd, F_ADD_SEALS, kAllSeals) != 0) {
      close(fd);
      return memfdError("sealing a memfd");
    }
    memfd_ = fd;
  }
  // A description of its own, read-only: the worker's descriptor cannot even ask to write.
  const std::string self = "/proc/self/fd/" + std::to_string(memfd_);
  int readOnly = open(self.c_str(), O_RDONLY | O_CLOEXEC);
  if (readOnly < 0) return memfdError("reopening a memfd read-only");
  return readOnly;
}

Outcome<Artifact> makeSealedArtifact(std::string_view bytes) {
  if (bytes.size() <= kLargeArtifactBytes) return makeArtifact(std::string(bytes));
  auto created = createOutputMemfd(bytes.size());
  if (!created.ok()) return created.error();
  const int fd = created.value();
  for (size_t done = 0; done < bytes.size();) {
    ssize_t wrote = pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      Error error = memfdError("filling a memfd");
      close(fd);
      return error;
    }
    done += static_cast<size_t>(wrote);
  }
  return sealOutputMemfd(fd);
}

Outcome<int> createOutputMemfd(uint64_t size) {
  int fd = memfd_create("cordon-output", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return memfdError("memfd_create");
  if (ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) != 0) {
    Error error = memfdError("preparing an output memfd");
    close(fd);
    return error;
  }
  return fd;
}

Outcome<Artifact> sealOutputMemfd(int fd) {
  struct stat info {};
  if (fcntl(fd, F_ADD_SEALS, kAllSeals) != 0) {
    const int reason = errno;
    close(fd);
    return makeError(ErrorCategory::kProtocolError,
                     reason == EBUSY
                         ? "the worker still holds a writable mapping of an output it "
                           "handed over; its bytes could still change"
                         : std::string("cannot seal an output: ") + std::strerror(reason));
  }
  if (fstat(fd, &info) != 0) {
    Error error = memfdError("fstat of an output memfd");
    close(fd);
    return error;
  }
  return Artifact(
      std::make_shared<const SealedMemfdArtifact>(fd, static_cast<uint64_t>(info.st_size)));
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
