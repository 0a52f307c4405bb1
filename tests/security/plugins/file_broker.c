/* Asks the host to read the file its config `path` names (cordon_read_file: the supervisor opens
 * it under the policy's read_file grant) and outputs the first 256 bytes, or "status N". Used
 * against read_file's path prefixes: inside reads, outside, '..' and symlinks out are denied. */
#include <cordon/plugin.h>

#include <stdio.h>
#include <string.h>

static cordon_status execute(cordon_host* host) {
  const char* path = cordon_config(host, "path");
  if (path == NULL) return CORDON_ERR_BAD_INPUT;
  char buffer[256];
  size_t got = 0;
  cordon_status status = cordon_read_file(host, path, 0, buffer, sizeof buffer, &got);
  if (status != CORDON_OK) {
    char text[32];
    snprintf(text, sizeof text, "status %d", (int)status);
    return cordon_set_output(host, "result", text, strlen(text));
  }
  return cordon_set_output(host, "result", buffer, got);
}

CORDON_PLUGIN("file-broker", "1.0.0", "reads a host file through the read_file capability", NULL,
              execute, NULL);
