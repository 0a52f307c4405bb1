// Routes another part of the supervisor serves on the HTTP plane (the dashboard, dashboard/),
// asked first for every request, on the plane's thread. The plane keeps its bounds (connections,
// header size, timeouts); the routes decide what a request may see.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cordon {

struct HttpExchange {
  std::string method;  // GET or HEAD (the plane refuses every other method itself)
  std::string target;  // path and query, as sent
  std::string cookie;  // the Cookie header
  std::string authorization;
  std::string host;  // the Host header
};

struct HttpReply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Set: the reply is an event stream (text/event-stream, the connection closed at its end).
  // `body` is its first chunk; the plane calls nextChunk every kEventStreamPeriod and sends what
  // it returns ("" sends nothing) until it returns nullopt.
  std::function<std::optional<std::string>()> nextChunk;
};

class HttpRoutes {
 public:
  virtual ~HttpRoutes() = default;
  // nullopt: the plane answers the request itself (/metrics, /healthz, or not found).
  virtual std::optional<HttpReply> answer(const HttpExchange& request) = 0;
};

}  // namespace cordon
