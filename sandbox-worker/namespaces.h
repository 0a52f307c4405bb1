// Step: namespaces. They are created by the supervisor when it clones the worker (a PID namespace
// can only be entered by a new process, and ids must be mapped before exec); here the worker
// checks it is in them and configures what is left. What it may call is decided by seccomp later.
#pragma once

namespace cordon::worker {

// Throws SetupError when the worker is not PID 1 of a fresh PID namespace.
void configureNamespaces();

}  // namespace cordon::worker
