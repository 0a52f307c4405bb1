// The compiled seccomp programs, loaded for real into a forked child: what the policy grants
// runs, what it does not is stopped by the kernel.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <functional>

#include "policy/policy_parser.h"
#include "policy/seccomp_compiler.h"

using namespace cordon;

namespace {

void install(const std::vector<unsigned char>& program) {
  sock_fprog prog{static_cast<unsigned short>(program.size() / sizeof(sock_filter)),
                  reinterpret_cast<sock_filter*>(const_cast<unsigned char*>(program.data()))};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) _exit(91);
}

// Runs `body` in a child under the filters; returns its wait status.
int inChild(const SeccompPrograms& programs, bool runtimeToo, const std::function<void()>& body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(90);  // once: prctl is not allowed later
    install(programs.loader);
    if (runtimeToo) install(programs.runtime);
    body();
    _exit(0);  // never return into doctest from the child
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

SeccompPrograms compile(const std::string& syscalls) {
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  p:\n    syscalls: " + syscalls + "\n", "policy.yaml"));
  auto programs = compileSeccompPrograms(*policy.forPlugin("p"));
  REQUIRE(programs.ok());
  return programs.value();
}

bool killedBySigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

}  // namespace

TEST_CASE("the runtime set runs; a syscall nobody granted is trapped") {
  SeccompPrograms programs = compile("[]");
  int fine = inChild(programs, true, [] {
    if (getpid() <= 0) _exit(1);
    void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) _exit(2);
  });
  CHECK(WIFEXITED(fine));
  CHECK(WEXITSTATUS(fine) == 0);

  CHECK(killedBySigsys(inChild(programs, true, [] { socket(AF_INET, SOCK_STREAM, 0); })));
  CHECK(killedBySigsys(inChild(programs, true, [] { syscall(SYS_getuid); })));
}

TEST_CASE("a granted group opens exactly its syscalls") {
  SeccompPrograms withSleep = compile("[sleep]");
  timespec short_nap{0, 1000};
  int napped = inChild(withSleep, true, [&] { nanosleep(&short_nap, nullptr); });
  CHECK(WIFEXITED(napped));
  CHECK(killedBySigsys(inChild(compile("[]"), true, [&] { nanosleep(&short_nap, nullptr); })));
}

TEST_CASE("after loading, the runtime filter closes openat and executable memory") {
  SeccompPrograms programs = compile("[]");
  // The loader stage may open (dlopen needs it) ...
  int loading = inChild(programs, false, [] { syscall(SYS_openat, AT_FDCWD, "/", 0); });
  CHECK(WIFEXITED(loading));
  // ... the runtime stage may not, and may not map code.
  CHECK(killedBySigsys(inChild(programs, true, [] { syscall(SYS_openat, AT_FDCWD, "/", 0); })));
  CHECK(killedBySigsys(inChild(programs, true, [] {
    mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  })));
}

TEST_CASE("forbidden syscalls stay trapped") {
  SeccompPrograms programs = compile("[sleep, identity, resources]");
  CHECK(killedBySigsys(inChild(programs, true, [] { syscall(SYS_fork); })));
  CHECK(killedBySigsys(inChild(programs, true, [] { syscall(SYS_ptrace, 0, 0, 0, 0); })));
  CHECK(killedBySigsys(inChild(programs, true, [] {
    char* argv[] = {nullptr};
    syscall(SYS_execve, "/bin/true", argv, argv);
  })));
}

TEST_CASE("syscall numbers are named for the audit log") {
  CHECK(syscallName(SYS_openat) == "openat");
  CHECK(syscallName(SYS_socket) == "socket");
}
