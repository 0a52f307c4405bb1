/* Hostile: allocates and touches memory until something stops it. RLIMIT_AS makes the
 * allocation fail; the worker reports it and exits (resource_limit). */
#include <cordon/plugin.h>

#include <stdlib.h>
#include <string.h>

static cordon_status execute(cordon_host* host) {
  for (;;) {
    char* block = malloc(16u << 20);
    if (block == NULL) break; /* never reached: the worker stops at the first failure */
    memset(block, 0xa5, 16u << 20);
  }
  cordon_set_error(host, "allocation failed and the plugin carried on");
  return CORDON_ERR_PLUGIN;
}

CORDON_PLUGIN("memory-hog", "1.0.0", "hostile: allocates without bound", NULL, execute, NULL);
