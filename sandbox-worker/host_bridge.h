// The SDK's host functions (cordon_log, cordon_read_input, ...) implemented over the Host
// capability. A cordon_host lives for one plugin callback; its calls block on RPC replies, which
// is allowed because callbacks run at the top of the worker's loop, never inside an event.
#pragma once

#include <cordon/plugin.h>
#include <kj/async.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cordon.capnp.h"

struct cordon_host {
  kj::WaitScope& waitScope;
  cordon::ipc::Host::Client host;
  std::vector<std::pair<std::string, std::string>> config;
  std::vector<std::pair<std::string, uint64_t>> inputs;  // name, size
  std::map<std::string, std::string> outputs;
  std::string error;            // what the plugin said with cordon_set_error
  std::string lastHostFailure;  // why its last failed host call failed, as the supervisor put it
  // Mappings made for this callback (cordon_map_input, cordon_create_output): unmapped before
  // the worker replies. In-place outputs by name, each one of `mappings`.
  std::vector<std::pair<void*, size_t>> mappings;
  std::map<std::string, std::pair<void*, size_t>> inPlace;
};

namespace cordon::worker {

// Unmaps what the callback mapped; its in-place outputs stay listed by name.
void releaseMappings(cordon_host& host);

// Copies a failed status and the error message a plugin left into an RPC result.
void fillCallResult(ipc::CallResult::Builder result, cordon_status status, const cordon_host& host);

}  // namespace cordon::worker
