#include "trust/minisign.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "trust/base64.h"
#include "trust/blake2b.h"

namespace cordon::minisign {
namespace {

constexpr char kUntrustedPrefix[] = "untrusted comment: ";
constexpr char kTrustedPrefix[] = "trusted comment: ";
constexpr size_t kMaxCommentBytes = 1024;  // minisign's own bound

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Error bad(const std::string& what) {
  return makeError(ErrorCategory::kBadInput, what);
}

// Splits into lines, accepting "\n" and "\r\n" endings. A carriage return anywhere else is
// refused: "x\r\r\n" would otherwise read as "x\r", which formats as "x\r\n" and reads back
// as "x", so the text signed and the text shown could differ.
Outcome<std::vector<std::string_view>> lines(std::string_view text, const char* what) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      return bad(std::string(what) + ": line " + std::to_string(out.size() + 1) +
                 " holds a carriage return that does not end the line");
    }
    out.push_back(line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

std::vector<unsigned char> blake2b512(std::string_view message) {
  std::vector<unsigned char> digest(64);
  unsigned int length = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &length, EVP_blake2b512(),
                 nullptr) != 1 ||
      length != 64) {
    throw std::runtime_error("OpenSSL BLAKE2b-512 failed");
  }
  return digest;
}

std::array<unsigned char, 64> ed25519Sign(const SecretKey& key, std::string_view message) {
  PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key.seed.data(), key.seed.size()),
      EVP_PKEY_free);
  MdCtxPtr ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::array<unsigned char, 64> signature{};
  size_t length = signature.size();
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    throw std::runtime_error("OpenSSL Ed25519 signing failed");
  }
  return signature;
}

bool ed25519Verify(const std::array<unsigned char, 32>& publicKey,
                   const std::array<unsigned char, 64>& signature, std::string_view message) {
  PkeyPtr pkey(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, publicKey.data(), publicKey.size()),
      EVP_PKEY_free);
  MdCtxPtr ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!pkey || !ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

std::string_view asText(const std::vector<unsigned char>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The secret key's checksum: BLAKE2b-256 over algorithm, key id and the 64-byte secret key.
std::vector<unsigned char> secretKeyChecksum(const SecretKey& key) {
  Blake2b hash(32);
  hash.update("Ed");
  hash.update(key.id.data(), key.id.size());
  hash.update(key.seed.data(), key.seed.size());
  hash.update(key.publicKey.data(), key.publicKey.size());
  return hash.finish();
}

// libsodium's crypto_pwhash_scryptsalsa208sha256 (what minisign encrypts keys with): its
// opslimit/memlimit become scrypt's N, r and p by libsodium's own rule (pickparams).
Outcome<std::vector<unsigned char>> scryptStream(const std::string& password,
                                                 const unsigned char* salt, uint64_t opslimit,
                                                 uint64_t memlimit, size_t length) {
  opslimit = std::max<uint64_t>(opslimit, 32768);
  const uint64_t r = 8;
  uint64_t p = 1;
  unsigned nLog2 = 1;
  const uint64_t maxN = opslimit < memlimit / 32 ? opslimit / (r * 4) : memlimit / (r * 128);
  while (nLog2 < 63 && (uint64_t{1} << nLog2) <= maxN / 2) ++nLog2;
  if (!(opslimit < memlimit / 32)) {
    uint64_t maxrp = std::min<uint64_t>((opslimit / 4) / (uint64_t{1} << nLog2), 0x3fffffff);
    p = maxrp / r;
  }
  if (nLog2 > 30 || p == 0) return bad("secret key: implausible scrypt parameters");
  const uint64_t n = uint64_t{1} << nLog2;
  std::vector<unsigned char> out(length);
  const uint64_t maxMemory = 128 * r * (n + p + 2) + (1u << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(), salt, 32, n, r, p, maxMemory, out.data(),
                     out.size()) != 1) {
    return bad("secret key: scrypt key derivation failed (N=2^" + std::to_string(nLog2) + ")");
  }
  return out;
}

