// The key of a step with `cache: true` (docs/state.md, "Cached results"): the SHA-256 of a
// canonical JSON of everything that decides what the step produces and may do: the plugin's
// verified digest, its policy section as resolved, the step's config as written, each input's
// digest and, for a for_each step, its items. Two steps share a key only when all of it is equal.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/run_plan.h"

namespace cordon {

inline constexpr int kStepCacheKeyVersion = 1;

// The canonical JSON the key hashes; `inputDigests` by input name ("sha256:HEX"), and for a
// for_each step reading its items from an artifact, that artifact's digest.
nlohmann::json stepCacheMaterial(const Step& step, const PlannedPlugin& plugin,
                                 const std::map<std::string, std::string>& inputDigests,
                                 const std::optional<std::string>& itemsDigest);

// "sha256:HEX" of stepCacheMaterial's compact text.
std::string stepCacheKey(const nlohmann::json& material);

}  // namespace cordon
