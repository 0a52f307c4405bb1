// The Host capability a plugin receives for one call. It serves only that call's inputs and asks
// the gate to charge every byte and call against the policy's budgets. The membrane has already
// checked that the capability is granted at all.
#pragma once

#include <memory>

#include "cordon.capnp.h"
#include "gate/gate.h"
#include "scheduler/artifacts.h"
#include "scheduler/run_observer.h"

namespace cordon {

class HostService final : public ipc::Host::Server {
 public:
  HostService(Gate& gate, std::shared_ptr<CallScope> scope, ArtifactMap inputs,
              RunObserver& observer)
      : gate_(gate), scope_(std::move(scope)), inputs_(std::move(inputs)), observer_(observer) {}

 protected:
  kj::Promise<void> log(LogContext context) override;
  kj::Promise<void> readInput(ReadInputContext context) override;
  kj::Promise<void> readFile(ReadFileContext context) override;

 private:
  Gate& gate_;
  std::shared_ptr<CallScope> scope_;
  ArtifactMap inputs_;
  RunObserver& observer_;
};

}  // namespace cordon
