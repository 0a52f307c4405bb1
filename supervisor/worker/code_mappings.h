// W^X after loading, checked from outside: the supervisor reads the worker's /proc/PID/maps once
// the plugin is loaded (the kernel's account, not the worker's), before any call reaches it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace cordon {

// The first mapping that is writable and executable, or executable with no file behind it (code
// made at run time), as its maps line; nullopt when there is none. A maps file that cannot be
// read counts as such a mapping: the check fails closed.
std::optional<std::string> findWritableOrAnonymousCode(pid_t pid);

}  // namespace cordon
