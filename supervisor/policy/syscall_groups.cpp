#include "policy/syscall_groups.h"

#include <set>

namespace cordon {

const std::vector<std::string>& runtimeSyscalls() {
  static const std::vector<std::string> kRuntime = {
      // RPC over the inherited socket and the event loop
      "read", "write", "readv", "writev", "recvmsg", "sendmsg", "recvfrom", "sendto", "epoll_wait",
      "epoll_pwait", "epoll_ctl", "poll", "ppoll", "fcntl", "close", "lseek",
      "shutdown",  // kj half-closes the RPC socket when the connection ends
      // memory (mmap/mprotect lose PROT_EXEC in the runtime filter)
      "brk", "mmap", "munmap", "mprotect", "mremap", "madvise",
      // signals (rt_sigaction may not touch SIGSYS: the compiler adds that condition)
      "rt_sigreturn", "rt_sigprocmask", "rt_sigaction",
      // time, identity of self, randomness, threads' futexes, leaving
      "clock_gettime", "clock_getres", "gettimeofday", "getpid", "gettid", "getrandom", "futex",
      "sched_yield", "restart_syscall", "fstat", "newfstatat", "exit", "exit_group"};
  return kRuntime;
}

const std::vector<std::string>& loaderSyscalls() {
  static const std::vector<std::string> kLoader = {"openat", "pread64"};
  return kLoader;
}

const std::vector<std::string>& fileSyscalls() {
  static const std::vector<std::string> kFiles = {"openat", "pread64", "getdents64", "readlinkat"};
  return kFiles;
}

const std::vector<std::string>& writeSyscalls() {
  static const std::vector<std::string> kWrites = {"pwrite64",  "ftruncate", "fsync",   "fdatasync",
                                                   "fallocate", "unlinkat",  "mkdirat", "renameat2",
                                                   "renameat",  "utimensat"};
  return kWrites;
}

const std::map<std::string, std::vector<std::string>>& syscallGroups() {
  static const std::map<std::string, std::vector<std::string>> kGroups = {
      {"sleep", {"nanosleep", "clock_nanosleep"}},
      {"identity", {"getuid", "geteuid", "getgid", "getegid", "getppid", "uname"}},
      {"resources", {"getrusage", "getrlimit", "prlimit64", "sysinfo", "times"}},
  };
  return kGroups;
}

bool isForbiddenSyscall(const std::string& name) {
  static const std::set<std::string> kForbidden = {"ptrace",
                                                   "bpf",
                                                   "io_uring_setup",
                                                   "io_uring_enter",
                                                   "io_uring_register",
                                                   "userfaultfd",
                                                   "perf_event_open",
                                                   "keyctl",
                                                   "add_key",
                                                   "request_key",
                                                   "kexec_load",
                                                   "kexec_file_load",
                                                   "init_module",
                                                   "finit_module",
                                                   "delete_module",
                                                   "mount",
                                                   "umount2",
                                                   "pivot_root",
                                                   "chroot",
                                                   "unshare",
                                                   "setns",
                                                   "clone",
                                                   "clone3",
                                                   "fork",
                                                   "vfork",
                                                   "execve",
                                                   "execveat",
                                                   "process_vm_writev",
                                                   "process_vm_readv",
                                                   "seccomp",
                                                   "reboot",
                                                   "swapon",
                                                   "swapoff"};
  return kForbidden.count(name) != 0;
}

}  // namespace cordon
