/* Hostile: replaces the worker with a shell. Forbidden whatever the policy says:
 * sandbox_violation, syscall "execve". */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  char* argv[] = {"/bin/sh", "-c", "id", NULL};
  char* envp[] = {NULL};
  execve("/bin/sh", argv, envp);
  cordon_set_error(host, "execve refused");
  return CORDON_ERR_PLUGIN;
}

CORDON_PLUGIN("exec-shell", "1.0.0", "hostile: execs a shell", NULL, execute, NULL);
