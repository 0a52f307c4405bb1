#include "worker/coverage_sink.h"

#if CORDON_COVERAGE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "worker_protocol.h"
#endif

namespace cordon {

int openWorkerCoverageSink() {
#if CORDON_COVERAGE
  const char* directory = getenv("CORDON_WORKER_COVERAGE_DIR");
  if (directory == nullptr || *directory == '\0') return -1;
  std::string path = std::string(directory) + "/worker-XXXXXX";
  int fd = mkostemp(path.data(), O_CLOEXEC);
  // Sized now: the worker maps it and stores into it, since its RLIMIT_FSIZE refuses write().
  if (fd >= 0 && ftruncate(fd, protocol::kCoverageDumpBytes) != 0) {
    close(fd);
    return -1;
  }
  return fd;
#else
  return -1;
#endif
}

}  // namespace cordon
