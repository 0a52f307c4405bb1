#include "dashboard/access_token.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core/untrusted_text.h"
#include "dashboard/http_query.h"

namespace cordon {

Outcome<AccessToken> AccessToken::generate() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return makeError(ErrorCategory::kBadInput, "cannot draw a random access token");
  return AccessToken(
      hexBytes(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes)));
}

bool AccessToken::matches(std::string_view offered) const {
  return offered.size() == hex_.size() && !hex_.empty() &&
         CRYPTO_memcmp(offered.data(), hex_.data(), hex_.size()) == 0;
}

namespace {

// The value of `name` in a list of `name=value` pairs split by `separator`; "" when absent.
std::string pairValue(std::string_view list, std::string_view name, char separator) {
  while (!list.empty()) {
    const size_t end = list.find(separator);
    std::string_view pair = list.substr(0, end);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  return "";
}

}  // namespace

std::string AccessToken::fromQuery(std::string_view target) {
  return queryValue(target, "token");
}

std::string AccessToken::fromCookie(std::string_view cookieHeader, std::string_view name) {
  return pairValue(cookieHeader, name, ';');
}

std::string AccessToken::cookieName(std::string_view hostHeader) {
  const size_t colon = hostHeader.rfind(':');
  std::string_view port = colon == std::string_view::npos ? "" : hostHeader.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return "cordon_token";
  return "cordon_token_" + std::string(port);
}

std::string AccessToken::fromAuthorization(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.substr(0, kBearer.size()) != kBearer) return "";
  return std::string(header.substr(kBearer.size()));
}

}  // namespace cordon
