// libFuzzer: any bytes as a minisign signature, public key and secret key file; what parses is
// verified (against a fixed key) and formatted again, which must parse to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "trust/minisign.h"

namespace {

const cordon::minisign::PublicKey& fixedKey() {
  static const cordon::minisign::PublicKey key = cordon::minisign::generateKeyPair().second;
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cordon::minisign;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto signature = parseSignature(text);
  if (signature.ok()) {
    (void)verify(fixedKey(), signature.value(), text, true).ok();
    auto again = parseSignature(formatSignature(signature.value()));
    if (!again.ok() || again.value().signature != signature.value().signature ||
        again.value().trustedComment != signature.value().trustedComment) {
      std::abort();  // format and parse must round-trip
    }
  }
  auto publicKey = parsePublicKey(text);
  if (publicKey.ok()) {
    auto again = parsePublicKey(formatPublicKey(publicKey.value()));
    if (!again.ok() || again.value().key != publicKey.value().key) std::abort();
  }
  auto secretKey = parseSecretKey(text);
  (void)secretKey.ok();
  return 0;
}
