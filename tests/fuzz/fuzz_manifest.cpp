// libFuzzer: any bytes as a plugin.yaml, and any bytes as a version range.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/yaml_document.h"
#include "plugins/manifest.h"
#include "plugins/version.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    cordon::PluginManifest manifest = cordon::parseManifest(text, "plugin.yaml");
    (void)cordon::trustedCommentFor(manifest);
  } catch (const cordon::InputError&) {
  }
  if (auto range = cordon::VersionRange::parse(text)) {
    if (auto version = cordon::Version::parse(text)) (void)range->matches(*version);
  }
  return 0;
}
