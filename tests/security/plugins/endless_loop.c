/* Hostile: never returns from execute. The per-call timeout must stop it (timeout). */
#include <cordon/plugin.h>

static cordon_status execute(cordon_host* host) {
  (void)host;
  volatile unsigned long spins = 0;
  for (;;) ++spins;
  return CORDON_OK;
}

CORDON_PLUGIN("endless-loop", "1.0.0", "hostile: spins forever", NULL, execute, NULL);
