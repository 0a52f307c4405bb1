// Step: seccomp. The programs were compiled by the supervisor from the policy; the worker only
// installs them (filters stack: the strictest answer of all installed filters wins).
#pragma once

#include <linux/filter.h>

#include <vector>

namespace cordon::worker {

void installSeccompFilter(const std::vector<sock_filter>& program, const char* stage);

}  // namespace cordon::worker
