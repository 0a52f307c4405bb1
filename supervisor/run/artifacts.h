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
  virtual ~ArtifactBytes() = default;
  virtual uint64_t size() const = 0;
  // Copies bytes [offset, offset + length) into `out` (the range must lie within size()). An
  // input file that changed since it was opened fails, so every step reads the bytes the run
  // started with, or none.
  virtual Outcome<Done> copyTo(uint64_t offset, size_t length, char* out) const = 0;

  // The first `limit` bytes (all of them when the artifact is smaller).
  Outcome<std::string> head(size_t limit) const;
};

using Artifact = std::shared_ptr<const ArtifactBytes>;
using ArtifactMap = std::map<std::string, Artifact>;

Artifact makeArtifact(std::string bytes);

// An input file: a regular file of at most `maxBytes`, checked on the open descriptor before a
// byte is read. Anything else (a directory, FIFO, device, socket) is bad_input.
Outcome<Artifact> openInputFile(const std::string& path, uint64_t maxBytes);

}  // namespace cordon
