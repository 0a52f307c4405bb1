#include "run/artifact_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace cordon {
namespace {

Error storeError(const std::string& what) {
  return makeError(ErrorCategory::kInternal, "artifact store: " + what);
}

std::string hex(const unsigned char* bytes, unsigned length) {
  static const char kHex[] = "0123456789abcdef";
  std::string text;
  for (unsigned i = 0; i < length; ++i) text += {kHex[bytes[i] >> 4], kHex[bytes[i] & 15]};
  return text;
}

}  // namespace

ArtifactStore::ArtifactStore(uint64_t memoryBudget, std::string spillDirectory)
    : budget_(memoryBudget), directory_(std::move(spillDirectory)) {}

Outcome<ArtifactMap> ArtifactStore::keep(ArtifactMap outputs,
                                         std::vector<SpilledArtifact>& spilled) {
  std::vector<std::string> names;
  for (const auto& [name, artifact] : outputs)
    if (artifact->inMemory() && counted_.count(artifact.get()) == 0) names.push_back(name);
  // Smallest first into memory, so the large ones are those that go to disk.
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return outputs[a]->size() < outputs[b]->size();
  });
  for (const std::string& name : names) {
    Artifact& artifact = outputs[name];
    if (counted_.count(artifact.get()) != 0) continue;
    if (directory_.empty() || inMemory_ + artifact->size() <= budget_) {
      inMemory_ += artifact->size();
      counted_.insert(artifact.get());
      continue;
    }
    SpilledArtifact record;
    record.name = name;
    auto written = spill(artifact, record);
    if (!written.ok()) return written.error();
    artifact = std::move(written.value());
    spilled.push_back(std::move(record));
  }
  return outputs;
}

Outcome<Artifact> ArtifactStore::spill(const Artifact& artifact, SpilledArtifact& record) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(fs::path(directory_) / "sha256", error);
  if (error) return storeError(directory_ + ": " + error.message());
  const std::string temporary =
      (fs::path(directory_) / ("incoming-" + std::to_string(getpid()) + "-" +
                               std::to_string(reinterpret_cast<uintptr_t>(artifact.get()))))
          .string();
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return storeError(temporary + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> hash(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(hash.get(), EVP_sha256(), nullptr);
  std::vector<char> chunk(std::min<uint64_t>(artifact->size(), 1 << 20));
  auto fail = [&](const std::string& what) -> Outcome<Artifact> {
    close(fd);
    unlink(temporary.c_str());
    return storeError(what);
  };
  for (uint64_t offset = 0; offset < artifact->size();) {
    const size_t length =
        static_cast<size_t>(std::min<uint64_t>(chunk.size(), artifact->size() - offset));
    auto copied = artifact->copyTo(offset, length, chunk.data());
    if (!copied.ok()) return fail(copied.error().message);
    EVP_DigestUpdate(hash.get(), chunk.data(), length);
    for (size_t done = 0; done < length;) {
      ssize_t wrote = write(fd, chunk.data() + done, length - done);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote <= 0) return fail(temporary + ": " + std::strerror(errno));
      done += static_cast<size_t>(wrote);
    }
    offset += length;
  }
  if (fsync(fd) != 0) return fail(temporary + ": " + std::strerror(errno));
  close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned digestLength = 0;
  EVP_DigestFinal_ex(hash.get(), digest, &digestLength);
  const std::string name = hex(digest, digestLength);
  const std::string path = (fs::path(directory_) / "sha256" / name).string();
  // The same bytes spilled before (by this run or another) are the same file.
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return storeError(path + ": " + std::strerror(errno));
  }
  auto opened = openInputFile(path, UINT64_MAX);
  if (!opened.ok()) return opened.error();
  record.bytes = artifact->size();
  record.digest = "sha256:" + name;
  record.path = path;
  return opened;
}

}  // namespace cordon
