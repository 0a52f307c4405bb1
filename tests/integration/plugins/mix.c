/* mix: a stateless plugin for the engine's tests and benchmark. Its output `out` is
 * "LABEL(NAME=TEXT,...)" over its inputs in name order, so any graph of mix steps has one right
 * result whatever order or parallelism ran it. Config `spin_ms` keeps it busy on the CPU that
 * long first (a CPU-bound step); `label_only` makes `out` just the label (a graph whose outputs
 * would otherwise grow with its depth, as the benchmark's lattice). For the engine's failure
 * paths: `fail_times: N` fails (plugin_error) the first N executes in this worker, and
 * `violate` opens a network socket, which no policy of these tests grants (a sandbox
 * violation). `say: TEXT` logs TEXT as a warning and `fail_with: TEXT` fails with TEXT as its
 * error (the dashboard's hostile-text test). `hold_while: PATH` keeps the step running as long as
 * PATH exists, looking every 20 ms (a host file the policy's read_only grants, with the `sleep`
 * syscalls): a test ends the step once it has seen it running, however slow the machine. `ledger:
 * PATH` appends "LABEL\n" to PATH (a host file the policy's read_write grants) as each execute
 * begins: the plugin's own record of what ran, for the crash tests. */
#define _POSIX_C_SOURCE 200809L
#include <cordon/plugin.h>

#include <fcntl.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

static int append(char** text, size_t* size, size_t* capacity, const char* data, size_t length) {
  if (*size + length + 1 > *capacity) {
    size_t grown = (*size + length + 1) * 2;
    char* bigger = realloc(*text, grown);
    if (bigger == NULL) return 0;
    *text = bigger;
    *capacity = grown;
  }
  memcpy(*text + *size, data, length);
  *size += length;
  (*text)[*size] = '\0';
  return 1;
}

static unsigned executes;

static int record_in_ledger(const char* path, const char* label) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return 0;
  char line[256];
  size_t length = strlen(label);
  if (length > sizeof line - 1) length = sizeof line - 1;
  memcpy(line, label, length);
  line[length] = '\n';
  int ok = write(fd, line, length + 1) == (ssize_t)(length + 1);
  close(fd);
  return ok;
}

static cordon_status execute(cordon_host* host) {
  ++executes;
  const char* ledger = cordon_config(host, "ledger");
  if (ledger != NULL) {
    const char* who = cordon_config(host, "label");
    if (!record_in_ledger(ledger, who != NULL ? who : "mix")) {
      cordon_set_error(host, "cannot append to the ledger");
      return CORDON_ERR_PLUGIN;
    }
  }
  /* The dashboard's hostile-text test: words of the plugin's own choosing in its log and error. */
  const char* say = cordon_config(host, "say");
  if (say != NULL) cordon_log(host, CORDON_LOG_WARN, say);
  const char* fail_with = cordon_config(host, "fail_with");
  if (fail_with != NULL) {
    cordon_set_error(host, fail_with);
    return CORDON_ERR_PLUGIN;
  }
  const char* fail_times = cordon_config(host, "fail_times");
  if (fail_times != NULL && executes <= (unsigned)atoi(fail_times)) {
    cordon_set_error(host, "failing as configured (fail_times)");
    return CORDON_ERR_PLUGIN;
  }
  if (cordon_config(host, "violate") != NULL) socket(AF_INET, SOCK_STREAM, 0);
  const char* hold = cordon_config(host, "hold_while");
  if (hold != NULL) {
    const struct timespec look_again = {0, 20 * 1000 * 1000};
    for (int fd; (fd = open(hold, O_RDONLY | O_CLOEXEC)) >= 0;) {
      close(fd);
      nanosleep(&look_again, NULL);
    }
  }
  const char* spin = cordon_config(host, "spin_ms");
  if (spin != NULL) {
    const double until = now_ms() + atof(spin);
    for (volatile unsigned long spins = 0; now_ms() < until; ++spins) {
    }
  }
  const char* label = cordon_config(host, "label");
  if (label == NULL) label = "mix";
  if (cordon_config(host, "label_only") != NULL)
    return cordon_set_output(host, "out", label, strlen(label));
  char* text = NULL;
  size_t size = 0;
  size_t capacity = 0;
  int ok = append(&text, &size, &capacity, label, strlen(label)) &&
           append(&text, &size, &capacity, "(", 1);
  /* The SDK lists inputs in name order. */
  for (size_t i = 0; ok && i < cordon_input_count(host); ++i) {
    const char* name = cordon_input_name(host, i);
    uint64_t total = 0;
    if (cordon_input_size(host, name, &total) != CORDON_OK || total > (1u << 20)) {
      free(text);
      cordon_set_error(host, "an input is missing or larger than 1 MiB");
      return CORDON_ERR_BAD_INPUT;
    }
    char* data = malloc(total + 1);
    size_t filled = 0;
    while (data != NULL && filled < total) {
      size_t got = 0;
      if (cordon_read_input(host, name, filled, data + filled, total - filled, &got) != CORDON_OK ||
          got == 0)
        break;
      filled += got;
    }
    ok = data != NULL && (i == 0 || append(&text, &size, &capacity, ",", 1)) &&
         append(&text, &size, &capacity, name, strlen(name)) &&
         append(&text, &size, &capacity, "=", 1) && append(&text, &size, &capacity, data, filled);
    free(data);
  }
  ok = ok && append(&text, &size, &capacity, ")", 1);
  if (!ok) {
    free(text);
    return CORDON_ERR_LIMIT;
  }
  cordon_status status = cordon_set_output(host, "out", text, size);
  free(text);
  return status;
}

CORDON_PLUGIN("mix", "1.0.0", "engine tests: combines its inputs (stateless)", NULL, execute, NULL);
