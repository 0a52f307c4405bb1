// libFuzzer: any bytes a hostile worker could write on its RPC socket, fed to the supervisor's
// side of the connection: the Cap'n Proto two-party protocol serving the Host capability, whose
// calls are charged at the gate against a policy with budgets. The supervisor must survive every
// input: answer, refuse or drop the connection, never crash or hang. (The membrane's
// admitHostCall check in front of the Host is exercised by the hostile plugins instead.)
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "audit/audit_log.h"
#include "core/yaml_document.h"
#include "gate/gate.h"
#include "policy/policy_parser.h"
#include "run/audit_subscriber.h"
#include "run/run_events.h"
#include "worker/host_service.h"

namespace {

struct Supervisor {
  kj::AsyncIoContext io = kj::setupAsyncIo();
  cordon::Policy policy = cordon::parsePolicy(cordon::YamlDocument::parse(
      "version: 1\nplugins:\n  fuzz:\n    calls: [execute]\n    host:\n"
      "      log: { max_bytes: 256, max_calls: 8 }\n      read_input: { max_bytes: 65536 }\n",
      "fuzz-policy.yaml"));
  std::unique_ptr<cordon::AuditLog> audit = std::move(cordon::AuditLog::open("/dev/null").value());
  cordon::AuditSubscriber record{*audit};
  cordon::RunEvents events{record};
  cordon::Gate gate{*policy.forPlugin("fuzz"), events};
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Supervisor supervisor;
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
  int buffer = 1 << 20;
  setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  for (size_t written = 0; written < size;) {
    ssize_t n = write(fds[1], data + written, size - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  shutdown(fds[1], SHUT_WR);  // the "worker" says all it will say, then waits

  {
    auto stream = supervisor.io.lowLevelProvider->wrapSocketFd(
        fds[0], kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 1 << 20;
    options.nestingLimit = 32;
    capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::SERVER, options);
    auto scope =
        std::make_shared<cordon::CallScope>("fuzz", "step", cordon::PluginMethod::kExecute);
    cordon::ArtifactMap inputs = {{"text", cordon::makeArtifact("some text for the plugin")}};
    auto rpc = capnp::makeRpcServer(
        network, kj::heap<cordon::HostService>(supervisor.gate, scope, inputs, supervisor.events));
    auto done = network.onDisconnect().exclusiveJoin(
        supervisor.io.provider->getTimer().afterDelay(2 * kj::SECONDS));
    auto result = kj::mv(done).then([]() {}, [](kj::Exception&&) {});
    result.wait(supervisor.io.waitScope);
  }
  close(fds[1]);
  return 0;
}
