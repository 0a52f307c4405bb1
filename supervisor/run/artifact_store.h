// Where a run's artifacts live: in memory (strings, sealed memfds) while they fit the run's
// memory budget, and beyond it in a content-addressed directory on disk (SHA-256 of the bytes,
// read-only files), from which they are read and mapped like input files. docs/state.md.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "run/artifacts.h"

namespace cordon {

inline constexpr uint64_t kDefaultArtifactMemoryBytes = 1ull << 30;  // --artifact-memory-mb
// A durable output up to this size (those held in memory, not in a memfd) is not written as a
// file: a file each cost more than the rest of the journal's work for a step (an inode each);
// its bytes go to the journal with its ArtifactDigested event instead, committed no later than
// the step's end.
inline constexpr uint64_t kInlineArtifactBytes = kLargeArtifactBytes;

struct SpilledArtifact {
  std::string name;
  uint64_t bytes = 0;
  std::string digest;  // "sha256:HEX"
  std::string path;
};

// Where the store keeps the bytes whose SHA-256 is `digest` ("sha256:HEX"): DIR/sha256/HEX.
std::string storedArtifactPath(const std::string& directory, const std::string& digest);

class ArtifactStore {
 public:
  // `spillDirectory` empty: nothing spills, whatever the budget. `durable`: every output is also
  // written into the directory (a journaled run, which `cordon resume` must be able to finish
  // from the files alone); the run goes on reading the bytes it holds.
  ArtifactStore(uint64_t memoryBudget, std::string spillDirectory, bool durable = false);

  // Takes a step's outputs. Those that would take the run's artifacts in memory past the budget
  // are written to the spill directory (largest first) and replaced by their file; the rest are
  // kept and counted. Each spilled one is in `spilled`. When durable, `stored` gets the digest
  // of every output, each in the directory before this returns.
  Outcome<ArtifactMap> keep(ArtifactMap outputs, std::vector<SpilledArtifact>& spilled,
                            std::map<std::string, std::string>& stored);

  uint64_t memoryBytes() const { return inMemory_; }
  // Whether keep() left this output, which it holds in memory, to the journal (durable, at most
  // kInlineArtifactBytes): then its ArtifactDigested carries the bytes.
  bool inlines(const ArtifactBytes& artifact) const {
    return durable_ && !directory_.empty() && artifact.inMemory() &&
           artifact.size() <= kInlineArtifactBytes;
  }

 private:
  Outcome<Artifact> spill(const Artifact& artifact, SpilledArtifact& record);
  // Writes the bytes into the directory under their SHA-256 (once: the same bytes are the same
  // file); `sync` fsyncs them first. Its digest and path.
  Outcome<SpilledArtifact> writeToStore(const Artifact& artifact, bool sync);

  uint64_t budget_;
  std::string directory_;
  bool durable_;
  uint64_t inMemory_ = 0;
  std::set<const ArtifactBytes*> counted_;  // an artifact kept by two names counts once
  // The digests this store wrote or checked in the directory in this run: the same bytes again
  // (a label, an empty output) are neither re-read nor re-written.
  std::set<std::string> held_;
  bool directoryMade_ = false;
};

}  // namespace cordon
