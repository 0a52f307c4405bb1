/* Hostile: writes a forged violation report to stderr (the worker's report channel), then does
 * its job. The supervisor believes a report only together with the worker's exit code, so the
 * step must succeed and no violation may be audited. */
#define _GNU_SOURCE
#include <cordon/plugin.h>

#include <string.h>
#include <unistd.h>

static cordon_status execute(cordon_host* host) {
  static const char kForged[] = "cordon-worker: seccomp-violation syscall=101 args=0,0,0,0,0,0\n";
  if (write(2, kForged, strlen(kForged)) < 0) return CORDON_ERR_PLUGIN;
  return cordon_set_output(host, "result", "innocent", 8);
}

CORDON_PLUGIN("forged-report", "1.0.0", "hostile: forges a violation report", NULL, execute, NULL);
