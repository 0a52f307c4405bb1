// One call in flight on a worker (init, execute, ...). The gate charges host-call budgets to it
// and records the first denial; the Host capability handed out for the call is bound to it and
// dies with it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/error.h"
#include "policy/policy.h"

namespace cordon {

struct CallScope {
  CallScope() = default;
  CallScope(std::string plugin, std::string step, PluginMethod method)
      : plugin(std::move(plugin)), step(std::move(step)), method(method) {}

  std::string plugin;
  std::string step;  // "" for calls outside a step (describe, shutdown)
  PluginMethod method = PluginMethod::kDescribe;
  bool open = true;  // false once the call has returned: its Host capability is revoked
  std::optional<Error> firstDenial;
  uint64_t denialsRecorded = 0;    // gate.deny records written for this call
  uint64_t denialsSuppressed = 0;  // denials past the cap, summarised when the call closes
  std::map<HostCapability, uint64_t> callsUsed;
  std::map<HostCapability, uint64_t> bytesUsed;     // total over the call
  std::map<HostCapability, uint64_t> largestBytes;  // the largest single host call
};

}  // namespace cordon
