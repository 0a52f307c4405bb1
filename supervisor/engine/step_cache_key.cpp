#include "engine/step_cache_key.h"

#include "core/untrusted_text.h"
#include "policy/policy_canonical.h"
#include "trust/plugin_verifier.h"

namespace cordon {
namespace {

// Bytes as they are: a string when they are UTF-8, else every byte in hex. Never the lossy
// replacement jsonText makes of invalid UTF-8, under which two configs could share a key.
nlohmann::json exactly(const std::string& bytes) {
  if (isValidUtf8(bytes)) return bytes;
  return {{"hex", hexBytes(bytes, bytes.size())}};
}

}  // namespace

nlohmann::json stepCacheMaterial(const Step& step, const PlannedPlugin& plugin,
                                 const std::map<std::string, std::string>& inputDigests,
                                 const std::optional<std::string>& itemsDigest) {
  nlohmann::json config = nlohmann::json::array();
  for (const auto& [key, value] : step.config) config.push_back({exactly(key), exactly(value)});
  nlohmann::json inputs = nlohmann::json::object();
  for (const auto& [name, digest] : inputDigests) inputs[name] = digest;
  nlohmann::json material = {
      {"cordon_step_cache", kStepCacheKeyVersion},
      {"plugin", step.plugin},
      {"plugin_digest", plugin.verified != nullptr ? plugin.verified->digest : ""},
      {"policy_section",
       plugin.section != nullptr ? sha256Digest(jsonText(canonicalSection(*plugin.section))) : ""},
      {"config", config},
      {"inputs", inputs},
  };
  if (step.forEach) {
    const ForEach& each = *step.forEach;
    nlohmann::json items = nlohmann::json::array();
    for (const std::string& item : each.literalItems) items.push_back(exactly(item));
    material["for_each"] = {{"items", itemsDigest ? nlohmann::json(*itemsDigest) : items},
                            {"format", each.format == ForEach::Format::kJson ? "json" : "lines"},
                            {"as", each.as}};
  }
  return material;
}

std::string stepCacheKey(const nlohmann::json& material) {
  return sha256Digest(jsonText(material));
}

}  // namespace cordon
