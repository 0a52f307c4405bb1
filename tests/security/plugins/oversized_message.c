/* Hostile: answers with a 48 MiB output, far past its policy's max_output_bytes, so the RPC
 * message itself exceeds what the supervisor will read: a protocol error, and the supervisor's
 * memory is not the plugin's to spend. */
#include <cordon/plugin.h>

#include <stdlib.h>
#include <string.h>

static cordon_status execute(cordon_host* host) {
  size_t size = 48u << 20;
  char* flood = malloc(size);
  if (flood == NULL) return CORDON_ERR_LIMIT;
  memset(flood, 'B', size);
  return cordon_set_output(host, "result", flood, size);
}

CORDON_PLUGIN("oversized-message", "1.0.0", "hostile: sends an RPC message past every bound", NULL,
              execute, NULL);
