/* text-transform: rewrites its `text` input. Config `mode`: upper (default), lower or reverse. */
#include <cordon/plugin.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static cordon_status read_all(cordon_host* host, const char* name, char** out, size_t* size) {
  uint64_t total = 0;
  cordon_status status = cordon_input_size(host, name, &total);
  if (status != CORDON_OK) return status;
  char* data = malloc(total + 1);
  if (data == NULL) return CORDON_ERR_LIMIT;
  size_t filled = 0;
  while (filled < total) {
    size_t got = 0;
    status = cordon_read_input(host, name, filled, data + filled, total - filled, &got);
    if (status != CORDON_OK || got == 0) break;
    filled += got;
  }
  if (status != CORDON_OK) {
    free(data);
    return status;
  }
  *out = data;
  *size = filled;
  return CORDON_OK;
}

static cordon_status execute(cordon_host* host) {
  const char* mode = cordon_config(host, "mode");
  if (mode == NULL) mode = "upper";
  if (strcmp(mode, "upper") != 0 && strcmp(mode, "lower") != 0 && strcmp(mode, "reverse") != 0) {
    cordon_set_error(host, "config field 'mode' must be upper, lower or reverse");
    return CORDON_ERR_BAD_INPUT;
  }
  char* text = NULL;
  size_t size = 0;
  cordon_status status = read_all(host, "text", &text, &size);
  if (status != CORDON_OK) {
    cordon_set_error(host, "cannot read input 'text'");
    return status;
  }
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = (unsigned char)text[i];
    if (mode[0] == 'u') text[i] = (char)toupper(c);
    if (mode[0] == 'l') text[i] = (char)tolower(c);
  }
  if (mode[0] == 'r') {
    for (size_t i = 0, j = size; i + 1 < j; ++i, --j) {
      char t = text[i];
      text[i] = text[j - 1];
      text[j - 1] = t;
    }
  }
  cordon_log(host, CORDON_LOG_INFO, "text transformed");
  status = cordon_set_output(host, "text", text, size);
  free(text);
  return status;
}

CORDON_PLUGIN("text-transform", "1.0.0", "Rewrites text: upper, lower or reverse", NULL, execute,
              NULL);
