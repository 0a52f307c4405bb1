#include "core/allocator.h"

#ifdef CORDON_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace cordon {

std::string allocatorName() {
#ifdef CORDON_JEMALLOC
  const char* version = nullptr;
  size_t length = sizeof version;
  if (mallctl("version", static_cast<void*>(&version), &length, nullptr, 0) == 0 &&
      version != nullptr)
    return std::string("jemalloc ") + version;
  return "jemalloc";
#else
  return "system malloc";
#endif
}

}  // namespace cordon
