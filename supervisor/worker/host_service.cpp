#include "worker/host_service.h"

#include <kj/debug.h>

#include <algorithm>

#include "worker_protocol.h"

namespace cordon {
namespace {

const char* levelName(ipc::LogLevel level) {
  switch (level) {
    case ipc::LogLevel::DEBUG:
      return "debug";
    case ipc::LogLevel::INFO:
      return "info";
    case ipc::LogLevel::WARN:
      return "warn";
    case ipc::LogLevel::ERROR:
      return "error";
  }
  return "info";
}

}  // namespace

kj::Promise<void> HostService::log(LogContext context) {
  auto params = context.getParams();
  auto message = params.getMessage();
  if (auto denial = gate_.chargeHostBudget(*scope_, HostCapability::kLog, message.size())) {
    return denialException(*denial);
  }
  observer_.pluginLog(scope_->step, levelName(params.getLevel()), message.cStr());
  return kj::READY_NOW;
}

kj::Promise<void> HostService::readInput(ReadInputContext context) {
  auto params = context.getParams();
  std::string name = params.getName();
  auto it = inputs_.find(name);
  if (it == inputs_.end()) {
    return KJ_EXCEPTION(FAILED, kj::str(protocol::kNotFoundMarker, "no input named '", name.c_str(),
                                        "' in this step"));
  }
  const std::string& data = *it->second;
  uint64_t offset = std::min<uint64_t>(params.getOffset(), data.size());
  uint64_t length = std::min<uint64_t>(
      {params.getMaxBytes(), protocol::kMaxReadChunkBytes, data.size() - offset});
  if (auto denial = gate_.chargeHostBudget(*scope_, HostCapability::kReadInput, length)) {
    return denialException(*denial);
  }
  auto results = context.getResults();
  results.setTotalSize(data.size());
  results.setData(kj::arrayPtr(reinterpret_cast<const capnp::byte*>(data.data()) + offset, length));
  return kj::READY_NOW;
}

}  // namespace cordon
