// Artifacts are immutable byte strings shared between steps without copying. A plugin's output
// and an inline input are held in memory; an input file is held open and read on demand, so the
// supervisor never holds a file's bytes beyond the chunk a plugin asked for.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cordon {

class ArtifactBytes {
 public:
  ArtifactBytes() = default;
  ArtifactBytes(const ArtifactBytes&) = delete;
  ArtifactBytes& operator=(const ArtifactBytes&) = delete;
  virtual ~ArtifactBytes();
  virtual uint64_t size() const = 0;
  // Copies bytes [offset, offset + length) into `out` (the range must lie within size()). An
  // input file that changed since it was opened fails, so every step reads the bytes the run
  // started with, or none.
  virtual Outcome<Done> copyTo(uint64_t offset, size_t length, char* out) const = 0;

  // Whether its bytes take memory (a string, a memfd) rather than a file's pages.
  virtual bool inMemory() const { return true; }

  // The first `limit` bytes (all of them when the artifact is smaller).
  Outcome<std::string> head(size_t limit) const;

  // A new read-only descriptor of a sealed memfd holding the bytes (write, grow, shrink and the
  // seals themselves sealed), for a worker to map (Host.mapInput). The memfd is made once, on
  // first use, and shared: an input file is copied by the kernel (sendfile), never through the
  // supervisor's memory. The caller owns the descriptor.
  Outcome<int> openSealed() const;

 protected:
  explicit ArtifactBytes(int sealedMemfd) : memfd_(sealedMemfd) {}
  // Writes the bytes into the empty memfd `fd`; the default goes through copyTo.
  virtual Outcome<Done> fillMemfd(int fd) const;

 private:
  mutable int memfd_ = -1;
};

using Artifact = std::shared_ptr<const ArtifactBytes>;
using ArtifactMap = std::map<std::string, Artifact>;

Artifact makeArtifact(std::string bytes);

// Output names: 1-64 of a-z, 0-9, '_' and '-'.
bool isOutputName(const std::string& name);

// Above this size an artifact travels as a memfd, never through RPC messages or copies.
inline constexpr uint64_t kLargeArtifactBytes = 64 << 10;

// Bytes as an artifact: in memory up to kLargeArtifactBytes, above it a sealed memfd (one copy,
// no heap held for the run), ready to be mapped.
Outcome<Artifact> makeSealedArtifact(std::string_view bytes);

// A memfd of exactly `size` zero bytes for a worker to write an output into (Host.createOutput):
// growing and shrinking are sealed now, writing when sealOutputMemfd takes it.
Outcome<int> createOutputMemfd(uint64_t size);
// Seals the output memfd against writes (and further seal changes) and makes it an artifact.
// Fails while anyone still holds a writable shared mapping of it: the bytes could still change.
Outcome<Artifact> sealOutputMemfd(int fd);

// An input file: a regular file of at most `maxBytes`, checked on the open descriptor before a
// byte is read. Anything else (a directory, FIFO, device, socket) is bad_input.
Outcome<Artifact> openInputFile(const std::string& path, uint64_t maxBytes);

}  // namespace cordon
