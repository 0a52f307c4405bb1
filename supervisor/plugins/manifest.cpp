#include "plugins/manifest.h"

#include "core/yaml_document.h"
#include "policy/policy.h"

namespace cordon {

bool isPluginName(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  return text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string::npos;
}

namespace {

PluginManifest parseDocument(const YamlDocument& doc) {
  const YAML::Node& root = doc.requireMap(doc.root(), "(top level)");
  doc.rejectUnknownKeys(
      root, "(top level)",
      {"name", "version", "abi", "entry", "description", "stateless", "requests"});
  PluginManifest manifest;
  manifest.path = doc.path();
  manifest.name = doc.requireString(root, "name", "name");
  if (!isPluginName(manifest.name))
    doc.fail(root["name"], "name", "must be 1-64 characters of a-z, 0-9, '_' or '-'");
  const std::string version = doc.requireString(root, "version", "version");
  auto parsed = Version::parse(version);
  if (!parsed) doc.fail(root["version"], "version", "'" + version + "' is not MAJOR.MINOR.PATCH");
  manifest.version = *parsed;
  if (!root["abi"]) doc.fail(root, "abi", "missing");
  manifest.abi = static_cast<unsigned>(doc.unsignedInteger(root["abi"], "abi", 1, 1000));
  if (manifest.abi != kSupportedPluginAbi) {
    doc.fail(root["abi"], "abi",
             "ABI " + std::to_string(manifest.abi) + " is not supported (this cordon speaks " +
                 std::to_string(kSupportedPluginAbi) + ")");
  }
  manifest.entry = doc.requireString(root, "entry", "entry");
  if (manifest.entry.find('/') != std::string::npos ||
      manifest.entry.rfind(".so") == std::string::npos || manifest.entry.front() == '.') {
    doc.fail(root["entry"], "entry", "must be a file name ending in .so, inside the package");
  }
  if (root["description"]) manifest.description = doc.scalar(root["description"], "description");
  if (root["stateless"]) {
    const std::string stateless = doc.scalar(root["stateless"], "stateless");
    if (stateless != "true" && stateless != "false")
      doc.fail(root["stateless"], "stateless", "must be true or false");
    manifest.stateless = stateless == "true";
  }
  if (const YAML::Node requests = root["requests"]) {
    doc.requireMap(requests, "requests");
    doc.rejectUnknownKeys(requests, "requests", {"host", "syscalls", "filesystem"});
    if (requests["host"]) {
      manifest.hostCapabilities = doc.stringList(requests["host"], "requests.host");
      for (size_t i = 0; i < manifest.hostCapabilities.size(); ++i) {
        if (!hostCapabilityFromName(manifest.hostCapabilities[i])) {
          doc.fail(requests["host"][i], "requests.host[" + std::to_string(i) + "]",
                   "unknown host capability (log, read_input, read_file, map_input)");
        }
      }
    }
    if (requests["syscalls"])
      manifest.syscalls = doc.stringList(requests["syscalls"], "requests.syscalls");
    if (const YAML::Node filesystem = requests["filesystem"]) {
      doc.requireMap(filesystem, "requests.filesystem");
      doc.rejectUnknownKeys(filesystem, "requests.filesystem", {"read_only"});
      if (filesystem["read_only"]) {
        manifest.readOnlyPaths =
            doc.stringList(filesystem["read_only"], "requests.filesystem.read_only");
      }
    }
  }
  return manifest;
}

}  // namespace

PluginManifest loadManifest(const std::string& path) {
  return parseDocument(YamlDocument::load(path));
}

PluginManifest parseManifest(const std::string& text, const std::string& path) {
  return parseDocument(YamlDocument::parse(text, path));
}

std::string trustedCommentFor(const PluginManifest& manifest) {
  return "cordon-plugin name=" + manifest.name + " version=" + manifest.version.text() +
         " abi=" + std::to_string(manifest.abi);
}

}  // namespace cordon
