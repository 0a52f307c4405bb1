// Artifacts are immutable byte strings shared between steps without copying.
#pragma once

#include <map>
#include <memory>
#include <string>

namespace cordon {

using Artifact = std::shared_ptr<const std::string>;
using ArtifactMap = std::map<std::string, Artifact>;

inline Artifact makeArtifact(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

}  // namespace cordon
