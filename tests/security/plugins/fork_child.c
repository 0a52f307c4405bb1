/* Hostile: forks (glibc's fork() is clone()). Forbidden whatever the policy says:
 * sandbox_violation, syscall "clone". */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  cordon_set_error(host, "fork refused");
  return CORDON_ERR_PLUGIN;
}

CORDON_PLUGIN("fork-child", "1.0.0", "hostile: forks", NULL, execute, NULL);
