/* blob: large artifacts without copies, for the data plane's tests and benchmark.
 *   mode produce        output `out` of config `bytes` bytes, written in place: byte i is
 *                       (i / 4096 + i) & 0xff, so a reader can check any page
 *   mode consume        maps input `in` read-only and outputs `check`: "SIZE ok" when every
 *                       page holds the pattern above, "SIZE bad AT" at the first that does not
 *   mode copy           maps input `in` and writes it to output `out` in place (one memcpy)
 *   mode write-input    maps input `in` and writes into the mapping (must fault)
 *   mode keep-writable  produces `out`, then keeps a second writable mapping of it (mremap
 *                       with old size 0), so the bytes could change after the handover
 *   mode read-chunks    reads input `in` through cordon_read_input, for comparison
 *   mode touch          maps input `in` and reads one byte of each page (the benchmark's reader)
 * Config `fast` makes produce fill with memset (the benchmark's writer) instead of the pattern. */
#define _GNU_SOURCE
#include <cordon/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static unsigned char pattern(uint64_t i) {
  return (unsigned char)((i / 4096 + i) & 0xff);
}

static cordon_status fail(cordon_host* host, const char* why, cordon_status status) {
  cordon_set_error(host, why);
  return status;
}

static cordon_status produce(cordon_host* host, int keep_writable) {
  const char* bytes = cordon_config(host, "bytes");
  uint64_t size = bytes == NULL ? 1u << 20 : strtoull(bytes, NULL, 10);
  unsigned char* out = NULL;
  cordon_status status = cordon_create_output(host, "out", size, (void**)&out);
  if (status != CORDON_OK) return status;
  if (cordon_config(host, "fast") != NULL) {
    memset(out, 0x5a, size);
    return CORDON_OK;
  }
  /* A page at a time: the pattern changes every 4096 bytes. */
  for (uint64_t page = 0; page < size; page += 4096) {
    const uint64_t end = page + 4096 < size ? page + 4096 : size;
    for (uint64_t i = page; i < end; ++i) out[i] = pattern(i);
  }
  if (keep_writable && size > 0) {
    void* second = mremap(out, 0, size, MREMAP_MAYMOVE);
    if (second == MAP_FAILED) return fail(host, "mremap failed", CORDON_ERR_PLUGIN);
  }
  return CORDON_OK;
}

static cordon_status consume(cordon_host* host) {
  const unsigned char* in = NULL;
  uint64_t size = 0;
  cordon_status status = cordon_map_input(host, "in", (const void**)&in, &size);
  if (status != CORDON_OK) return status;
  char text[64];
  uint64_t bad = UINT64_MAX;
  for (uint64_t i = 0; i < size && bad == UINT64_MAX; i += 4096) {
    const uint64_t last = i + 4095 < size ? i + 4095 : size - 1; /* first and last of the page */
    if (in[i] != pattern(i) || in[last] != pattern(last)) bad = i;
  }
  if (bad == UINT64_MAX) {
    snprintf(text, sizeof text, "%llu ok", (unsigned long long)size);
  } else {
    snprintf(text, sizeof text, "%llu bad %llu", (unsigned long long)size, (unsigned long long)bad);
  }
  return cordon_set_output(host, "check", text, strlen(text));
}

static cordon_status copy(cordon_host* host) {
  const void* in = NULL;
  uint64_t size = 0;
  cordon_status status = cordon_map_input(host, "in", &in, &size);
  if (status != CORDON_OK) return status;
  void* out = NULL;
  status = cordon_create_output(host, "out", size, &out);
  if (status != CORDON_OK) return status;
  memcpy(out, in, size);
  return CORDON_OK;
}

static cordon_status write_input(cordon_host* host) {
  unsigned char* in = NULL;
  uint64_t size = 0;
  cordon_status status = cordon_map_input(host, "in", (const void**)&in, &size);
  if (status != CORDON_OK) return status;
  if (size > 0) ((volatile unsigned char*)in)[0] = 0xff; /* faults: the mapping is read-only */
  return cordon_set_output(host, "check", "wrote", 5);
}

static cordon_status touch(cordon_host* host) {
  const unsigned char* in = NULL;
  uint64_t size = 0;
  cordon_status status = cordon_map_input(host, "in", (const void**)&in, &size);
  if (status != CORDON_OK) return status;
  unsigned sum = 0;
  for (uint64_t i = 0; i < size; i += 4096) sum += in[i];
  char text[64];
  snprintf(text, sizeof text, "%llu touched %u", (unsigned long long)size, sum & 0xff);
  return cordon_set_output(host, "check", text, strlen(text));
}

static cordon_status read_chunks(cordon_host* host) {
  uint64_t size = 0;
  if (cordon_input_size(host, "in", &size) != CORDON_OK) return CORDON_ERR_BAD_INPUT;
  static unsigned char buffer[1 << 20];
  uint64_t offset = 0;
  while (offset < size) {
    size_t got = 0;
    cordon_status status = cordon_read_input(host, "in", offset, buffer, sizeof buffer, &got);
    if (status != CORDON_OK) return status;
    if (got == 0) break;
    offset += got;
  }
  char text[32];
  snprintf(text, sizeof text, "%llu read", (unsigned long long)offset);
  return cordon_set_output(host, "check", text, strlen(text));
}

static cordon_status execute(cordon_host* host) {
  const char* mode = cordon_config(host, "mode");
  if (mode == NULL) return fail(host, "config 'mode' is required", CORDON_ERR_BAD_INPUT);
  if (strcmp(mode, "produce") == 0) return produce(host, 0);
  if (strcmp(mode, "keep-writable") == 0) return produce(host, 1);
  if (strcmp(mode, "consume") == 0) return consume(host);
  if (strcmp(mode, "copy") == 0) return copy(host);
  if (strcmp(mode, "write-input") == 0) return write_input(host);
  if (strcmp(mode, "read-chunks") == 0) return read_chunks(host);
  if (strcmp(mode, "touch") == 0) return touch(host);
  return fail(host, "unknown mode", CORDON_ERR_BAD_INPUT);
}

CORDON_PLUGIN("blob", "1.0.0", "engine tests: large artifacts in place", NULL, execute, NULL);
