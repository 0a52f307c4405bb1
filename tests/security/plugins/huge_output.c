/* Hostile: answers with far more output than its policy's max_output_bytes. The gate refuses
 * the result (resource_limit, gate.deny on execute.outputs); the worker itself stays usable. */
#include <cordon/plugin.h>

#include <stdlib.h>
#include <string.h>

static cordon_status execute(cordon_host* host) {
  size_t size = 2u << 20;
  char* flood = malloc(size);
  if (flood == NULL) return CORDON_ERR_LIMIT;
  memset(flood, 'A', size);
  cordon_status status = cordon_set_output(host, "result", flood, size);
  free(flood);
  return status;
}

CORDON_PLUGIN("huge-output", "1.0.0", "hostile: floods its output", NULL, execute, NULL);
