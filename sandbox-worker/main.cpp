// cordon-worker: one plugin in one sandbox, serving the Plugin interface on fd 3.
//
// Started only by the supervisor. The order below is the security argument: the spec is read,
// the process is contained, the seccomp filter is installed (its listener handed to the
// supervisor), and only then is the plugin mapped, its ELF constructors included.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <cstdio>
#include <cstring>
#include <exception>

#include "batched_write_stream.h"
#include "contain.h"
#include "coverage_flush.h"
#include "host_bridge.h"
#include "loaded_plugin.h"
#include "plugin_server.h"
#include "read_buffered_stream.h"
#include "sandbox_spec.h"
#include "seccomp_install.h"
#include "setup_error.h"
#include "worker_protocol.h"

namespace {

constexpr char kUsage[] =
    "Usage: cordon-worker\n"
    "\n"
    "Runs one Cordon plugin inside a sandbox. Not for direct use: the cordon supervisor starts\n"
    "it with an RPC socket on fd 3 and a sandbox spec on fd 4 (see docs/architecture.md).\n";

[[noreturn]] void die(int code, const char* stage, const char* what) {
  std::fprintf(stderr, "%s%s: %s\n", cordon::protocol::kReportPrefix, stage, what);
  std::fflush(stderr);
  cordon::worker::flushCoverage();
  std::_Exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cordon;
  if (argc > 1) {
    bool help = std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0;
    std::fputs(kUsage, help ? stdout : stderr);
    return help ? 0 : 2;
  }

  protocol::SetupTimes times;
  times.entered = worker::monotonicNanoseconds();
  worker::prepareCoverage();  // coverage builds only
  worker::SandboxSpec spec;
  std::string pluginPath;
  try {
    spec = worker::readSandboxSpec(protocol::kSpecFd);
    pluginPath = worker::containProcess(spec, times);
  } catch (const std::exception& e) {
    die(protocol::kExitSetupFailed, "setup-failed", e.what());
  } catch (const kj::Exception& e) {
    die(protocol::kExitSetupFailed, "setup-failed", e.getDescription().cStr());
  }

  // The event loop needs epoll and friends; it exists before the filter so the filter can stay
  // narrow.
  auto io = kj::setupAsyncIo();
  auto stream = kj::heap<protocol::BatchedWriteStream>(
      kj::heap<protocol::ReadBufferedStream>(io.lowLevelProvider->wrapSocketFd(
          protocol::kRpcFd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP)));
  capnp::ReaderOptions readerOptions;
  readerOptions.traversalLimitInWords = spec.maxRpcMessageWords;
  capnp::TwoPartyVatNetwork network(*stream, capnp::rpc::twoparty::Side::SERVER, readerOptions);

  try {
    worker::enterSeccomp(spec, times);
  } catch (const std::exception& e) {
    die(protocol::kExitSetupFailed, "setup-failed", e.what());
  }

  kj::Maybe<worker::LoadedPlugin> loaded;
  try {
    loaded = worker::LoadedPlugin::load(pluginPath);
  } catch (const std::exception& e) {
    die(protocol::kExitPluginRejected, "plugin-rejected", e.what());
  }
  worker::LoadedPlugin& plugin = KJ_ASSERT_NONNULL(loaded);
  worker::reportLoaded();

  worker::JobQueue jobs;
  auto rpc = capnp::makeRpcServer(network, kj::heap<worker::PluginServer>(plugin, jobs));
  auto disconnected = network.onDisconnect().fork();
  for (;;) {
    auto next =
        jobs.next().then([](worker::Job job) { return kj::Maybe<worker::Job>(kj::mv(job)); });
    auto gone = disconnected.addBranch().then([]() { return kj::Maybe<worker::Job>(nullptr); });
    KJ_IF_MAYBE (job, next.exclusiveJoin(kj::mv(gone)).wait(io.waitScope)) {
      (*job)(io.waitScope);
    } else {
      break;
    }
  }
  worker::flushCoverage();
  return protocol::kExitClean;
}
