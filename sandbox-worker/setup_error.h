// Containment steps fail by throwing SetupError; the worker then exits with kExitSetupFailed
// before any plugin code has been mapped.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cordon::worker {

class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws SetupError("<what>: <strerror(errno)>") when a syscall wrapper returned -1.
inline void checkSys(long result, const std::string& what) {
  if (result == -1) throw SetupError(what + ": " + std::strerror(errno));
}

}  // namespace cordon::worker