// The one base64 line of a key file: the line after the untrusted comment, or the only line.
Outcome<std::vector<unsigned char>> keyPayload(std::string_view text, const char* what) {
  auto split = lines(text, what);
  if (!split.ok()) return split.error();
  const auto& all = split.value();
  std::string_view encoded;
  if (all.size() >= 2 && all[0].rfind(kUntrustedPrefix, 0) == 0) {
    encoded = all[1];
  } else if (all.size() == 1) {
    encoded = all[0];
  } else {
    return bad(std::string(what) + ": expected an 'untrusted comment:' line and a base64 line");
  }
  auto decoded = base64Decode(encoded);
  if (!decoded) return bad(std::string(what) + ": the key line is not valid base64");
  return std::move(*decoded);
}

}  // namespace

std::string keyIdText(const KeyId& id) {
  char text[17];
  for (size_t i = 0; i < 8; ++i) std::snprintf(text + 2 * i, 3, "%02X", id[7 - i]);
  return std::string(text, 16);
}

Outcome<PublicKey> parsePublicKey(std::string_view text) {
  auto payload = keyPayload(text, "public key");
  if (!payload.ok()) return payload.error();
  const auto& bytes = payload.value();
  if (bytes.size() != 42) {
    return bad("public key: " + std::to_string(bytes.size()) + " bytes, a minisign key has 42");
  }
  if (bytes[0] != 'E' || bytes[1] != 'd') return bad("public key: not an Ed25519 minisign key");
  PublicKey key;
  std::memcpy(key.id.data(), &bytes[2], 8);
  std::memcpy(key.key.data(), &bytes[10], 32);
  return key;
}

std::string formatPublicKey(const PublicKey& key) {
  std::vector<unsigned char> bytes = {'E', 'd'};
  bytes.insert(bytes.end(), key.id.begin(), key.id.end());
  bytes.insert(bytes.end(), key.key.begin(), key.key.end());
  return std::string(kUntrustedPrefix) + "minisign public key " + keyIdText(key.id) + "\n" +
         base64Encode(bytes.data(), bytes.size()) + "\n";
}

Outcome<SecretKey> parseSecretKey(std::string_view text,
                                  const std::optional<std::string>& password) {
  auto payload = keyPayload(text, "secret key");
  if (!payload.ok()) return payload.error();
  if (payload.value().size() != 158) {
    return bad("secret key: " + std::to_string(payload.value().size()) +
               " bytes, a minisign key has 158");
  }
  if (payload.value()[0] != 'E' || payload.value()[1] != 'd')
    return bad("secret key: not an Ed25519 minisign key");
  constexpr size_t kKeyNumber = 2 + 2 + 2 + 32 + 8 + 8;
  constexpr size_t kKeyNumberBytes = 8 + 64 + 32;
  std::vector<unsigned char> bytes = payload.value();
  if (bytes[4] != 'B' || bytes[5] != '2') return bad("secret key: unknown checksum algorithm");
  const bool encrypted = bytes[2] == 'S' && bytes[3] == 'c';
  if (!encrypted && (bytes[2] != 0 || bytes[3] != 0))
    return bad("secret key: unknown key derivation algorithm");
  if (encrypted) {
    if (!password) {
      return bad(
          "secret key: the key is password-protected; give its password "
          "(--password-file or $CORDON_SIGN_PASSWORD)");
    }
    uint64_t opslimit = 0, memlimit = 0;
    for (int i = 7; i >= 0; --i) {
      opslimit = (opslimit << 8) | bytes[38 + i];
      memlimit = (memlimit << 8) | bytes[46 + i];
    }
    auto stream = scryptStream(*password, &bytes[6], opslimit, memlimit, kKeyNumberBytes);
    if (!stream.ok()) return stream.error();
    for (size_t i = 0; i < kKeyNumberBytes; ++i) bytes[kKeyNumber + i] ^= stream.value()[i];
  }
  SecretKey key;
  std::memcpy(key.id.data(), &bytes[kKeyNumber], 8);
  std::memcpy(key.seed.data(), &bytes[kKeyNumber + 8], 32);
  std::memcpy(key.publicKey.data(), &bytes[kKeyNumber + 40], 32);
  // minisign -W leaves the checksum of an unencrypted key all zero; anything else must match.
  const std::array<unsigned char, 32> zero{};
  auto checksum = secretKeyChecksum(key);
  const bool unchecked = !encrypted && std::memcmp(zero.data(), &bytes[kKeyNumber + 72], 32) == 0;
  if (!unchecked && std::memcmp(checksum.data(), &bytes[kKeyNumber + 72], 32) != 0) {
    return bad(encrypted ? "secret key: wrong password (the checksum does not match)"
                         : "secret key: checksum mismatch (the key file is corrupted)");
  }
  if (publicKeyOf(key).key != key.publicKey) {
    return bad("secret key: the public half does not belong to the secret half");
  }
  return key;
}

