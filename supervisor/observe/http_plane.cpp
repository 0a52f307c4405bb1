#include <utility>  // before Boost.Asio: GCC 12's C++20 mode needs std::exchange declared first

#include "observe/http_plane.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <mutex>
#include <optional>

namespace cordon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds kIoTimeout{10};
constexpr std::chrono::milliseconds kDrainEvery{250};
constexpr unsigned kMaxRequestsPerConnection = 100;
constexpr uint32_t kMaxHeaderBytes = 8 * 1024;

}  // namespace

struct HttpPlane::Impl {
  Impl(MetricsQueue& queue, MetricsRegistry& registry, HttpRoutes* routes)
      : queue(queue), registry(registry), routes(routes), acceptor(io), drainTimer(io) {}

  MetricsQueue& queue;
  MetricsRegistry& registry;
  HttpRoutes* routes;
  int connections = 0;  // the plane's thread only; declared before io, whose end ends sessions
  std::atomic<int> eventStreams{0};  // open event streams, which stop() lets finish
  asio::io_context io;
  tcp::acceptor acceptor;
  asio::steady_timer drainTimer;
  std::mutex healthMutex;
  std::string unhealthy;

  void accept();
  void drainPeriodically();
  http::response<http::string_body> answer(const http::request<http::empty_body>& request);
  // The routes' reply, when they claim the request.
  std::optional<HttpReply> routed(const http::request<http::empty_body>& request);
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpPlane::Impl& plane) : stream_(std::move(socket)), plane_(plane) {
    ++plane_.connections;
  }
  ~Session() {
    --plane_.connections;
    if (nextChunk_) --plane_.eventStreams;
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(0);
    stream_.expires_after(kIoTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->onRead(error); });
  }

 private:
  void onRead(beast::error_code error) {
    if (error == http::error::end_of_stream) return close();
    if (error) {
      // A request too large or malformed gets its answer; a timeout or reset gets nothing.
      if (error.category() == http::make_error_code(http::error::bad_target).category() &&
          error != http::error::partial_message) {
        response_ = {http::status::bad_request, 11};
        response_.set(http::field::content_type, "text/plain; charset=utf-8");
        response_.body() = "bad request\n";
        response_.keep_alive(false);
        return write();
      }
      return close();
    }
    const auto& request = parser_->get();
    if (auto reply = plane_.routed(request)) {
      if (reply->nextChunk) return startEventStream(std::move(*reply));
      response_ = {static_cast<http::status>(reply->status), request.version()};
      for (const auto& [name, value] : reply->headers) response_.set(name, value);
      response_.body() = std::move(reply->body);
      if (request.method() == http::verb::head) {
        response_.content_length(response_.body().size());
        response_.body().clear();
      }
    } else {
      response_ = plane_.answer(request);
    }
    response_.keep_alive(request.keep_alive() && ++served_ < kMaxRequestsPerConnection);
    write();
  }

  // An event stream: the header and first chunk, then each chunk the routes give every period,
  // until they end it or the client goes (a write fails). Its sends keep the I/O timeout; a
  // client that reads nothing is dropped by it.
  void startEventStream(HttpReply reply) {
    nextChunk_ = std::move(reply.nextChunk);
    ++plane_.eventStreams;
    std::string head = "HTTP/1.1 " + std::to_string(reply.status) + " OK\r\n";
    for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
    head += "Connection: close\r\n\r\n";
    streamTimer_.emplace(stream_.get_executor());
    sendChunk(head + reply.body);
  }

  void sendChunk(std::string chunk) {
    chunk_ = std::move(chunk);
    stream_.expires_after(kIoTimeout);
    asio::async_write(stream_, asio::buffer(chunk_),
                      [self = shared_from_this()](beast::error_code error, size_t) {
                        if (error) return self->close();
                        self->waitForChunk();
                      });
  }

  void waitForChunk() {
    streamTimer_->expires_after(HttpPlane::kEventStreamPeriod);
    streamTimer_->async_wait([self = shared_from_this()](beast::error_code error) {
      if (error) return;
      std::optional<std::string> next = self->nextChunk_();
      if (!next) return self->close();
      if (next->empty()) return self->waitForChunk();
      self->sendChunk(std::move(*next));
    });
  }

  void write() {
    response_.prepare_payload();
    stream_.expires_after(kIoTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code error, size_t) {
                        if (error || !self->response_.keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  HttpPlane::Impl& plane_;
  beast::flat_buffer buffer_{kMaxHeaderBytes};
  std::optional<http::request_parser<http::empty_body>> parser_;
  http::response<http::string_body> response_;
  unsigned served_ = 0;
  std::function<std::optional<std::string>()> nextChunk_;  // an event stream's source
  std::optional<asio::steady_timer> streamTimer_;
  std::string chunk_;
};

}  // namespace

std::optional<HttpReply> HttpPlane::Impl::routed(const http::request<http::empty_body>& request) {
  if (routes == nullptr) return std::nullopt;
  if (request.method() != http::verb::get && request.method() != http::verb::head)
    return std::nullopt;  // refused by answer(), for every route
  auto text = [&request](http::field field) {
    const auto value = request[field];
    return std::string(value.data(), value.size());
  };
  HttpExchange exchange{request.method() == http::verb::head ? "HEAD" : "GET",
                        std::string(request.target().data(), request.target().size()),
                        text(http::field::cookie), text(http::field::authorization),
                        text(http::field::host)};
  return routes->answer(exchange);
}

http::response<http::string_body> HttpPlane::Impl::answer(
    const http::request<http::empty_body>& request) {
  http::response<http::string_body> response{http::status::ok, request.version()};
  response.set(http::field::server, "cordon");
  response.set(http::field::cache_control, "no-store");
  const bool head = request.method() == http::verb::head;
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (request.method() != http::verb::get && !head) {
    response.result(http::status::method_not_allowed);
    response.set(http::field::allow, "GET, HEAD");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "only GET and HEAD\n";
  } else if (path == "/metrics") {
    queue.drainInto(registry);
    const auto accept = request[http::field::accept];
    const ExpositionFormat format = negotiateFormat(std::string(accept.data(), accept.size()));
    response.set(http::field::content_type, contentTypeOf(format));
    response.body() = registry.render(format);
  } else if (path == "/healthz") {
    std::string reason;
    {
      std::lock_guard lock(healthMutex);
      reason = unhealthy;
    }
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    if (reason.empty()) {
      response.body() = "ok\n";
    } else {
      response.result(http::status::service_unavailable);
      response.body() = "unhealthy: " + reason + "\n";
    }
  } else {
    response.result(http::status::not_found);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = "not found; try /metrics or /healthz\n";
  }
  if (head) {
    response.content_length(response.body().size());
    response.body().clear();
  }
  return response;
}

void HttpPlane::Impl::accept() {
  acceptor.async_accept([this](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted) return;
    if (!error) {
      if (connections >= kMaxConnections) {
        beast::error_code ignored;
        socket.close(ignored);  // a client holding many connections gets no more
      } else {
        std::make_shared<Session>(std::move(socket), *this)->read();
      }
    }
    accept();
  });
}

