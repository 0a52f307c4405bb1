/* Hostile: tries to read the host's /etc/passwd during execute. The runtime seccomp filter has
 * no openat, so the worker must die of SIGSYS (sandbox_violation, syscall "openat"). */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <fcntl.h>
#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  char buffer[256];
  int fd = open("/etc/passwd", O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, buffer, sizeof buffer) : -1;
  if (got > 0) return cordon_set_output(host, "stolen", buffer, (size_t)got);
  cordon_set_error(host, "could not read /etc/passwd");
  return CORDON_ERR_PLUGIN;
}

CORDON_PLUGIN("read-passwd", "1.0.0", "hostile: reads /etc/passwd", NULL, execute, NULL);
