/* Hostile: burns CPU with a generous wall-clock timeout, so the policy's cpu_seconds (RLIMIT_CPU)
 * is what stops it: SIGXCPU, resource_limit with limit "cpu". */
#include <cordon/plugin.h>

static cordon_status execute(cordon_host* host) {
  (void)host;
  for (volatile unsigned long spins = 0;; ++spins) {
  }
  return CORDON_OK;
}

CORDON_PLUGIN("cpu-burn", "1.0.0", "hostile: burns CPU", NULL, execute, NULL);
