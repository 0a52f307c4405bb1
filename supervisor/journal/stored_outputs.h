// A succeeded step's outputs read back from the artifact store, for cordon resume and cached
// results alike: each must be there, of the size and SHA-256 the journal holds, or none is used.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "journal/sqlite_db.h"
#include "run/artifacts.h"

namespace cordon {

struct StoredOutputs {
  ArtifactMap outputs;                         // each an open file in the store
  std::map<std::string, std::string> digests;  // output -> sha256:HEX, as checked
};

// The bytes the journal keeps inline under `digest` (schema 5's blobs), unchecked; nullopt when
// it keeps none (the output is a file in the store, or the journal predates inline outputs).
std::optional<std::string> inlineOutput(SqliteDb& db, const std::string& digest);

// The outputs `outputsJson` (the step row's name -> size) names, from the journal's inline bytes
// or `directory`; or why not (bad_input, naming the file or the digest).
Outcome<StoredOutputs> storedOutputs(SqliteDb& db, const std::string& runId,
                                     const std::string& step, const std::string& outputsJson,
                                     const std::string& directory);

}  // namespace cordon
