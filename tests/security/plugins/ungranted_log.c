/* Hostile: calls the log host capability, which its policy section does not grant. The gate
 * refuses (policy_denial); the SDK reports CORDON_ERR_DENIED, which the plugin passes on. */
#include <cordon/plugin.h>

static cordon_status execute(cordon_host* host) {
  cordon_status status =
      cordon_log(host, CORDON_LOG_WARN, "let me write to the operator's console");
  if (status != CORDON_OK) return status;
  return cordon_set_output(host, "result", "logged", 6);
}

CORDON_PLUGIN("ungranted-log", "1.0.0", "hostile: uses a host capability it was not granted", NULL,
              execute, NULL);
