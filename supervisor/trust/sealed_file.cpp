#include "trust/sealed_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cordon {
namespace {

Error readError(const std::string& path, const std::string& what) {
  return makeError(ErrorCategory::kBadInput, path + ": " + what);
}

}  // namespace

Outcome<std::shared_ptr<SealedFile>> SealedFile::readOnce(const std::string& path,
                                                          size_t maxBytes) {
  int source = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (source < 0) return readError(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat info {};
  if (fstat(source, &info) != 0 || !S_ISREG(info.st_mode)) {
    close(source);
    return readError(path, "not a regular file");
  }
  int memfd = memfd_create("cordon-plugin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (memfd < 0) {
    close(source);
    return readError(path, std::string("memfd_create: ") + std::strerror(errno));
  }
  // Read until EOF rather than trusting st_size: the file may change while we read, and what we
  // got is what gets verified.
  size_t total = 0;
  char buffer[65536];
  std::string failure;
  for (;;) {
    ssize_t got = read(source, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0) break;
    if (got < 0) {
      failure = std::string("read: ") + std::strerror(errno);
    } else if (total + static_cast<size_t>(got) > maxBytes) {
      failure = "larger than " + std::to_string(maxBytes) + " bytes";
    } else if (write(memfd, buffer, static_cast<size_t>(got)) != got) {
      failure = std::string("write memfd: ") + std::strerror(errno);
    }
    if (!failure.empty()) break;
    total += static_cast<size_t>(got);
  }
  close(source);
  constexpr int kSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;
  if (failure.empty() && fcntl(memfd, F_ADD_SEALS, kSeals) != 0)
    failure = std::string("seal memfd: ") + std::strerror(errno);
  void* map = nullptr;
  if (failure.empty() && total > 0) {
    map = mmap(nullptr, total, PROT_READ, MAP_SHARED, memfd, 0);
    if (map == MAP_FAILED) failure = std::string("mmap memfd: ") + std::strerror(errno);
  }
  if (failure.empty() && total == 0) failure = "empty file";
  if (!failure.empty()) {
    if (map != nullptr && map != MAP_FAILED) munmap(map, total);
    close(memfd);
    return readError(path, failure);
  }
  return std::shared_ptr<SealedFile>(new SealedFile(memfd, map, total));
}

SealedFile::~SealedFile() {
  if (map_ != nullptr && map_ != MAP_FAILED) munmap(map_, size_);
  close(fd_);
}

}  // namespace cordon
