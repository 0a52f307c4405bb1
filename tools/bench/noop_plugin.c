/* The benchmark's plugin: an execute that does nothing, so a call measures the path, not work. */
#include <cordon/plugin.h>

static cordon_status execute(cordon_host* host) {
  (void)host;
  return CORDON_OK;
}

CORDON_PLUGIN("noop", "1.0.0", "does nothing, for benchmarks", NULL, execute, NULL);