std::string formatSecretKey(const SecretKey& key) {
  std::vector<unsigned char> bytes = {'E', 'd', 0, 0, 'B', '2'};
  bytes.resize(bytes.size() + 32 + 8 + 8, 0);  // no KDF: salt, opslimit and memlimit are zero
  bytes.insert(bytes.end(), key.id.begin(), key.id.end());
  bytes.insert(bytes.end(), key.seed.begin(), key.seed.end());
  bytes.insert(bytes.end(), key.publicKey.begin(), key.publicKey.end());
  auto checksum = secretKeyChecksum(key);
  bytes.insert(bytes.end(), checksum.begin(), checksum.end());
  return std::string(kUntrustedPrefix) + "minisign secret key " + keyIdText(key.id) + "\n" +
         base64Encode(bytes.data(), bytes.size()) + "\n";
}

Outcome<Signature> parseSignature(std::string_view text) {
  auto split = lines(text, "signature");
  if (!split.ok()) return split.error();
  auto all = std::move(split.value());
  while (!all.empty() && all.back().empty()) all.pop_back();
  if (all.size() != 4) {
    return bad(
        "signature: expected 4 lines (untrusted comment, signature, trusted comment, "
        "global signature), found " +
        std::to_string(all.size()));
  }
  Signature signature;
  if (all[0].rfind(kUntrustedPrefix, 0) != 0)
    return bad("signature: line 1 is not an 'untrusted comment:'");
  signature.untrustedComment = all[0].substr(std::strlen(kUntrustedPrefix));
  auto bytes = base64Decode(all[1]);
  if (!bytes) return bad("signature: line 2 is not valid base64");
  if (bytes->size() != 74) {
    return bad("signature: line 2 holds " + std::to_string(bytes->size()) +
               " bytes, a minisign signature has 74 (truncated?)");
  }
  const std::string algorithm(bytes->begin(), bytes->begin() + 2);
  if (algorithm == "ED") {
    signature.algorithm = Algorithm::kPrehashed;
  } else if (algorithm == "Ed") {
    signature.algorithm = Algorithm::kLegacy;
  } else {
    return bad("signature: unknown algorithm '" + algorithm + "'");
  }
  std::memcpy(signature.keyId.data(), bytes->data() + 2, 8);
  std::memcpy(signature.signature.data(), bytes->data() + 10, 64);
  if (all[2].rfind(kTrustedPrefix, 0) != 0)
    return bad("signature: line 3 is not a 'trusted comment:'");
  signature.trustedComment = all[2].substr(std::strlen(kTrustedPrefix));
  if (signature.trustedComment.size() > kMaxCommentBytes)
    return bad("signature: the trusted comment is longer than 1024 bytes");
  auto global = base64Decode(all[3]);
  if (!global || global->size() != 64)
    return bad("signature: line 4 is not a 64-byte base64 global signature (truncated?)");
  std::memcpy(signature.globalSignature.data(), global->data(), 64);
  return signature;
}

