/* counter: a stateful plugin for the engine's tests. It counts the steps it has executed in
 * this worker and outputs the count as `n`; config `spin_ms` keeps it busy that long first, so
 * steps that wrongly ran side by side would overlap in time. */
#define _POSIX_C_SOURCE 199309L
#include <cordon/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned calls;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static cordon_status execute(cordon_host* host) {
  const char* spin = cordon_config(host, "spin_ms");
  if (spin != NULL) {
    const double until = now_ms() + atof(spin);
    for (volatile unsigned long spins = 0; now_ms() < until; ++spins) {
    }
  }
  char text[32];
  snprintf(text, sizeof text, "%u", ++calls);
  return cordon_set_output(host, "n", text, strlen(text));
}

CORDON_PLUGIN("counter", "1.0.0", "engine tests: counts its steps (keeps state)", NULL, execute,
              NULL);
