/* Hostile (or just broken): dereferences a wild pointer. The worker dies of SIGSEGV (crash). */
#include <cordon/plugin.h>

#include <stdint.h>

static cordon_status execute(cordon_host* host) {
  (void)host;
  volatile uintptr_t address = 16; /* volatile: the compiler may not fold the fault away */
  *(volatile int*)address = 42;
  return CORDON_OK;
}

CORDON_PLUGIN("segfault", "1.0.0", "hostile: writes through a wild pointer", NULL, execute, NULL);
