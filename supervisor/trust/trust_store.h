// The operator's trust store (docs/trust.md): a directory with trust.yaml naming minisign
// public keys and what each may sign, plus revoked keys and revoked plugin digests.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "trust/minisign.h"

namespace cordon {

struct TrustedKey {
  minisign::PublicKey key;
  std::string file;                // the .pub file it was read from
  std::vector<std::string> scope;  // plugin names or shell patterns ("acme-*") it may sign
  bool mayVouchFor(const std::string& plugin) const;
};

class TrustStore {
 public:
  // Throws InputError naming file:line:field.
  static TrustStore load(const std::string& directory);

  const std::string& directory() const { return directory_; }
  const std::vector<TrustedKey>& keys() const { return keys_; }
  const TrustedKey* find(const minisign::KeyId& id) const;
  bool keyRevoked(const std::string& keyIdText) const { return revokedKeys_.count(keyIdText) != 0; }
  // `digest` as "sha256:HEX".
  bool digestRevoked(const std::string& digest) const { return revokedDigests_.count(digest) != 0; }

 private:
  std::string directory_;
  std::vector<TrustedKey> keys_;
  std::set<std::string> revokedKeys_;
  std::set<std::string> revokedDigests_;
};

}  // namespace cordon
