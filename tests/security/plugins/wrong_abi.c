/* Broken: signed and packaged as ABI 1, but its descriptor says ABI 2. The worker reads the
 * descriptor itself and refuses to call into it (plugin.rejected, bad input). */
#include <cordon/plugin.h>

static cordon_status execute(cordon_host* host) {
  (void)host;
  return CORDON_OK;
}

extern const cordon_plugin cordon_plugin_v1 __attribute__((visibility("default")));
const cordon_plugin cordon_plugin_v1 = {CORDON_PLUGIN_ABI_VERSION + 1,
                                        "wrong-abi",
                                        "1.0.0",
                                        "broken: a descriptor of another ABI",
                                        NULL,
                                        execute,
                                        NULL};
