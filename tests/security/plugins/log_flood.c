/* Hostile: floods the host with log calls, ignoring refusals. The gate stops the budget at
 * max_calls (resource_limit, gate.deny on log); the supervisor's console sees only the granted
 * calls. */
#include <cordon/plugin.h>

static cordon_status execute(cordon_host* host) {
  cordon_status last = CORDON_OK;
  for (int i = 0; i < 20000; ++i) {
    cordon_status status = cordon_log(host, CORDON_LOG_INFO, "flood");
    if (status != CORDON_OK) last = status;
  }
  return last;
}

CORDON_PLUGIN("log-flood", "1.0.0", "hostile: floods the log capability", NULL, execute, NULL);
