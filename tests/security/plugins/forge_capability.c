/* Hostile: forges a capability. It writes a well-formed Cap'n Proto RPC call on the RPC socket
 * (fd 3), behind the SDK's back, to a Host capability with an ID the supervisor never exported
 * (forged_call.h, made at build time). The supervisor's RPC layer must refuse it as a protocol
 * error, stop the worker, and carry on; no data may come back. */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <unistd.h>

#include "forged_call.h"

static cordon_status execute(cordon_host* host) {
  (void)host;
  if (write(3, kForgedCall, sizeof kForgedCall) != (ssize_t)sizeof kForgedCall)
    return CORDON_ERR_PLUGIN;
  /* Spin rather than return: the verdict must come from the forged call, not from a reply. */
  for (volatile int spin = 0;; ++spin) {
  }
  return CORDON_OK;
}

CORDON_PLUGIN("forge-capability", "1.0.0", "hostile: calls a capability it invented", NULL, execute,
              NULL);
