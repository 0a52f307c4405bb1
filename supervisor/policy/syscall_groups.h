// Named syscall groups a policy may grant, and the groups the worker always needs. Each group
// lists exactly the syscalls it opens (docs/policy.md prints the same table).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cordon {

// What the worker itself needs to serve RPC after the plugin is loaded: granted to every plugin.
const std::vector<std::string>& runtimeSyscalls();

// What the dynamic loader needs, beyond the runtime set, while dlopen maps the plugin: the
// supervisor lets these through only until the plugin is loaded (allowedWhileLoading).
const std::vector<std::string>& loaderSyscalls();

// What reading granted files needs beyond the runtime set; added when a policy grants paths.
const std::vector<std::string>& fileSyscalls();

// What writing files needs beyond fileSyscalls(); added with read_write paths or a scratch dir.
const std::vector<std::string>& writeSyscalls();

// Groups a policy may name in `syscalls:`.
const std::map<std::string, std::vector<std::string>>& syscallGroups();

// Syscalls no policy may grant in this version: they reach past the sandbox.
bool isForbiddenSyscall(const std::string& name);

}  // namespace cordon