std::string formatSignature(const Signature& signature) {
  std::vector<unsigned char> bytes;
  const char* algorithm = signature.algorithm == Algorithm::kPrehashed ? "ED" : "Ed";
  bytes.insert(bytes.end(), algorithm, algorithm + 2);
  bytes.insert(bytes.end(), signature.keyId.begin(), signature.keyId.end());
  bytes.insert(bytes.end(), signature.signature.begin(), signature.signature.end());
  return std::string(kUntrustedPrefix) + signature.untrustedComment + "\n" +
         base64Encode(bytes.data(), bytes.size()) + "\n" + kTrustedPrefix +
         signature.trustedComment + "\n" +
         base64Encode(signature.globalSignature.data(), signature.globalSignature.size()) + "\n";
}

PublicKey publicKeyOf(const SecretKey& key) {
  PkeyPtr pkey(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, key.seed.data(), key.seed.size()),
      EVP_PKEY_free);
  PublicKey out;
  out.id = key.id;
  size_t length = out.key.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), out.key.data(), &length) != 1) {
    throw std::runtime_error("OpenSSL Ed25519 public key derivation failed");
  }
  return out;
}

std::pair<SecretKey, PublicKey> generateKeyPair() {
  SecretKey key;
  if (RAND_bytes(key.id.data(), static_cast<int>(key.id.size())) != 1 ||
      RAND_bytes(key.seed.data(), static_cast<int>(key.seed.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  PublicKey publicKey = publicKeyOf(key);
  key.publicKey = publicKey.key;
  return {key, publicKey};
}

Signature sign(const SecretKey& key, std::string_view message, std::string trustedComment,
               std::string untrustedComment, Algorithm algorithm) {
  if (trustedComment.size() > kMaxCommentBytes ||
      trustedComment.find_first_of("\r\n") != std::string::npos)
    throw std::invalid_argument(
        "a trusted comment is one line of at most 1024 bytes, with no carriage return");
  Signature signature;
  signature.algorithm = algorithm;
  signature.keyId = key.id;
  signature.untrustedComment = std::move(untrustedComment);
  signature.trustedComment = std::move(trustedComment);
  signature.signature = algorithm == Algorithm::kPrehashed
                            ? ed25519Sign(key, asText(blake2b512(message)))
                            : ed25519Sign(key, message);
  std::string global(signature.signature.begin(), signature.signature.end());
  global += signature.trustedComment;
  signature.globalSignature = ed25519Sign(key, global);
  return signature;
}

Outcome<Done> verify(const PublicKey& key, const Signature& signature, std::string_view message,
                     bool allowLegacy) {
  if (signature.keyId != key.id) {
    return makeError(ErrorCategory::kPolicyDenial, "signed by key " + keyIdText(signature.keyId) +
                                                       ", not by key " + keyIdText(key.id));
  }
  if (signature.algorithm == Algorithm::kLegacy && !allowLegacy) {
    return makeError(ErrorCategory::kPolicyDenial,
                     "legacy (non-prehashed 'Ed') signature, which the policy does not allow "
                     "(sign with a current minisign, or set signature.allow_legacy)");
  }
  const bool matches =
      signature.algorithm == Algorithm::kPrehashed
          ? ed25519Verify(key.key, signature.signature, asText(blake2b512(message)))
          : ed25519Verify(key.key, signature.signature, message);
  if (!matches) {
    return makeError(ErrorCategory::kPolicyDenial,
                     "the signature does not match the file's bytes (the file was altered, or "
                     "the signature belongs to another file)");
  }
  return verifyTrustedComment(key, signature);
}

Outcome<Done> verifyTrustedComment(const PublicKey& key, const Signature& signature) {
  std::string global(signature.signature.begin(), signature.signature.end());
  global += signature.trustedComment;
  if (signature.keyId != key.id || !ed25519Verify(key.key, signature.globalSignature, global)) {
    return makeError(ErrorCategory::kPolicyDenial,
                     "the trusted comment's global signature does not verify (the trusted "
                     "comment was altered)");
  }
  return Done{};
}

std::array<unsigned char, 64> signBytes(const SecretKey& key, std::string_view message) {
  return ed25519Sign(key, message);
}

bool verifyBytes(const PublicKey& key, const std::array<unsigned char, 64>& signature,
                 std::string_view message) {
  return ed25519Verify(key.key, signature, message);
}

}  // namespace cordon::minisign
