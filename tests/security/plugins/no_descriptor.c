/* Broken: a shared object with code but no cordon_plugin_v1 descriptor. The worker finds nothing
 * to call and refuses it (plugin.rejected, bad input). */
#include <cordon/plugin.h>

__attribute__((visibility("default"))) cordon_status cordon_execute(cordon_host* host) {
  (void)host;
  return CORDON_OK;
}
