// Step: new namespaces. What exists for the worker is decided here; what it may call is decided
// by seccomp later.
#pragma once

namespace cordon::worker {

// Unshares user, mount, network, IPC, UTS and cgroup namespaces and maps the caller's uid and
// gid to 0 inside (the worker drops every capability of that mapping before plugin code runs).
// PID namespaces need a fork and come with full isolation (issue #3).
void enterNamespaces();

}  // namespace cordon::worker
