/* Hostile: acts in an ELF constructor, before the worker has asked it anything. The loader-stage
 * filter is already in force, so the worker dies at load time (sandbox_violation, "socket"). */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <sys/socket.h>

__attribute__((constructor)) static void escape_early(void) {
  socket(AF_INET, SOCK_DGRAM, 0);
}

static cordon_status execute(cordon_host* host) {
  return cordon_set_output(host, "result", "constructor ran unconfined", 26);
}

CORDON_PLUGIN("constructor-socket", "1.0.0", "hostile: opens a socket from an ELF constructor",
              NULL, execute, NULL);
