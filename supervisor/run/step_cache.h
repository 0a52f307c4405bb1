// Where a step with `cache: true` looks for an earlier result (docs/state.md, "Cached results"):
// the engine keys the step, the journal answers with a successful step of that key whose outputs
// the artifact store still holds, intact. The engine never sees the journal.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "run/artifacts.h"

namespace cordon {

struct CacheHit {
  std::string runId;  // the run whose step left the outputs
  std::string step;
  ArtifactMap outputs;                         // from the store, each checked against its digest
  std::map<std::string, std::string> digests;  // output -> sha256:HEX
};

class StepCache {
 public:
  virtual ~StepCache() = default;
  // The newest successful step keyed `key` whose outputs are all in the store as journaled;
  // nullopt when there is none. What was found but could not be used (an output missing or
  // changed) is said in `warnings`.
  virtual std::optional<CacheHit> find(const std::string& key,
                                       std::vector<std::string>& warnings) = 0;
};

}  // namespace cordon
