// Where a run's artifacts live: in memory (strings, sealed memfds) while they fit the run's
// memory budget, and beyond it in a content-addressed directory on disk (SHA-256 of the bytes,
// read-only files), from which they are read and mapped like input files. docs/state.md.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "run/artifacts.h"

namespace cordon {

inline constexpr uint64_t kDefaultArtifactMemoryBytes = 1ull << 30;  // --artifact-memory-mb

struct SpilledArtifact {
  std::string name;
  uint64_t bytes = 0;
  std::string digest;  // "sha256:HEX"
  std::string path;
};

class ArtifactStore {
 public:
  // `spillDirectory` empty: nothing spills, whatever the budget.
  ArtifactStore(uint64_t memoryBudget, std::string spillDirectory);

  // Takes a step's outputs. Those that would take the run's artifacts in memory past the budget
  // are written to the spill directory (largest first) and replaced by their file; the rest are
  // kept and counted. Each spilled one is in `spilled`.
  Outcome<ArtifactMap> keep(ArtifactMap outputs, std::vector<SpilledArtifact>& spilled);

  uint64_t memoryBytes() const { return inMemory_; }

 private:
  Outcome<Artifact> spill(const Artifact& artifact, SpilledArtifact& record);

  uint64_t budget_;
  std::string directory_;
  uint64_t inMemory_ = 0;
  std::set<const ArtifactBytes*> counted_;  // an artifact kept by two names counts once
};

}  // namespace cordon
