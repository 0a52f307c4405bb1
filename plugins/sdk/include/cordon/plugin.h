/* Cordon plugin SDK, C ABI version 1.
 *
 * A plugin is a shared object that exports one symbol, `cordon_plugin_v1`, describing itself and
 * its callbacks. It runs inside a `cordon-worker` sandbox and talks to the outside world only
 * through the host functions below, which the worker implements; every host call is checked
 * against the operator's policy by the supervisor. Plugins never see the RPC layer.
 *
 * Threading: callbacks run on one thread, one at a time. A `cordon_host*` is valid only during
 * the callback it was passed to.
 */
#ifndef CORDON_PLUGIN_H
#define CORDON_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CORDON_PLUGIN_ABI_VERSION 1u

typedef enum cordon_status {
  CORDON_OK = 0,
  CORDON_ERR_PLUGIN = 1,    /* the plugin failed on its own terms */
  CORDON_ERR_DENIED = 2,    /* the policy denied a host call */
  CORDON_ERR_LIMIT = 3,     /* a budget (bytes, calls, memory) is exhausted */
  CORDON_ERR_BAD_INPUT = 4, /* config or input is not what the plugin accepts */
  CORDON_ERR_NOT_FOUND = 5, /* no input or config key of that name */
  CORDON_ERR_HOST = 6       /* the host could not be reached */
} cordon_status;

typedef enum cordon_log_level {
  CORDON_LOG_DEBUG = 0,
  CORDON_LOG_INFO = 1,
  CORDON_LOG_WARN = 2,
  CORDON_LOG_ERROR = 3
} cordon_log_level;

typedef struct cordon_host cordon_host; /* opaque; owned by the worker */

/* ---- Host functions (provided by cordon-worker) ------------------------------------------- */

/* Writes a line to the workflow's log. Subject to the policy's `log` grant. */
cordon_status cordon_log(cordon_host* host, cordon_log_level level, const char* message);

/* Returns the value of config key `key` for this call, or NULL. The string lives until the
 * callback returns. */
const char* cordon_config(cordon_host* host, const char* key);

/* Number of inputs of this call and the name of input `index` (NULL past the end). */
size_t cordon_input_count(cordon_host* host);
const char* cordon_input_name(cordon_host* host, size_t index);

/* Size in bytes of input `name`. */
cordon_status cordon_input_size(cordon_host* host, const char* name, uint64_t* size);

/* Reads up to `capacity` bytes of input `name` starting at `offset` into `buffer`; `*read` is 0
 * at the end. Subject to the policy's `read_input` grant and byte budget. */
cordon_status cordon_read_input(cordon_host* host, const char* name, uint64_t offset, void* buffer,
                                size_t capacity, size_t* read);

/* Reads up to `capacity` bytes of the host file `path` (absolute) from `offset`; `*read` is 0 at
 * the end. The supervisor opens it for the plugin: subject to the policy's `read_file` grant
 * (path prefixes, byte budget); a path outside the grant, or leading out of it through a
 * symlink, is CORDON_ERR_DENIED; a missing file is CORDON_ERR_NOT_FOUND. */
cordon_status cordon_read_file(cordon_host* host, const char* path, uint64_t offset, void* buffer,
                               size_t capacity, size_t* read);

/* Maps input `name` read-only: `*data` points at its `*size` bytes until the callback returns
 * (a write through it is a crash; the bytes never change). No copy is made, whatever the size:
 * the input is a sealed memfd the supervisor hands to the worker. Subject to the policy's
 * `map_input` grant (max_bytes: bytes mapped per call). An empty input maps to a valid pointer
 * to no bytes. */
cordon_status cordon_map_input(cordon_host* host, const char* name, const void** data,
                               uint64_t* size);

/* Creates output `name` of exactly `size` bytes (zeroes) for the plugin to write in place:
 * `*data` is writable until the callback returns, and the output is those bytes when it returns
 * CORDON_OK. The supervisor seals them then; nobody sees them before. Budgeted by the policy's
 * max_output_bytes. cordon_set_output with the same name afterwards replaces it. */
cordon_status cordon_create_output(cordon_host* host, const char* name, uint64_t size, void** data);

/* Sets output `name` to a copy of `data`. Setting the same name again replaces it. */
cordon_status cordon_set_output(cordon_host* host, const char* name, const void* data, size_t size);

/* Attaches a message to the failure status the callback is about to return. */
void cordon_set_error(cordon_host* host, const char* message);

/* ---- What a plugin exports ------------------------------------------------------------------ */

typedef struct cordon_plugin {
  uint32_t abi_version; /* CORDON_PLUGIN_ABI_VERSION */
  const char* name;
  const char* version;
  const char* description;
  /* Once per worker, before the first execute. May be NULL. */
  cordon_status (*init)(cordon_host* host);
  /* One workflow step: read inputs, set outputs. Required. */
  cordon_status (*execute)(cordon_host* host);
  /* Before the worker exits. May be NULL. */
  void (*shutdown)(void); /* NOLINT(modernize-redundant-void-arg): C needs (void) */
} cordon_plugin;

#define CORDON_PLUGIN_SYMBOL "cordon_plugin_v1"

/* Declares the plugin: CORDON_PLUGIN("name", "1.0.0", "what it does", init, execute, shutdown) */
#define CORDON_PLUGIN(NAME, VERSION, DESCRIPTION, INIT, EXECUTE, SHUTDOWN)            \
  extern const cordon_plugin cordon_plugin_v1 __attribute__((visibility("default"))); \
  const cordon_plugin cordon_plugin_v1 = {                                            \
      CORDON_PLUGIN_ABI_VERSION, NAME, VERSION, DESCRIPTION, INIT, EXECUTE, SHUTDOWN}

#ifdef __cplusplus
}
#endif

#endif /* CORDON_PLUGIN_H */
