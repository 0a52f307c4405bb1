/* Escape attempts that come down to one syscall the sandbox must refuse. Meson builds this file
 * once per attempt (tests/security/plugins/meson.build) with -DATTEMPT_<NAME> and -DPLUGIN_NAME;
 * each build is a plugin of its own whose execute makes that one attempt. Every one must end
 * the worker with a sandbox_violation naming the syscall (tests/security/hostile_test.cpp). */
#define _GNU_SOURCE
#include <cordon/plugin.h>

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#if defined(ATTEMPT_THREAD_BOMB)
static void* idle(void* arg) {
  return arg;
}
#endif

static void attempt(void) {
#if defined(ATTEMPT_PTRACE_ATTACH)
  syscall(SYS_ptrace, PTRACE_ATTACH, 4242, 0, 0); /* the supervisor, were it visible */
#elif defined(ATTEMPT_KILL_OTHERS)
  kill(-1, SIGKILL); /* every process it may signal */
#elif defined(ATTEMPT_BPF)
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
#elif defined(ATTEMPT_IO_URING)
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  syscall(SYS_io_uring_setup, 8, &params); /* a syscall surface the filter cannot see into */
#elif defined(ATTEMPT_USERFAULTFD)
  syscall(SYS_userfaultfd, 0);
#elif defined(ATTEMPT_PERF_EVENT)
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
#elif defined(ATTEMPT_KEYCTL)
  syscall(SYS_add_key, "user", "cordon", "secret", 6, -2 /* KEY_SPEC_PROCESS_KEYRING */);
#elif defined(ATTEMPT_MOUNT)
  mount("none", "/", "tmpfs", 0, NULL);
#elif defined(ATTEMPT_UNSHARE)
  unshare(CLONE_NEWUSER | CLONE_NEWNS);
#elif defined(ATTEMPT_SETNS)
  setns(0, 0);
#elif defined(ATTEMPT_CHROOT)
  chroot("/");
#elif defined(ATTEMPT_EXECVEAT)
  char* argv[] = {"sh", NULL};
  syscall(SYS_execveat, AT_FDCWD, "/bin/sh", argv, argv, 0);
#elif defined(ATTEMPT_THREAD_BOMB)
  /* glibc tries clone3 (answered ENOSYS), then clone, which is trapped. */
  for (int i = 0; i < 10000; ++i) {
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
  }
#elif defined(ATTEMPT_TIOCSTI)
  char c = 'x';
  ioctl(2, TIOCSTI, &c); /* type into the operator's terminal */
#elif defined(ATTEMPT_PROC_SELF_MEM)
  open("/proc/self/mem", O_RDWR);
#elif defined(ATTEMPT_DOTDOT)
  open("../../../../etc/shadow", O_RDONLY);
#elif defined(ATTEMPT_PROC_ONE_ROOT)
  open("/proc/1/root/etc/passwd", O_RDONLY);
#elif defined(ATTEMPT_WRITE_FILE)
  open("/plugin/dropped", O_WRONLY | O_CREAT, 0644);
#elif defined(ATTEMPT_SYMLINK)
  symlink("/etc/passwd", "/plugin/link");
#elif defined(ATTEMPT_MPROTECT_EXEC)
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(page, 4096, PROT_READ | PROT_EXEC); /* turn written bytes into code */
#elif defined(ATTEMPT_MMAP_EXEC)
  mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#elif defined(ATTEMPT_MEMFD_EXEC)
  syscall(SYS_memfd_create, "payload", 0);
#elif defined(ATTEMPT_UNIX_SOCKET)
  socket(AF_UNIX, SOCK_STREAM, 0);
#elif defined(ATTEMPT_NETLINK_SOCKET)
  socket(AF_NETLINK, SOCK_RAW, 0);
#elif defined(ATTEMPT_PACKET_SOCKET)
  socket(AF_PACKET, SOCK_RAW, 0);
#elif defined(ATTEMPT_INET6_SOCKET)
  socket(AF_INET6, SOCK_DGRAM, 0);
#elif defined(ATTEMPT_SOCKETPAIR)
  int pair[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
#elif defined(ATTEMPT_FD_EXHAUSTION)
  for (int i = 0; i < 100000; ++i) dup(3);
#elif defined(ATTEMPT_PROCESS_VM)
  char buffer[8];
  struct iovec local = {buffer, sizeof buffer}, remote = {(void*)0x400000, sizeof buffer};
  syscall(SYS_process_vm_readv, 4242, &local, 1, &remote, 1, 0);
#elif defined(ATTEMPT_SECCOMP_ESCAPE)
  syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 1 /* TSYNC */, NULL);
#elif defined(ATTEMPT_OPEN_BY_HANDLE)
  /* The "shocker" container escape: open a host inode by handle, bypassing the mount tree. */
  struct {
    struct file_handle header;
    unsigned char bytes[8];
  } handle = {{8, 1}, {2, 0, 0, 0, 0, 0, 0, 0}};
  syscall(SYS_open_by_handle_at, AT_FDCWD, &handle.header, O_RDONLY);
#elif defined(ATTEMPT_PERSONALITY)
  personality(READ_IMPLIES_EXEC);
#elif defined(ATTEMPT_PRCTL)
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); /* make itself ptrace-able again */
#else
#error "define one ATTEMPT_*"
#endif
}

static cordon_status execute(cordon_host* host) {
  attempt();
  cordon_set_error(host, "the attempt returned instead of being stopped");
  return CORDON_ERR_PLUGIN;
}

CORDON_PLUGIN(PLUGIN_NAME, "1.0.0", "hostile: one escape attempt", NULL, execute, NULL);
