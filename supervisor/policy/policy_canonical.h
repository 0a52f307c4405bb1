// A policy section as canonical JSON: everything that governs a plugin after `extends` is
// resolved, nothing of where it was written (lines). Two sections that grant the same render the
// same bytes, so a step's cached result is keyed on what its plugin was allowed (docs/state.md,
// "Cached results"), not on the whole file.
#pragma once

#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace cordon {

nlohmann::json canonicalSection(const PluginPolicy& section);

}  // namespace cordon