void HttpPlane::Impl::drainPeriodically() {
  drainTimer.expires_after(kDrainEvery);
  drainTimer.async_wait([this](beast::error_code error) {
    if (error) return;
    queue.drainInto(registry);
    drainPeriodically();
  });
}

Outcome<ListenAddress> parseListenAddress(const std::string& text) {
  auto bad = [&text](const std::string& why) {
    return makeError(ErrorCategory::kBadInput,
                     "--listen '" + text + "': " + why + " (HOST:PORT, e.g. 127.0.0.1:9464)");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) return bad("no host");
  unsigned long number = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      (number = std::stoul(port)) > 65535)
    return bad("the port must be a number from 0 to 65535");
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code error;
  const auto parsed = asio::ip::make_address(host, error);
  if (error) return bad("'" + host + "' is not an IP address");
  return ListenAddress{host, static_cast<uint16_t>(number), parsed.is_loopback()};
}

Outcome<std::unique_ptr<HttpPlane>> HttpPlane::start(const ListenAddress& address,
                                                     MetricsQueue& queue, HttpRoutes* routes) {
  std::unique_ptr<HttpPlane> plane(new HttpPlane());
  plane->impl_ = std::make_unique<Impl>(queue, plane->registry_, routes);
  Impl& impl = *plane->impl_;
  beast::error_code error;
  const tcp::endpoint endpoint(asio::ip::make_address(address.host, error), address.port);
  auto fail = [&](const char* what) {
    return makeError(ErrorCategory::kBadInput, "--listen " + address.host + ":" +
                                                   std::to_string(address.port) + ": cannot " +
                                                   what + ": " + error.message());
  };
  if (error) return fail("parse the address");
  impl.acceptor.open(endpoint.protocol(), error);
  if (error) return fail("open a socket");
  impl.acceptor.set_option(asio::socket_base::reuse_address(true), error);
  impl.acceptor.bind(endpoint, error);
  if (error) return fail("bind");
  impl.acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return fail("listen");
  plane->port_ = impl.acceptor.local_endpoint().port();
  impl.accept();
  impl.drainPeriodically();
  plane->thread_ = std::thread([&impl]() { impl.io.run(); });
  return plane;
}

void HttpPlane::setUnhealthy(std::string reason) {
  std::lock_guard lock(impl_->healthMutex);
  impl_->unhealthy = std::move(reason);
}

void HttpPlane::stop() {
  if (!thread_.joinable()) return;
  // An open event stream ends by itself once what it follows has ended (a run's last update
  // sent); a page watching the run gets that update before the plane goes.
  const auto deadline = std::chrono::steady_clock::now() + kEventStreamDrain;
  while (impl_->eventStreams.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  impl_->io.stop();
  thread_.join();
}

HttpPlane::~HttpPlane() {
  stop();
}

}  // namespace cordon
