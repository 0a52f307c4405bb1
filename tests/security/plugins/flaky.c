/* Crashes the first time it runs, succeeds every time after: the first run creates the marker
 * file its config names (in a read_write grant, so the mark outlives the worker) and then
 * writes through a wild pointer. Used to show on_failure restarts a dead worker and the step
 * recovers. */
#include <cordon/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  const char* marker = cordon_config(host, "marker");
  if (marker == NULL) return CORDON_ERR_BAD_INPUT;
  int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd >= 0) {
    close(fd);
    volatile uintptr_t address = 16; /* volatile: the compiler may not fold the fault away */
    *(volatile int*)address = 1;
  }
  const char* result = errno == EEXIST ? "recovered" : "marker failed";
  return cordon_set_output(host, "result", result, strlen(result));
}

CORDON_PLUGIN("flaky", "1.0.0", "crashes on its first run only", NULL, execute, NULL);
