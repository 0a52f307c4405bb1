#include "trust/trust_store.h"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/yaml_document.h"

namespace cordon {

bool TrustedKey::mayVouchFor(const std::string& plugin) const {
  return std::any_of(scope.begin(), scope.end(), [&](const std::string& pattern) {
    return fnmatch(pattern.c_str(), plugin.c_str(), 0) == 0;
  });
}

TrustStore TrustStore::load(const std::string& directory) {
  TrustStore store;
  store.directory_ = directory;
  const YamlDocument doc = YamlDocument::load(directory + "/trust.yaml");
  const YAML::Node root = doc.requireMap(doc.root(), "(top level)");
  doc.rejectUnknownKeys(root, "(top level)", {"keys", "revoked"});
  if (!root["keys"]) doc.fail(root, "keys", "missing: a trust store needs at least one key");
  const YAML::Node keys = doc.requireSequence(root["keys"], "keys");
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string field = "keys[" + std::to_string(i) + "]";
    doc.requireMap(keys[i], field);
    doc.rejectUnknownKeys(keys[i], field, {"file", "scope"});
    TrustedKey trusted;
    trusted.file = doc.requireString(keys[i], "file", field + ".file");
    if (trusted.file.find('/') != std::string::npos)
      doc.fail(keys[i]["file"], field + ".file", "must name a file inside the trust store");
    if (!keys[i]["scope"])
      doc.fail(keys[i], field + ".scope", "missing: say which plugins this key may sign");
    trusted.scope = doc.stringList(keys[i]["scope"], field + ".scope");
    if (trusted.scope.empty())
      doc.fail(keys[i]["scope"], field + ".scope", "empty: the key could sign nothing");
    std::ifstream in(directory + "/" + trusted.file);
    if (!in) doc.fail(keys[i]["file"], field + ".file", "cannot read " + trusted.file);
    std::stringstream text;
    text << in.rdbuf();
    auto key = minisign::parsePublicKey(text.str());
    if (!key.ok()) doc.fail(keys[i]["file"], field + ".file", key.error().message);
    trusted.key = key.value();
    if (store.find(trusted.key.id) != nullptr) {
      doc.fail(keys[i]["file"], field + ".file",
               "key " + minisign::keyIdText(trusted.key.id) + " is listed twice");
    }
    store.keys_.push_back(std::move(trusted));
  }
  if (const YAML::Node revoked = root["revoked"]) {
    doc.requireMap(revoked, "revoked");
    doc.rejectUnknownKeys(revoked, "revoked", {"keys", "digests"});
    if (revoked["keys"]) {
      auto ids = doc.stringList(revoked["keys"], "revoked.keys");
      for (size_t i = 0; i < ids.size(); ++i) {
        std::string id = ids[i];
        std::transform(id.begin(), id.end(), id.begin(), ::toupper);
        if (id.size() != 16 || id.find_first_not_of("0123456789ABCDEF") != std::string::npos)
          doc.fail(revoked["keys"][i], "revoked.keys[" + std::to_string(i) + "]",
                   "'" + ids[i] + "' is not a 16-digit hex key id");
        store.revokedKeys_.insert(id);
      }
    }
    if (revoked["digests"]) {
      auto digests = doc.stringList(revoked["digests"], "revoked.digests");
      for (size_t i = 0; i < digests.size(); ++i) {
        std::string digest = digests[i];
        std::transform(digest.begin(), digest.end(), digest.begin(), ::tolower);
        if (digest.rfind("sha256:", 0) != 0 || digest.size() != 7 + 64 ||
            digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
          doc.fail(revoked["digests"][i], "revoked.digests[" + std::to_string(i) + "]",
                   "'" + digests[i] + "' is not sha256:<64 hex digits>");
        store.revokedDigests_.insert(digest);
      }
    }
  }
  return store;
}

const TrustedKey* TrustStore::find(const minisign::KeyId& id) const {
  for (const auto& key : keys_) {
    if (key.key.id == id) return &key;
  }
  return nullptr;
}

}  // namespace cordon
