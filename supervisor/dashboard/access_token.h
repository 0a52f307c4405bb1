// The dashboard's access token: 32 random bytes in hex, printed once at start (as notebook
// servers do) and required on every request, as `?token=` (the printed address; answered with a
// cookie and a redirect that drops it from the address bar), the cookie, or
// `Authorization: Bearer`. Compared in constant time. Browsers keep cookies per host, not per
// port, so the cookie's name carries the port: two dashboards on one host do not overwrite
// each other's.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace cordon {

class AccessToken {
 public:
  static Outcome<AccessToken> generate();  // from the kernel's CSPRNG (OpenSSL RAND_bytes)
  explicit AccessToken(std::string hex) : hex_(std::move(hex)) {}

  const std::string& text() const { return hex_; }
  bool matches(std::string_view offered) const;

  // The token a request offers in each place it may; "" where it offers none.
  static std::string fromQuery(std::string_view target);
  static std::string fromCookie(std::string_view cookieHeader, std::string_view name);
  // cordon_token_PORT for the port of a Host header (cordon_token when it names none).
  static std::string cookieName(std::string_view hostHeader);
  static std::string fromAuthorization(std::string_view header);

 private:
  std::string hex_;
};

}  // namespace cordon
