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
  std::string plugin;
  std::string step;  // "" for calls outside a step (describe, shutdown)
  PluginMethod method = PluginMethod::kDescribe;
  bool open = true;  // false once the call has returned: its Host capability is revoked
  std::optional<Error> firstDenial;
  std::map<HostCapability, uint64_t> callsUsed;
  std::map<HostCapability, uint64_t> bytesUsed;
};

}  // namespace cordon
