/* Hostile: writes garbage into the RPC socket (fd 3) behind the SDK's back. The supervisor must
 * see a protocol error, stop the worker, and carry on. */
#define _GNU_SOURCE /* POSIX calls under -std=c11 */
#include <cordon/plugin.h>

#include <string.h>
#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  (void)host;
  char junk[64];
  memset(junk, 0xff, sizeof junk);
  for (int i = 0; i < 16; ++i) (void)write(3, junk, sizeof junk);
  /* Spin rather than return: the verdict must come from the garbage, not from a late reply. */
  for (volatile int spin = 0;; ++spin) {
  }
  return CORDON_OK;
}

CORDON_PLUGIN("rpc-garbage", "1.0.0", "hostile: corrupts the RPC stream", NULL, execute, NULL);
