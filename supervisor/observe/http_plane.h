// The HTTP plane: /metrics and /healthz served by Boost.Beast on a thread of its own, so that a
// slow or hostile client can never stall the event loop that runs the sandboxes' RPC. The loop
// only pushes metric updates into a MetricsQueue; this thread drains it into its registry when
// it is scraped (and every 250 ms, so the queue stays short).
//
// Bounded against clients: at most kMaxConnections at once (more are closed at accept), a
// request's header at most 8 KiB and no body, 10 s to send a request and to take the answer,
// at most 100 requests per connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "core/error.h"
#include "observe/http_routes.h"
#include "observe/metrics_queue.h"
#include "observe/metrics_registry.h"

namespace cordon {

// HOST:PORT or [V6]:PORT, as --listen takes it.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
  bool loopback = true;
};
Outcome<ListenAddress> parseListenAddress(const std::string& text);

class HttpPlane {
 public:
  static constexpr int kMaxConnections = 32;

  static constexpr std::chrono::milliseconds kEventStreamPeriod{250};
  // How long stop() waits for open event streams to send their last chunk and end.
  static constexpr std::chrono::milliseconds kEventStreamDrain{1500};

  // Binds and starts serving; the error names the address and why (in use, not an address).
  // `routes`, when given, is asked first for every request (and must outlive the plane).
  static Outcome<std::unique_ptr<HttpPlane>> start(const ListenAddress& address,
                                                   MetricsQueue& queue,
                                                   HttpRoutes* routes = nullptr);
  ~HttpPlane();  // stops and joins
  HttpPlane(const HttpPlane&) = delete;
  HttpPlane& operator=(const HttpPlane&) = delete;

  uint16_t port() const { return port_; }
  // Stops serving (after open event streams end, kEventStreamDrain at most) and joins the
  // thread; afterwards registry() belongs to the caller's thread.
  void stop();
  MetricsRegistry& registry() { return registry_; }
  // /healthz answers 503 with the reason once set (the audit log failed: the run is stopping).
  void setUnhealthy(std::string reason);

  struct Impl;

 private:
  HttpPlane() = default;

  MetricsRegistry registry_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace cordon
