// The minisign formats (https://jedisct1.github.io/minisign/, docs/trust.md): public keys,
// unencrypted secret keys, and signatures with a trusted comment, all Ed25519 via OpenSSL.
// Signatures made here verify with the minisign tool and the other way round.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace cordon::minisign {

using KeyId = std::array<unsigned char, 8>;

// How minisign prints a key id: the 8 bytes as a little-endian integer, upper-case hex.
std::string keyIdText(const KeyId& id);

struct PublicKey {
  KeyId id{};
  std::array<unsigned char, 32> key{};
};

struct SecretKey {
  KeyId id{};
  std::array<unsigned char, 32> seed{};
  std::array<unsigned char, 32> publicKey{};
};

enum class Algorithm {
  kPrehashed,  // "ED": Ed25519 over BLAKE2b-512 of the file (minisign's default)
  kLegacy,     // "Ed": Ed25519 over the file itself
};

struct Signature {
  Algorithm algorithm = Algorithm::kPrehashed;
  KeyId keyId{};
  std::array<unsigned char, 64> signature{};
  std::string untrustedComment;
  std::string trustedComment;
  std::array<unsigned char, 64> globalSignature{};  // over signature || trusted comment
};

// A .pub file ("untrusted comment: ..." then the key) or the bare base64 line.
Outcome<PublicKey> parsePublicKey(std::string_view text);
std::string formatPublicKey(const PublicKey& key);

// Unencrypted keys (minisign -G -W), or minisign's default password-protected ones
// (scrypt, as libsodium's crypto_pwhash_scryptsalsa208sha256) when `password` is given.
Outcome<SecretKey> parseSecretKey(std::string_view text,
                                  const std::optional<std::string>& password = std::nullopt);
std::string formatSecretKey(const SecretKey& key);

Outcome<Signature> parseSignature(std::string_view text);
std::string formatSignature(const Signature& signature);

std::pair<SecretKey, PublicKey> generateKeyPair();
PublicKey publicKeyOf(const SecretKey& key);

Signature sign(const SecretKey& key, std::string_view message, std::string trustedComment,
               std::string untrustedComment = "signature from cordon-sign secret key",
               Algorithm algorithm = Algorithm::kPrehashed);

// Ed25519 over `message` itself with a minisign key pair, no prehash and no comment: the
// signature a DSSE envelope carries (a run receipt, docs/trust.md "Run receipts").
std::array<unsigned char, 64> signBytes(const SecretKey& key, std::string_view message);
bool verifyBytes(const PublicKey& key, const std::array<unsigned char, 64>& signature,
                 std::string_view message);

// Only the global signature: proves the trusted comment is the signer's, whatever the file.
Outcome<Done> verifyTrustedComment(const PublicKey& key, const Signature& signature);

// Checks, in minisign's order: the key ids match, the signature covers `message`, the global
// signature covers the trusted comment. Each failure has its own message.
Outcome<Done> verify(const PublicKey& key, const Signature& signature, std::string_view message,
                     bool allowLegacy);

}  // namespace cordon::minisign
