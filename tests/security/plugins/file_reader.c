/* Reads (the first 256 bytes, or with config tail: yes the last 4 KiB; or, with config write: yes,
 * creates and writes config `content` to; or, with fill: yes, writes until the filesystem refuses)
 * the file named by config `path` and reports what happened as its output: the content, "written",
 * "filled N bytes: errno E", or "errno N". Used against filesystem grants: what is granted reads,
 * everything else does not exist, only read_write paths and the scratch tmpfs are writable, and the
 * scratch tmpfs fills up. */
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
  if (cordon_config(host, "fill") != NULL) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return report_errno(host);
    static char block[65536];
    unsigned long long total = 0;
    for (;;) {
      ssize_t put = write(fd, block, sizeof block);
      if (put <= 0) break;
      total += (unsigned long long)put;
    }
    char text[64];
    snprintf(text, sizeof text, "filled %llu bytes: errno %d", total, errno);
    close(fd);
    return cordon_set_output(host, "result", text, strlen(text));
  }
  if (write_mode != NULL) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return report_errno(host);
    const char* content = cordon_config(host, "content");
    if (content != NULL && write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
      return report_errno(host);
    }
    close(fd);
    return cordon_set_output(host, "result", "written", 7);
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0) return report_errno(host);
  /* tail: yes: the last 4 KiB, read here in the worker (the audit log, as the call finds it). */
  static char buffer[4096];
  size_t want = 256;
  if (cordon_config(host, "tail") != NULL) {
    want = sizeof buffer;
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0 || lseek(fd, end > (off_t)want ? end - (off_t)want : 0, SEEK_SET) < 0) {
      int saved = errno;
      close(fd);
      errno = saved;
      return report_errno(host);
    }
  }
  ssize_t got = read(fd, buffer, want);
  close(fd);
  if (got < 0) return report_errno(host);
  return cordon_set_output(host, "result", buffer, (size_t)got);
}

CORDON_PLUGIN("file-reader", "1.0.0", "reads the file its config names", NULL, execute, NULL);
