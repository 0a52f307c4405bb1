/* Reads (or, with config write: yes, tries to create) the file named by config `path` and
 * reports what happened as its output: the content, or "errno N". Used against filesystem grants:
 * what is granted reads, everything else does not exist, and nothing is writable. */
#define _GNU_SOURCE
#include <cordon/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static cordon_status report_errno(cordon_host* host) {
  char text[32];
  snprintf(text, sizeof text, "errno %d", errno);
  return cordon_set_output(host, "result", text, strlen(text));
}

static cordon_status execute(cordon_host* host) {
  const char* path = cordon_config(host, "path");
  const char* write_mode = cordon_config(host, "write");
  if (path == NULL) return CORDON_ERR_BAD_INPUT;
  if (write_mode != NULL) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return report_errno(host);
    return cordon_set_output(host, "result", "written", 7);
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0) return report_errno(host);
  char buffer[256];
  ssize_t got = read(fd, buffer, sizeof buffer);
  close(fd);
  if (got < 0) return report_errno(host);
  return cordon_set_output(host, "result", buffer, (size_t)got);
}

CORDON_PLUGIN("file-reader", "1.0.0", "reads the file its config names", NULL, execute, NULL);
