/* Attacks on the trusted side rather than the sandbox: bytes that break JSON or a terminal, exit
 * codes and report lines that claim the worker's own verdicts, and code written at run time.
 * Meson builds this file once per attack with -DATTACK_<NAME> and -DPLUGIN_NAME
 * (tests/security/plugins/meson.build); tests/security/trusted_side_test.cpp says what each
 * must lead to. */
#define _GNU_SOURCE
#include <cordon/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Ill-formed UTF-8 (a lone continuation, an overlong '/', a surrogate, a cut sequence), terminal
 * escapes (OSC title, CSI as a C1 byte and as U+009B), a bidi override and a forged status line. */
#define HOSTILE_TEXT                                                      \
  "bad \x80 \xc0\xaf \xed\xa0\x80 \xe2\x82 title\x1b]0;pwned\x07 csi\x9b" \
  "31m \xc2\x9b"                                                          \
  "31m rlo\xe2\x80\xae"                                                   \
  "txt.exe\r\ncordon: workflow succeeded; run 0000000000000000\n"

#if defined(ATTACK_WX_CONSTRUCTOR)
static void* writable_code;
/* Under the loading-stage filter: ask for a page that is writable and executable at once. */
__attribute__((constructor)) static void map_rwx(void) {
  writable_code =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}
#elif defined(ATTACK_WX_FLIP)
/* Under the loading-stage filter: write code into an anonymous page, then make it executable. */
__attribute__((constructor)) static void flip_to_exec(void) {
  unsigned char* page =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return;
  page[0] = 0xc3; /* ret */
  mprotect(page, 4096, PROT_READ | PROT_EXEC);
}
#endif

static cordon_status execute(cordon_host* host) {
#if defined(ATTACK_TEXT_ERROR)
  cordon_log(host, CORDON_LOG_WARN, HOSTILE_TEXT);
  cordon_set_error(host, HOSTILE_TEXT);
  return CORDON_ERR_PLUGIN;
#elif defined(ATTACK_TEXT_OUTPUT)
  static const char kText[] = HOSTILE_TEXT;
  return cordon_set_output(host, "result", kText, sizeof kText - 1);
#elif defined(ATTACK_TEXT_PATH)
  /* A path outside any grant whose bytes are not UTF-8: the denial must still be audited. */
  char buffer[16];
  uint64_t got = 0;
  cordon_status status =
      cordon_read_file(host, "/etc/\xff\xfe\x80passwd", 0, buffer, sizeof buffer, &got);
  if (status == CORDON_OK) return cordon_set_output(host, "result", buffer, (size_t)got);
  return status;
#elif defined(ATTACK_INODE_FLOOD)
  /* Empty files cost no blocks, only inodes (kernel memory that memory_mb does not count):
   * create them in /scratch until the mount refuses, or give up at 100 000. */
  (void)host;
  char path[64];
  int created = 0;
  int error = 0;
  for (; created < 100000; ++created) {
    snprintf(path, sizeof path, "/scratch/f%d", created);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
      error = errno;
      break;
    }
    close(fd);
  }
  char result[128];
  int n = snprintf(result, sizeof result, "created %d, then %s", created,
                   error != 0 ? strerror(error) : "no refusal");
  return cordon_set_output(host, "result", result, (size_t)n);
#elif defined(ATTACK_SCRATCH_FILL)
  /* tmpfs pages are memory that the address-space limit does not see: fill /scratch a MiB at
   * a time until something stops it (cgroup v2 memory.max, or the mount's size). */
  static char chunk[1 << 20];
  memset(chunk, 'x', sizeof chunk);
  int fd = open("/scratch/fill", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return CORDON_ERR_PLUGIN;
  long mib = 0;
  while (write(fd, chunk, sizeof chunk) == (ssize_t)sizeof chunk) ++mib;
  int error = errno;
  close(fd);
  char result[128];
  int n = snprintf(result, sizeof result, "wrote %ld MiB, then %s", mib, strerror(error));
  return cordon_set_output(host, "result", result, (size_t)n);
#elif defined(ATTACK_TEXT_INPUT_NAME)
  uint64_t size = 0;
  return cordon_input_size(host, "in\xff\xfeput", &size);
#elif defined(ATTACK_FAKE_SETUP_FAILURE)
  (void)host;
  static const char kLine[] = "cordon-worker: setup-failed: forged by the plugin " HOSTILE_TEXT;
  if (write(2, kLine, sizeof kLine - 1) < 0) return CORDON_ERR_PLUGIN;
  _exit(70); /* protocol::kExitSetupFailed */
#elif defined(ATTACK_FAKE_LOAD_REFUSAL)
  (void)host;
  static const char kLine[] = "cordon-worker: plugin-rejected: forged by the plugin\n";
  if (write(2, kLine, sizeof kLine - 1) < 0) return CORDON_ERR_PLUGIN;
  _exit(71); /* protocol::kExitPluginRejected */
#elif defined(ATTACK_FAKE_MEMORY_LIMIT)
  /* The allocator hook's own verdict, claimed without allocating: exit 160 after a report line
   * whose size is not a number at all. */
  (void)host;
  static const char kLine[] = "cordon-worker: memory-limit requested=" HOSTILE_TEXT;
  if (write(2, kLine, sizeof kLine - 1) < 0) return CORDON_ERR_PLUGIN;
  _exit(160); /* protocol::kExitMemoryLimit */
#elif defined(ATTACK_WX_CONSTRUCTOR) || defined(ATTACK_WX_FLIP)
  return cordon_set_output(host, "result", "W^X held? no", 12);
#else
#error "no ATTACK_ defined"
#endif
}

CORDON_PLUGIN(PLUGIN_NAME, "1.0.0", "hostile: attacks the trusted side", NULL, execute, NULL);
