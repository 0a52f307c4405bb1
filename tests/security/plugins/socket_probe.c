/* Probes for a network socket and copes when refused. Its policy section answers violations
 * with an errno (on_violation: { errno: EPERM }), so the probe fails, the plugin carries on, and
 * the refusal is audited; a forbidden syscall (ptrace) still stops it. */
#define _GNU_SOURCE
#include <cordon/plugin.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  const char* mode = cordon_config(host, "then");
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  char result[64];
  snprintf(result, sizeof result, fd < 0 ? "socket refused: errno %d" : "socket opened", errno);
  if (mode != NULL && strcmp(mode, "ptrace") == 0) syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
  return cordon_set_output(host, "result", result, strlen(result));
}

CORDON_PLUGIN("socket-probe", "1.0.0", "probes for a socket, copes with a refusal", NULL, execute,
              NULL);
