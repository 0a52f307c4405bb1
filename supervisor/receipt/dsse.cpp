#include "receipt/dsse.h"

#include "core/untrusted_text.h"
#include "trust/base64.h"

namespace cordon::dsse {
namespace {

Error envelopeError(const std::string& message) {
  return makeError(ErrorCategory::kBadInput, message);
}

}  // namespace

std::string preAuthEncoding(std::string_view payloadType, std::string_view payload) {
  std::string out = "DSSEv1 " + std::to_string(payloadType.size()) + " ";
  out.append(payloadType);
  out += " " + std::to_string(payload.size()) + " ";
  out.append(payload);
  return out;
}

nlohmann::json sign(std::string_view payloadType, std::string_view payload,
                    const minisign::SecretKey& key) {
  const auto signature = minisign::signBytes(key, preAuthEncoding(payloadType, payload));
  return {{"payloadType", std::string(payloadType)},
          {"payload",
           base64Encode(reinterpret_cast<const unsigned char*>(payload.data()), payload.size())},
          {"signatures",
           {{{"keyid", minisign::keyIdText(key.id)},
             {"sig", base64Encode(signature.data(), signature.size())}}}}};
}

Outcome<Opened> open(std::string_view envelopeText, const minisign::PublicKey& key,
                     std::string_view expectedType) {
  const nlohmann::json envelope = nlohmann::json::parse(envelopeText, nullptr, false);
  if (!envelope.is_object()) return envelopeError("not a DSSE envelope: not a JSON object");
  for (const char* field : {"payloadType", "payload"}) {
    if (!envelope.contains(field) || !envelope[field].is_string())
      return envelopeError(std::string("not a DSSE envelope: no string '") + field + "'");
  }
  if (!envelope.contains("signatures") || !envelope["signatures"].is_array() ||
      envelope["signatures"].empty())
    return envelopeError("not a DSSE envelope: no 'signatures'");
  Opened opened;
  opened.payloadType = envelope["payloadType"].get<std::string>();
  auto payload = base64Decode(envelope["payload"].get<std::string>());
  if (!payload) return envelopeError("the envelope's payload is not base64");
  opened.payload.assign(payload->begin(), payload->end());
  const std::string wanted = minisign::keyIdText(key.id);
  const std::string encoded = preAuthEncoding(opened.payloadType, opened.payload);
  bool byThisKey = false;
  for (const auto& signature : envelope["signatures"]) {
    if (!signature.is_object() || !signature.contains("keyid") || !signature.contains("sig") ||
        !signature["keyid"].is_string() || !signature["sig"].is_string())
      return envelopeError("a signature of the envelope is not {keyid, sig}");
    if (signature["keyid"].get<std::string>() != wanted) continue;
    byThisKey = true;
    auto bytes = base64Decode(signature["sig"].get<std::string>());
    if (!bytes || bytes->size() != 64)
      return envelopeError("signature by key " + wanted + " is not 64 bytes of base64");
    std::array<unsigned char, 64> raw{};
    std::copy(bytes->begin(), bytes->end(), raw.begin());
    if (minisign::verifyBytes(key, raw, encoded)) {
      // The type is checked only once it is known to be the signer's.
      if (opened.payloadType != expectedType) {
        return envelopeError("payload type '" + toValidUtf8(opened.payloadType) + "', expected '" +
                             std::string(expectedType) + "'");
      }
      return opened;
    }
  }
  if (!byThisKey) return envelopeError("no signature by key " + wanted + " (the key given)");
  return envelopeError("the signature by key " + wanted +
                       " does not verify: the receipt was changed");
}

}  // namespace cordon::dsse
