#include "plugin_server.h"

#include <kj/debug.h>

#include "host_bridge.h"

namespace cordon::worker {
namespace {

std::vector<std::pair<std::string, std::string>> readConfig(
    capnp::List<ipc::KeyValue>::Reader entries) {
  std::vector<std::pair<std::string, std::string>> config;
  for (auto entry : entries) config.emplace_back(entry.getKey(), entry.getValue());
  return config;
}

}  // namespace

void JobQueue::push(Job job) {
  jobs_.push_back(kj::mv(job));
  KJ_IF_MAYBE (waiter, waiter_) {
    (*waiter)->fulfill();
    waiter_ = nullptr;
  }
}

kj::Promise<Job> JobQueue::next() {
  if (!jobs_.empty()) {
    Job job = kj::mv(jobs_.front());
    jobs_.pop_front();
    return kj::mv(job);
  }
  auto paf = kj::newPromiseAndFulfiller<void>();
  waiter_ = kj::mv(paf.fulfiller);
  return paf.promise.then([this]() { return next(); });
}

kj::Promise<void> PluginServer::describe(DescribeContext context) {
  const cordon_plugin& api = plugin_.api();
  auto info = context.getResults().initInfo();
  info.setName(api.name);
  info.setVersion(api.version);
  info.setDescription(api.description == nullptr ? "" : api.description);
  info.setAbiVersion(api.abi_version);
  return kj::READY_NOW;
}

kj::Promise<void> PluginServer::init(InitContext context) {
  KJ_REQUIRE(!shutDown_, "init after shutdown");
  auto paf = kj::newPromiseAndFulfiller<void>();
  jobs_.push([this, context, done = kj::mv(paf.fulfiller)](kj::WaitScope& ws) mutable {
    auto params = context.getParams();
    cordon_host host{ws, params.getHost(), readConfig(params.getConfig()), {}, {}, {}, {}, {}, {}};
    cordon_status status = plugin_.api().init == nullptr ? CORDON_OK : plugin_.api().init(&host);
    releaseMappings(host);
    fillCallResult(context.getResults().initResult(), status, host);
    done->fulfill();
  });
  return kj::mv(paf.promise);
}

kj::Promise<void> PluginServer::execute(ExecuteContext context) {
  KJ_REQUIRE(!shutDown_, "execute after shutdown");
  auto paf = kj::newPromiseAndFulfiller<void>();
  jobs_.push([this, context, done = kj::mv(paf.fulfiller)](kj::WaitScope& ws) mutable {
    auto params = context.getParams();
    cordon_host host{ws, params.getHost(), readConfig(params.getConfig()), {}, {}, {}, {}, {}, {}};
    for (auto input : params.getInputs())
      host.inputs.emplace_back(input.getName(), input.getSize());
    cordon_status status = plugin_.api().execute(&host);
    // Unmapped before the reply: the supervisor seals in-place outputs when it arrives, which
    // a writable mapping left behind would make it refuse.
    releaseMappings(host);
    auto results = context.getResults();
    fillCallResult(results.initResult(), status, host);
    if (status == CORDON_OK) {
      auto outputs =
          results.initOutputs(static_cast<unsigned>(host.outputs.size() + host.inPlace.size()));
      unsigned i = 0;
      for (const auto& [name, data] : host.outputs) {
        outputs[i].setName(name);
        outputs[i].setData(
            kj::arrayPtr(reinterpret_cast<const capnp::byte*>(data.data()), data.size()));
        ++i;
      }
      for (const auto& [name, mapping] : host.inPlace) {
        outputs[i].setName(name);
        outputs[i].setInPlace(true);
        ++i;
      }
    }
    done->fulfill();
  });
  return kj::mv(paf.promise);
}

kj::Promise<void> PluginServer::shutdown(ShutdownContext) {
  if (shutDown_) return kj::READY_NOW;
  shutDown_ = true;
  auto paf = kj::newPromiseAndFulfiller<void>();
  jobs_.push([this, done = kj::mv(paf.fulfiller)](kj::WaitScope&) mutable {
    if (plugin_.api().shutdown != nullptr) plugin_.api().shutdown();
    done->fulfill();
  });
  return kj::mv(paf.promise);
}

}  // namespace cordon::worker
