#include "sandbox_spec.h"

#include <capnp/serialize.h>

#include <cstring>
#include <stdexcept>

#include "cordon.capnp.h"

namespace cordon::worker {
namespace {

std::vector<sock_filter> toFilter(capnp::Data::Reader bytes, const char* which) {
  if (bytes.size() == 0 || bytes.size() % sizeof(sock_filter) != 0) {
    throw std::runtime_error(std::string("sandbox spec: ") + which + " is not a BPF program");
  }
  std::vector<sock_filter> program(bytes.size() / sizeof(sock_filter));
  std::memcpy(program.data(), bytes.begin(), bytes.size());
  return program;
}

}  // namespace

SandboxSpec readSandboxSpec(int fd) {
  capnp::StreamFdMessageReader message(fd);
  auto reader = message.getRoot<ipc::SandboxSpec>();
  SandboxSpec spec;
  spec.pluginPath = reader.getPluginPath();
  spec.pluginName = reader.getPluginName();
  if (spec.pluginPath.empty() || spec.pluginName.empty() ||
      spec.pluginName.find('/') != std::string::npos) {
    throw std::runtime_error("sandbox spec: plugin path or name missing or invalid");
  }
  auto limits = reader.getLimits();
  spec.limits = {limits.getAddressSpaceBytes(), limits.getCpuSeconds(), limits.getOpenFiles(),
                 limits.getProcesses(), limits.getFileSizeBytes()};
  spec.filter = toFilter(reader.getLoaderFilter(), "loaderFilter");
  if (reader.getRuntimeFilter().size() != 0) {
    throw std::runtime_error("sandbox spec: runtimeFilter is no longer used and must be empty");
  }
  spec.maxRpcMessageWords = reader.getMaxRpcMessageWords();
  auto checkedPaths = [](auto list, const char* kind) {
    std::vector<std::string> paths;
    for (auto path : list) {
      std::string text = path;
      if (text.empty() || text[0] != '/' || text.find("/..") != std::string::npos) {
        throw std::runtime_error(std::string("sandbox spec: ") + kind + " path '" + text +
                                 "' is not absolute");
      }
      paths.push_back(text);
    }
    return paths;
  };
  spec.readOnlyPaths = checkedPaths(reader.getReadOnlyPaths(), "read-only");
  spec.readWritePaths = checkedPaths(reader.getReadWritePaths(), "read-write");
  spec.scratchBytes = reader.getScratchBytes();
  spec.mountProc = reader.getMountProc();
  spec.devices = reader.getDevices();
  return spec;
}

}  // namespace cordon::worker
