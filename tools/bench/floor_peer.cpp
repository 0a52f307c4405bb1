// The benchmark's floors' other process, exec'd by cordon-bench (never forked from it: the
// bench has a kj event loop, and a forked copy of it is unusable).
//   floor-peer echo   1-byte ping-pong on fd 3 until EOF
//   floor-peer capnp  a bare Cap'n Proto Plugin server on fd 3 (describe and execute answer at
//                     once):
//                     no sandbox, no gate, no membrane: the raw cost of an RPC between processes
//   floor-peer capnp-buffered  the same, reading its socket through Cordon's read buffer
//                     (ipc-schema/read_buffered_stream), as the worker does
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "cordon.capnp.h"
#include "read_buffered_stream.h"

namespace {

class BarePlugin final : public cordon::ipc::Plugin::Server {
 protected:
  kj::Promise<void> describe(DescribeContext) override { return kj::READY_NOW; }
  // The shape of Cordon's call (a Host capability in, a result out) with nothing behind it.
  kj::Promise<void> execute(ExecuteContext context) override {
    context.getResults().initResult().setStatus(cordon::ipc::Status::OK);
    return kj::READY_NOW;
  }
};

int echo() {
  char byte;
  while (read(3, &byte, 1) == 1) {
    if (write(3, &byte, 1) != 1) return 1;
  }
  return 0;
}

int serveCapnp(bool buffered) {
  auto io = kj::setupAsyncIo();
  auto stream = io.lowLevelProvider->wrapSocketFd(3, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
  if (buffered) stream = kj::heap<cordon::protocol::ReadBufferedStream>(kj::mv(stream));
  capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::SERVER);
  auto rpc = capnp::makeRpcServer(network, kj::heap<BarePlugin>());
  network.onDisconnect().wait(io.waitScope);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "echo") == 0) return echo();
  if (argc == 2 && std::strcmp(argv[1], "capnp") == 0) return serveCapnp(false);
  if (argc == 2 && std::strcmp(argv[1], "capnp-buffered") == 0) return serveCapnp(true);
  std::fprintf(stderr, "usage: floor-peer echo|capnp|capnp-buffered (started by cordon-bench)\n");
  return 2;
}
