// Writes the seed corpus of fuzz-host_calls: the exact bytes a well-behaved worker's RPC client
// sends for a few sequences of Host calls (bootstrap, log, readInput, both with odd arguments).
// libFuzzer mutates these into the malformed and hostile variants.
//   make-host-call-seeds DIRECTORY
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "cordon.capnp.h"

namespace {

using Calls = std::function<void(cordon::ipc::Host::Client&, kj::Vector<kj::Promise<void>>&)>;

std::string bytesSentBy(kj::AsyncIoContext& io, const Calls& calls) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return "";
  std::string sent;
  {
    auto stream = io.lowLevelProvider->wrapSocketFd(fds[0]);
    capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::CLIENT);
    auto rpc = capnp::makeRpcClient(network);
    capnp::word scratch[4] = {};
    capnp::MallocMessageBuilder message(scratch);
    auto vatId = message.getRoot<capnp::rpc::twoparty::VatId>();
    vatId.setSide(capnp::rpc::twoparty::Side::SERVER);
    auto host = rpc.bootstrap(vatId).castAs<cordon::ipc::Host>();
    kj::Vector<kj::Promise<void>> pending;
    calls(host, pending);
    // Let the event loop flush the requests; nobody answers them.
    io.provider->getTimer().afterDelay(50 * kj::MILLISECONDS).wait(io.waitScope);
    char buffer[65536];
    for (;;) {
      ssize_t n = recv(fds[1], buffer, sizeof buffer, MSG_DONTWAIT);
      if (n <= 0) break;
      sent.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fds[0]);
  close(fds[1]);
  return sent;
}

void log(cordon::ipc::Host::Client& host, kj::Vector<kj::Promise<void>>& pending,
         cordon::ipc::LogLevel level, const char* text) {
  auto request = host.logRequest();
  request.setLevel(level);
  request.setMessage(text);
  pending.add(request.send().ignoreResult().catch_([](kj::Exception&&) {}));
}

void read(cordon::ipc::Host::Client& host, kj::Vector<kj::Promise<void>>& pending, const char* name,
          uint64_t offset, uint32_t maxBytes) {
  auto request = host.readInputRequest();
  request.setName(name);
  request.setOffset(offset);
  request.setMaxBytes(maxBytes);
  pending.add(request.send().ignoreResult().catch_([](kj::Exception&&) {}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make-host-call-seeds DIRECTORY\n");
    return 2;
  }
  using cordon::ipc::LogLevel;
  auto io = kj::setupAsyncIo();
  const std::vector<std::pair<std::string, Calls>> seeds = {
      {"log", [](auto& h, auto& p) { log(h, p, LogLevel::INFO, "hello"); }},
      {"read", [](auto& h, auto& p) { read(h, p, "text", 0, 1024); }},
      {"read-missing", [](auto& h, auto& p) { read(h, p, "missing", 0, 16); }},
      {"read-past-end", [](auto& h, auto& p) { read(h, p, "text", ~0ull, ~0u); }},
      {"log-flood",
       [](auto& h, auto& p) {
         for (int i = 0; i < 12; ++i) log(h, p, LogLevel::ERROR, "again and again");
       }},
      {"mixed",
       [](auto& h, auto& p) {
         log(h, p, LogLevel::WARN, "about to read");
         read(h, p, "text", 5, 3);
         log(h, p, LogLevel::DEBUG, "");
       }},
  };
  for (const auto& [name, calls] : seeds) {
    std::ofstream(std::string(argv[1]) + "/" + name, std::ios::binary) << bytesSentBy(io, calls);
  }
  return 0;
}
