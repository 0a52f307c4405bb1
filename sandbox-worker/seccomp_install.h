// Step: seccomp. The program was compiled by the supervisor from the policy; the worker installs
// it with a user-notification listener and hands the listener to the supervisor, which from then
// on answers every syscall the filter does not allow (gate/): the kernel reports them, so a
// plugin can neither forge nor suppress the report.
#pragma once

#include <linux/filter.h>

#include <vector>

namespace cordon::worker {

// Installs `program` and sends its listener over protocol::kControlFd, then closes both.
void installSeccompFilter(const std::vector<sock_filter>& program);

}  // namespace cordon::worker
