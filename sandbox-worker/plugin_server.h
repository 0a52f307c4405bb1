// The worker's side of the Plugin interface. RPC handlers do not run plugin code: they queue a
// job and the worker's main loop runs it at top level (see host_bridge.h for why).
#pragma once

#include <kj/async.h>
#include <kj/function.h>

#include <deque>

#include "cordon.capnp.h"
#include "loaded_plugin.h"

namespace cordon::worker {

using Job = kj::Function<void(kj::WaitScope&)>;

class JobQueue {
 public:
  void push(Job job);
  kj::Promise<Job> next();

 private:
  std::deque<Job> jobs_;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> waiter_;
};

class PluginServer final : public ipc::Plugin::Server {
 public:
  PluginServer(const LoadedPlugin& plugin, JobQueue& jobs) : plugin_(plugin), jobs_(jobs) {}

 protected:
  kj::Promise<void> describe(DescribeContext context) override;
  kj::Promise<void> init(InitContext context) override;
  kj::Promise<void> execute(ExecuteContext context) override;
  kj::Promise<void> shutdown(ShutdownContext context) override;

 private:
  const LoadedPlugin& plugin_;
  JobQueue& jobs_;
  bool shutDown_ = false;
};

}  // namespace cordon::worker
