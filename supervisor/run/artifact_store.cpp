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

#include "core/fault_point.h"
#include "run/artifact_digest.h"

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

namespace {

bool storedFileHolds(const std::string& path, const std::string& bytes) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return false;
  struct stat existing {};
  bool same = false;
  if (fstat(fd, &existing) == 0 && S_ISREG(existing.st_mode) &&
      static_cast<uint64_t>(existing.st_size) == bytes.size()) {
    std::string held(bytes.size(), '\0');
    size_t got = 0;
    while (got < held.size()) {
      const ssize_t n = read(fd, held.data() + got, held.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    same = got == held.size() && held == bytes;
  }
  close(fd);
  return same;
}

}  // namespace

std::string storedArtifactPath(const std::string& directory, const std::string& digest) {
  const std::string hexDigits = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
  return (std::filesystem::path(directory) / "sha256" / hexDigits).string();
}

ArtifactStore::ArtifactStore(uint64_t memoryBudget, std::string spillDirectory, bool durable)
    : budget_(memoryBudget), directory_(std::move(spillDirectory)), durable_(durable) {}

Outcome<ArtifactMap> ArtifactStore::keep(ArtifactMap outputs, std::vector<SpilledArtifact>& spilled,
                                         std::map<std::string, std::string>& stored) {
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
    stored[name] = record.digest;
    spilled.push_back(std::move(record));
  }
  if (durable_ && !directory_.empty()) {
    for (const auto& [name, artifact] : outputs) {
      if (stored.count(name) != 0) continue;
      if (inlines(*artifact)) {
        auto digest = digestArtifact(*artifact);
        if (!digest.ok()) return digest.error();
        stored[name] = digest.value();
        continue;
      }
      auto written = writeToStore(artifact, false);
      if (!written.ok()) return written.error();
      stored[name] = written.value().digest;
    }
  }
  return outputs;
}

Outcome<Artifact> ArtifactStore::spill(const Artifact& artifact, SpilledArtifact& record) {
  auto written = writeToStore(artifact, true);
  if (!written.ok()) return written.error();
  auto opened = openInputFile(written.value().path, UINT64_MAX);
  if (!opened.ok()) return opened.error();
  record.bytes = written.value().bytes;
  record.digest = written.value().digest;
  record.path = written.value().path;
  return opened;
}

Outcome<SpilledArtifact> ArtifactStore::writeToStore(const Artifact& artifact, bool sync) {
  namespace fs = std::filesystem;
  if (!directoryMade_) {
    std::error_code error;
    fs::create_directories(fs::path(directory_) / "sha256", error);
    if (error) return storeError(directory_ + ": " + error.message());
    directoryMade_ = true;
  }
  SpilledArtifact record;
  record.bytes = artifact->size();
  // A small one is hashed first: bytes the store holds already are not written again.
  if (artifact->size() <= kLargeArtifactBytes) {
    auto bytes = artifact->head(artifact->size());
    if (!bytes.ok()) return storeError(bytes.error().message);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digestLength = 0;
    EVP_Digest(bytes.value().data(), bytes.value().size(), digest, &digestLength, EVP_sha256(),
               nullptr);
    record.digest = "sha256:" + hex(digest, digestLength);
    record.path = storedArtifactPath(directory_, record.digest);
    // Only when the file there holds these very bytes: one a crash or a hand damaged is
    // written again (renamed over), not trusted for its name and size.
    if (held_.count(record.digest) != 0) return record;
    if (storedFileHolds(record.path, bytes.value())) {
      held_.insert(record.digest);
      return record;
    }
  }
  const std::string temporary =
      (fs::path(directory_) / ("incoming-" + std::to_string(getpid()) + "-" +
                               std::to_string(reinterpret_cast<uintptr_t>(artifact.get()))))
          .string();
  unlink(temporary.c_str());  // a crashed supervisor's, whose pid this one has now
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0) return storeError(temporary + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> hash(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(hash.get(), EVP_sha256(), nullptr);
  std::vector<char> chunk(std::max<uint64_t>(1, std::min<uint64_t>(artifact->size(), 1 << 20)));
  auto fail = [&](const std::string& what) -> Outcome<SpilledArtifact> {
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
    faultPoint("artifact.write");  // a crash with the file half written, not yet in the store
  }
  if (sync && fsync(fd) != 0) return fail(temporary + ": " + std::strerror(errno));
  close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned digestLength = 0;
  EVP_DigestFinal_ex(hash.get(), digest, &digestLength);
  record.digest = "sha256:" + hex(digest, digestLength);
  record.path = storedArtifactPath(directory_, record.digest);
  // The same bytes stored before (by this run or another) are the same file.
  if (rename(temporary.c_str(), record.path.c_str()) != 0) {
    unlink(temporary.c_str());
    return storeError(record.path + ": " + std::strerror(errno));
  }
  faultPoint("artifact.stored");
  held_.insert(record.digest);
  return record;
}

}  // namespace cordon
