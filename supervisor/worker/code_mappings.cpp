#include "worker/code_mappings.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cordon {

std::optional<std::string> findWritableOrAnonymousCode(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/maps";
  std::ifstream maps(path);
  if (!maps) return "cannot read " + path + ": " + std::strerror(errno);
  for (std::string line; std::getline(maps, line);) {
    // address perms offset dev inode [pathname]
    std::istringstream fields(line);
    std::string address, perms, offset, device, inode, name;
    fields >> address >> perms >> offset >> device >> inode;
    std::getline(fields >> std::ws, name);
    if (perms.size() < 3 || perms[2] != 'x') continue;
    if (perms[1] == 'w') return line;
    // The kernel's own code pages carry a name in brackets; every other piece of code must be
    // mapped from a file (the plugin, the worker and its libraries).
    if (name == "[vdso]" || name == "[vsyscall]") continue;
    if (name.empty() || name[0] != '/') return line;
  }
  return std::nullopt;
}

}  // namespace cordon
