// DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1): a payload, its
// type, and Ed25519 signatures over the pre-authentication encoding of both, so a signature
// over one type of payload never passes for another. Keys are minisign's (docs/trust.md).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "core/error.h"
#include "trust/minisign.h"

namespace cordon::dsse {

// "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body: what is signed.
std::string preAuthEncoding(std::string_view payloadType, std::string_view payload);

// {"payloadType", "payload" (base64), "signatures": [{"keyid", "sig" (base64)}]}; the key id is
// the minisign one, as minisign prints it.
nlohmann::json sign(std::string_view payloadType, std::string_view payload,
                    const minisign::SecretKey& key);

struct Opened {
  std::string payloadType;
  std::string payload;  // decoded; trusted only because a signature by `key` covers it
};

// The payload, once a signature of the envelope verifies with `key` and the type is
// `expectedType`; otherwise bad_input saying which part is wrong (not JSON, a missing field, no
// signature by this key, a signature that does not verify, another payload type).
Outcome<Opened> open(std::string_view envelopeText, const minisign::PublicKey& key,
                     std::string_view expectedType);

}  // namespace cordon::dsse
