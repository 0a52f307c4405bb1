// The formats of docs/trust.md on their own: base64, BLAKE2b, minisign keys and signatures,
// versions and ranges, manifests and trust stores, each with its errors.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "core/yaml_document.h"
#include "plugins/manifest.h"
#include "plugins/version.h"
#include "test_support.h"
#include "trust/base64.h"
#include "trust/blake2b.h"
#include "trust/minisign.h"
#include "trust/trust_store.h"

using namespace cordon;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string hex(const std::vector<unsigned char>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string manifestError(const std::string& text) {
  try {
    parseManifest(text, "plugin.yaml");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("base64 round-trips and rejects what is not base64") {
  for (std::string text : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto encoded = base64Encode(reinterpret_cast<const unsigned char*>(text.data()), text.size());
    auto decoded = base64Decode(encoded);
    REQUIRE(decoded);
    CHECK(std::string(decoded->begin(), decoded->end()) == text);
  }
  CHECK(base64Encode(reinterpret_cast<const unsigned char*>("foobar"), 6) == "Zm9vYmFy");
  CHECK_FALSE(base64Decode("Zm9"));       // length
  CHECK_FALSE(base64Decode("Zm9v!mFy"));  // alphabet
  CHECK_FALSE(base64Decode("Zg==Zm9v"));  // padding in the middle
  CHECK_FALSE(base64Decode("Z=9v"));      // data after padding
}

TEST_CASE("BLAKE2b agrees with OpenSSL at 64 bytes and with the reference at 32") {
  for (size_t length : {0, 1, 127, 128, 129, 255, 256, 1000}) {
    std::string data(length, '\0');
    for (size_t i = 0; i < length; ++i) data[i] = static_cast<char>(i * 7 + 3);
    Blake2b ours(64);
    ours.update(data);
    std::vector<unsigned char> theirs(64);
    unsigned int size = 0;
    REQUIRE(EVP_Digest(data.data(), data.size(), theirs.data(), &size, EVP_blake2b512(), nullptr));
    INFO("length " << length);
    CHECK(ours.finish() == theirs);
  }
  Blake2b short32(32);
  short32.update("abc");
  // Python's hashlib.blake2b(b"abc", digest_size=32), an independent implementation.
  CHECK(hex(short32.finish()) ==
        "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("minisign keys and signatures survive formatting, and each defect has its message") {
  auto [secret, publicKey] = minisign::generateKeyPair();
  auto reparsedSecret = minisign::parseSecretKey(minisign::formatSecretKey(secret));
  REQUIRE(reparsedSecret.ok());
  CHECK(reparsedSecret.value().seed == secret.seed);
  auto reparsedPublic = minisign::parsePublicKey(minisign::formatPublicKey(publicKey));
  REQUIRE(reparsedPublic.ok());
  CHECK(reparsedPublic.value().key == publicKey.key);

  auto signature = minisign::sign(secret, "message", "cordon-plugin name=a version=1.0.0 abi=1");
  auto parsed = minisign::parseSignature(minisign::formatSignature(signature));
  REQUIRE(parsed.ok());
  CHECK(minisign::verify(publicKey, parsed.value(), "message", false).ok());
  auto wrongFile = minisign::verify(publicKey, parsed.value(), "messagE", false);
  REQUIRE_FALSE(wrongFile.ok());
  CHECK(wrongFile.error().message.find("does not match the file's bytes") != std::string::npos);
  parsed.value().trustedComment += " extra";
  auto altered = minisign::verify(publicKey, parsed.value(), "message", false);
  REQUIRE_FALSE(altered.ok());
  CHECK(altered.error().message.find("trusted comment was altered") != std::string::npos);
  auto [other, otherPublic] = minisign::generateKeyPair();
  auto wrongKey = minisign::verify(otherPublic, signature, "message", false);
  REQUIRE_FALSE(wrongKey.ok());
  CHECK(wrongKey.error().message.find("signed by key") != std::string::npos);

  CHECK(
      minisign::parseSignature("untrusted comment: x\n").error().message.find("expected 4 lines") !=
      std::string::npos);
  CHECK_FALSE(minisign::parsePublicKey("RWQ=").ok());
}

TEST_CASE("a carriage return is a line ending or refused, so a signature reads back as it was") {
  auto [secret, publicKey] = minisign::generateKeyPair();
  const std::string text =
      minisign::formatSignature(minisign::sign(secret, "message", "name=a", "comment"));
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto fromCrlf = minisign::parseSignature(crlf);
  REQUIRE(fromCrlf.ok());
  CHECK(fromCrlf.value().trustedComment == "name=a");

  // The class the fuzzer found: a second CR before the ending, or one inside any line.
  for (const std::string& needle :
       {std::string("name=a\n"), std::string("comment\n"), std::string("name=")}) {
    std::string hostile = text;
    const size_t at = hostile.find(needle);
    REQUIRE(at != std::string::npos);
    hostile.insert(at + needle.size() - (needle.back() == '\n' ? 1 : 0), "\r\r");
    auto parsed = minisign::parseSignature(hostile);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message.find("carriage return") != std::string::npos);
  }
  std::string key = minisign::formatPublicKey(publicKey);
  key.insert(key.find('\n'), "\r\r");
  CHECK(minisign::parsePublicKey(key).error().message.find("carriage return") != std::string::npos);
  CHECK_THROWS_AS(minisign::sign(secret, "message", "a\rb"), std::invalid_argument);
}

TEST_CASE("the development key pair in tests/fixtures belongs together") {
  auto secret = minisign::parseSecretKey(slurp(test::devSecretKey()));
  REQUIRE(secret.ok());
  auto publicKey = minisign::parsePublicKey(slurp(test::trustStoreDirectory() + "/cordon-dev.pub"));
  REQUIRE(publicKey.ok());
  CHECK(minisign::publicKeyOf(secret.value()).key == publicKey.value().key);
  CHECK(secret.value().id == publicKey.value().id);
}

TEST_CASE("versions order as semver, ranges match as documented") {
  auto v = [](const char* text) { return *Version::parse(text); };
  CHECK(v("1.0.0-rc.1") < v("1.0.0"));
  CHECK(v("1.9.0") < v("1.10.0"));
  CHECK_FALSE(Version::parse("1.0"));
  CHECK_FALSE(Version::parse("01.0.0"));
  CHECK_FALSE(Version::parse("1.0.0-"));
  struct Case {
    const char* range;
    const char* version;
    bool matches;
  };
  for (const Case& c : std::initializer_list<Case>{{"1.2.3", "1.2.3", true},
                                                   {"1.2.3", "1.2.4", false},
                                                   {"^1.2", "1.9.0", true},
                                                   {"^1.2", "2.0.0", false},
                                                   {"^1.2", "1.1.9", false},
                                                   {"^0.2.3", "0.2.9", true},
                                                   {"^0.2.3", "0.3.0", false},
                                                   {"~1.2.3", "1.2.9", true},
                                                   {"~1.2.3", "1.3.0", false},
                                                   {"1.2", "1.2.7", true},
                                                   {"1", "1.9.9", true},
                                                   {">=1.0 <2", "1.5.0", true},
                                                   {">=1.0 <2", "2.0.0", false},
                                                   {"*", "0.0.1", true}}) {
    auto range = VersionRange::parse(c.range);
    REQUIRE_MESSAGE(range, c.range);
    INFO(c.range << " vs " << c.version);
    CHECK(range->matches(v(c.version)) == c.matches);
  }
  CHECK_FALSE(VersionRange::parse(""));
  CHECK_FALSE(VersionRange::parse("^x"));
}

TEST_CASE("manifest errors name the file, the line and the field") {
  const std::string good = "name: a\nversion: 1.0.0\nabi: 1\nentry: a.so\n";
  CHECK(manifestError(good).empty());
  CHECK(manifestError("name: a\nversion: 1.0\nabi: 1\nentry: a.so\n") ==
        "plugin.yaml:2:10: field 'version': '1.0' is not MAJOR.MINOR.PATCH");
  CHECK(manifestError("name: a\nversion: 1.0.0\nabi: 2\nentry: a.so\n")
            .find("plugin.yaml:3:6: field 'abi': ABI 2 is not supported") == 0);
  CHECK(manifestError("name: a\nversion: 1.0.0\nabi: 1\nentry: ../a.so\n")
            .find("plugin.yaml:4:8: field 'entry'") == 0);
  CHECK(manifestError(good + "requests:\n  host: [network]\n")
            .find("plugin.yaml:6:10: field 'requests.host[0]': unknown host capability") == 0);
  CHECK(manifestError(good + "colour: blue\n").find("colour") != std::string::npos);
}

TEST_CASE("trust store errors name the file, the line and the field") {
  test::TempDir dir;
  auto errorOf = [&](const std::string& yaml) -> std::string {
    dir.write("trust.yaml", yaml);
    try {
      TrustStore::load(dir.path(""));
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  dir.write("k.pub", slurp(test::trustStoreDirectory() + "/cordon-dev.pub"));
  CHECK(errorOf("keys:\n  - file: k.pub\n    scope: [a]\n").empty());
  CHECK(errorOf("keys:\n  - file: k.pub\n").find("field 'keys[0].scope': missing") !=
        std::string::npos);
  CHECK(errorOf("keys:\n  - file: missing.pub\n    scope: [a]\n").find("cannot read") !=
        std::string::npos);
  CHECK(errorOf("keys:\n  - file: k.pub\n    scope: [a]\nrevoked:\n  keys: [XYZ]\n")
            .find(":5:10: field 'revoked.keys[0]'") != std::string::npos);
  CHECK(errorOf("keys:\n  - file: k.pub\n    scope: [a]\n  - file: k.pub\n    scope: [b]\n")
            .find("listed twice") != std::string::npos);
}
