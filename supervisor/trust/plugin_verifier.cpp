#include "trust/plugin_verifier.h"

#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "trust/minisign.h"

namespace cordon {
namespace {

// "cordon-plugin name=N version=V abi=A [more words]" -> {name: N, version: V, abi: A}.
std::map<std::string, std::string> commentFields(const std::string& comment) {
  std::map<std::string, std::string> fields;
  std::istringstream words(comment);
  std::string word;
  words >> word;
  if (word != "cordon-plugin") return fields;
  while (words >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) fields.emplace(word.substr(0, eq), word.substr(eq + 1));
  }
  return fields;
}

class Verification {
 public:
  Verification(const PluginPackage& package, const RunAudit& audit)
      : package_(package), audit_(audit) {}

  Error refuse(ErrorCategory category, const std::string& reason) {
    record("refused", reason);
    return makeError(category, "plugin '" + package_.manifest.name + "' " +
                                   package_.manifest.version.text() + " (" + package_.objectPath() +
                                   ") refused: " + reason);
  }
  void record(const std::string& result, const std::string& reason) {
    audit_.record("plugin.verify", {{"plugin", package_.manifest.name},
                                    {"version", package_.manifest.version.text()},
                                    {"path", package_.objectPath()},
                                    {"digest", digest},
                                    {"key_id", keyId},
                                    {"result", result},
                                    {"reason", reason}});
  }

  std::string digest;
  std::string keyId;

 private:
  const PluginPackage& package_;
  const RunAudit& audit_;
};

Outcome<std::string> readSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError(ErrorCategory::kBadInput, path + ": cannot read");
  std::string text(8192, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

}  // namespace

std::string sha256FileDigest(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return "unavailable: cannot read " + path;
  std::stringstream bytes;
  bytes << file.rdbuf();
  return sha256Digest(bytes.str());
}

std::string sha256Digest(std::string_view bytes) {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  std::string text = "sha256:";
  char hex[3];
  for (unsigned i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    text += hex;
  }
  return text;
}

Outcome<VerifiedPlugin> verifyPlugin(const PluginPackage& package, const SignatureRules& rules,
                                     const TrustContext& trust, const RunAudit& audit) {
  Verification check(package, audit);
  const PluginManifest& manifest = package.manifest;
  auto object = SealedFile::readOnce(package.objectPath(), kMaxPluginBytes);
  if (!object.ok()) return check.refuse(ErrorCategory::kBadInput, object.error().message);
  VerifiedPlugin verified{package, object.value(), sha256Digest(object.value()->bytes()), ""};
  check.digest = verified.digest;

  if (trust.store != nullptr && trust.store->digestRevoked(verified.digest)) {
    return check.refuse(ErrorCategory::kPolicyDenial, "its digest " + verified.digest +
                                                          " is revoked in " +
                                                          trust.store->directory() + "/trust.yaml");
  }
  if (trust.ledger != nullptr && !rules.allowRollback) {
    auto highest = trust.ledger->highest(manifest.name);
    if (highest && manifest.version < *highest) {
      return check.refuse(ErrorCategory::kPolicyDenial,
                          "rollback: version " + manifest.version.text() + " is below " +
                              highest->text() + ", the highest this host has run (" +
                              trust.ledger->path() +
                              "), so it may be an old, vulnerable build put back on purpose; "
                              "run the newer version, or, only if the downgrade is yours, "
                              "set signature.allow_rollback: true in the policy, which "
                              "turns that protection off for the plugin");
    }
  }

  std::ifstream signatureFile(package.signaturePath());
  if (!signatureFile) {
    if (!rules.required) {
      check.record("unsigned_allowed", "no signature; the policy does not require one");
      return verified;
    }
    return check.refuse(ErrorCategory::kPolicyDenial,
                        "unsigned: " + package.signaturePath() +
                            " does not exist, and the policy requires a signature");
  }
  auto text = readSmallFile(package.signaturePath());
  if (!text.ok()) return check.refuse(ErrorCategory::kBadInput, text.error().message);
  auto signature = minisign::parseSignature(text.value());
  if (!signature.ok()) {
    return check.refuse(ErrorCategory::kBadInput,
                        package.signaturePath() + ": " + signature.error().message);
  }
  check.keyId = minisign::keyIdText(signature.value().keyId);
  verified.keyId = check.keyId;
  if (trust.store == nullptr) {
    return check.refuse(
        ErrorCategory::kPolicyDenial,
        "signed by key " + check.keyId + ", but no trust store is configured (--trust-store)");
  }
  if (trust.store->keyRevoked(check.keyId)) {
    return check.refuse(ErrorCategory::kPolicyDenial, "signed by key " + check.keyId +
                                                          ", which is revoked in " +
                                                          trust.store->directory() + "/trust.yaml");
  }
  const TrustedKey* key = trust.store->find(signature.value().keyId);
  if (key == nullptr) {
    return check.refuse(ErrorCategory::kPolicyDenial, "signed by key " + check.keyId +
                                                          ", which is not in the trust store " +
                                                          trust.store->directory());
  }
  if (!key->mayVouchFor(manifest.name)) {
    std::string scope;
    for (const auto& pattern : key->scope) scope += (scope.empty() ? "" : ", ") + pattern;
    return check.refuse(ErrorCategory::kPolicyDenial,
                        "key " + check.keyId + " (" + key->file + ") may not sign plugin '" +
                            manifest.name + "' (its scope: " + scope + ")");
  }
  // The comment first (its global signature does not depend on the file): a signature made for
  // another plugin or version is named as such, not reported as a damaged file.
  auto comment = minisign::verifyTrustedComment(key->key, signature.value());
  if (!comment.ok()) return check.refuse(comment.error().category, comment.error().message);
  auto fields = commentFields(signature.value().trustedComment);
  if (fields.empty()) {
    // minisign -S without -t writes "timestamp:...\tfile:..."; say which comment is expected.
    const bool minisignDefault = signature.value().trustedComment.rfind("timestamp:", 0) == 0;
    return check.refuse(ErrorCategory::kPolicyDenial,
                        std::string("the signature's trusted comment is ") +
                            (minisignDefault ? "minisign's default ('" : "'") +
                            signature.value().trustedComment + (minisignDefault ? "')" : "'") +
                            ", not the comment Cordon checks: sign with `cordon-sign package " +
                            package.directory + "`, or with minisign -S -m " +
                            package.objectPath() + " -t '" + trustedCommentFor(manifest) + "'");
  }
  const std::map<std::string, std::string> expected = {{"name", manifest.name},
                                                       {"version", manifest.version.text()},
                                                       {"abi", std::to_string(manifest.abi)}};
  for (const auto& [field, value] : expected) {
    auto said = fields.find(field);
    if (said == fields.end() || said->second != value) {
      return check.refuse(ErrorCategory::kPolicyDenial,
                          "the signature vouches for '" + signature.value().trustedComment +
                              "', not for " + field + " " + value + " (a signature for '" +
                              trustedCommentFor(manifest) + "' is needed)");
    }
  }
  auto valid =
      minisign::verify(key->key, signature.value(), object.value()->bytes(), rules.allowLegacy);
  if (!valid.ok()) return check.refuse(valid.error().category, valid.error().message);
  check.record("verified", signature.value().algorithm == minisign::Algorithm::kLegacy
                               ? "legacy Ed signature, allowed by the policy"
                               : "signature and trusted comment verified");
  return verified;
}

}  // namespace cordon
