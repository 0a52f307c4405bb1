// Step: seccomp. The program was compiled by the supervisor from the policy; the worker installs
// it with a user-notification listener and hands the listener to the supervisor, which from then
// on answers every syscall the filter does not allow (gate/): the kernel reports them, so a
// plugin can neither forge nor suppress the report.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "worker_protocol.h"

namespace cordon::worker {

// Installs `program` and sends its listener over protocol::kControlFd with `times` (its
// `filtered` set here), then closes the listener.
void installSeccompFilter(const std::vector<sock_filter>& program, protocol::SetupTimes times);

// Tells the supervisor over kControlFd that the plugin is loaded (the time; docs/metrics.md).
void reportLoaded();

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonicNanoseconds();

}  // namespace cordon::worker
