#include "run/artifact_digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

namespace cordon {

Outcome<std::string> digestArtifact(const ArtifactBytes& artifact) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> hash(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!hash || EVP_DigestInit_ex(hash.get(), EVP_sha256(), nullptr) != 1)
    return makeError(ErrorCategory::kInternal, "SHA-256 is not available");
  std::vector<char> chunk(std::min<uint64_t>(std::max<uint64_t>(artifact.size(), 1), 1 << 20));
  for (uint64_t offset = 0; offset < artifact.size();) {
    const size_t length =
        static_cast<size_t>(std::min<uint64_t>(chunk.size(), artifact.size() - offset));
    auto copied = artifact.copyTo(offset, length, chunk.data());
    if (!copied.ok()) return copied.error();
    EVP_DigestUpdate(hash.get(), chunk.data(), length);
    offset += length;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned length = 0;
  EVP_DigestFinal_ex(hash.get(), digest, &length);
  static const char kHex[] = "0123456789abcdef";
  std::string text = "sha256:";
  for (unsigned i = 0; i < length; ++i) text += {kHex[digest[i] >> 4], kHex[digest[i] & 15]};
  return text;
}

kj::Promise<Outcome<std::string>> digestInBackground(Artifact artifact) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<Outcome<std::string>>();
  // Detached: the thread owns a reference to the (immutable) artifact and the fulfiller, which
  // is safe to fulfil after the promise was dropped (a cancelled run).
  // (Held through a shared_ptr: kj::Own's destructor may throw, std::thread's state may not.)
  auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<Outcome<std::string>>>>(
      kj::mv(paf.fulfiller));
  std::thread([artifact = std::move(artifact), fulfiller]() {
    (*fulfiller)->fulfill(digestArtifact(*artifact));
  }).detach();
  return kj::mv(paf.promise);
}

}  // namespace cordon
