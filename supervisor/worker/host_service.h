// The Host capability a plugin receives for one call. It serves only that call's inputs, and
// puts every call on it to the gate with that call's scope: whether the capability is granted
// and the call still open (admitHostCall), then every byte and call against the budgets.
#pragma once

#include <kj/io.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "cordon.capnp.h"
#include "gate/gate.h"
#include "run/artifacts.h"
#include "run/run_events.h"

namespace cordon {

// How descriptors reach the worker (WorkerProcess::sendDescriptor): out of band, on the control
// socket, since Cap'n Proto 0.9's membranes do not pass descriptors through.
using SendDescriptor = std::function<Outcome<Done>(int fd, uint64_t token)>;

// The memfds Host.createOutput gave out in one call, by output name: the worker handle seals
// the ones the plugin returns in place and drops the rest.
using OutputBuffers = std::map<std::string, kj::AutoCloseFd>;

class HostService final : public ipc::Host::Server {
 public:
  HostService(Gate& gate, std::shared_ptr<CallScope> scope, ArtifactMap inputs,
              const RunEvents& events, SendDescriptor send = nullptr,
              std::shared_ptr<OutputBuffers> buffers = nullptr)
      : gate_(gate),
        scope_(std::move(scope)),
        inputs_(std::move(inputs)),
        events_(events),
        send_(std::move(send)),
        buffers_(std::move(buffers)) {}

 protected:
  kj::Promise<void> log(LogContext context) override;
  kj::Promise<void> readInput(ReadInputContext context) override;
  kj::Promise<void> readFile(ReadFileContext context) override;
  kj::Promise<void> mapInput(MapInputContext context) override;
  kj::Promise<void> createOutput(CreateOutputContext context) override;

 private:
  Gate& gate_;
  std::shared_ptr<CallScope> scope_;
  ArtifactMap inputs_;
  const RunEvents& events_;
  SendDescriptor send_;
  std::shared_ptr<OutputBuffers> buffers_;
  uint64_t nextToken_ = 1;
};

}  // namespace cordon
