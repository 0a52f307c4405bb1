#include <utility>  // before Boost.Asio: GCC 12's C++20 mode needs std::exchange declared first

#include "observe/otlp_export.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/untrusted_text.h"

namespace cordon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

Outcome<OtlpEndpoint> parseOtlpEndpoint(const std::string& url) {
  auto bad = [&url](const std::string& why) {
    return makeError(ErrorCategory::kBadInput, "--otlp-endpoint '" + forTerminal(url) +
                                                   "': " + why +
                                                   " (http://HOST:PORT[/PATH], e.g. "
                                                   "http://127.0.0.1:4318/v1/traces)");
  };
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return bad("only http:// is supported");
  std::string rest = url.substr(scheme.size());
  OtlpEndpoint endpoint;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    endpoint.path = rest.substr(slash);
    rest.resize(slash);
  }
  if (rest.empty()) return bad("no host");
  std::string host = rest;
  if (rest.front() == '[') {  // [V6] or [V6]:PORT
    const auto close = rest.find(']');
    if (close == std::string::npos) return bad("an unclosed '['");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return bad("junk after ']'");
      endpoint.port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    endpoint.port = rest.substr(colon + 1);
  }
  rest = host;
  if (rest.empty()) return bad("no host");
  if (endpoint.port.empty() || endpoint.port.size() > 5 ||
      endpoint.port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(endpoint.port) > 65535)
    return bad("the port must be a number from 1 to 65535");
  for (char c : endpoint.path + rest)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return bad("a space or control character");
  endpoint.host = rest;
  return endpoint;
}

std::optional<Error> sendOtlpTraces(const OtlpEndpoint& endpoint, const std::string& body,
                                    std::chrono::milliseconds timeout) {
  auto failed = [&endpoint](const std::string& why) {
    return makeError(ErrorCategory::kInternal, "OTLP export to http://" + endpoint.host + ":" +
                                                   endpoint.port + endpoint.path + ": " + why);
  };
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    beast::error_code error;
    auto results = resolver.resolve(endpoint.host, endpoint.port, error);
    if (error) return failed("cannot resolve: " + error.message());
    stream.expires_after(timeout);
    stream.connect(results, error);
    if (error) return failed("cannot connect: " + error.message());
    http::request<http::string_body> request{http::verb::post, endpoint.path, 11};
    request.set(http::field::host, endpoint.host);
    request.set(http::field::user_agent, "cordon/0.1.0");
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request, error);
    if (error) return failed("cannot send: " + error.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> response;
    response.body_limit(1 << 20);
    http::read(stream, buffer, response, error);
    if (error) return failed("no answer: " + error.message());
    const unsigned status = response.get().result_int();
    if (status < 200 || status > 299)
      return failed("the collector answered " + std::to_string(status) + ": " +
                    forTerminal(response.get().body(), 200));
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, error);
    return std::nullopt;
  } catch (const std::exception& e) {
    return failed(e.what());
  }
}

}  // namespace cordon
