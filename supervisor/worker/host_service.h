// The Host capability a plugin receives for one call. It serves only that call's inputs, and
// puts every call on it to the gate with that call's scope: whether the capability is granted
// and the call still open (admitHostCall), then every byte and call against the budgets.
#pragma once

#include <memory>

#include "cordon.capnp.h"
#include "gate/gate.h"
#include "run/artifacts.h"
#include "run/run_events.h"

namespace cordon {

class HostService final : public ipc::Host::Server {
 public:
  HostService(Gate& gate, std::shared_ptr<CallScope> scope, ArtifactMap inputs,
              const RunEvents& events)
      : gate_(gate), scope_(std::move(scope)), inputs_(std::move(inputs)), events_(events) {}

 protected:
  kj::Promise<void> log(LogContext context) override;
  kj::Promise<void> readInput(ReadInputContext context) override;
  kj::Promise<void> readFile(ReadFileContext context) override;

 private:
  Gate& gate_;
  std::shared_ptr<CallScope> scope_;
  ArtifactMap inputs_;
  const RunEvents& events_;
};

}  // namespace cordon
