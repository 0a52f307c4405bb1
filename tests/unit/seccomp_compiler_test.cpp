// The compiled seccomp program, loaded for real into a forked child. Without a listener, the
// kernel answers every syscall the filter sends to the supervisor with ENOSYS, which is what
// these tests look for: allowed calls run, everything else would have gone to the supervisor.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <functional>

#include "policy/policy_parser.h"
#include "policy/seccomp_compiler.h"

using namespace cordon;

namespace {

// A sanitizer's runtime makes syscalls of its own in the child, which the filter refuses; the
// uninstrumented build runs these (workers are never instrumented: see meson_options.txt).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif

constexpr int kRan = 0;
constexpr int kSentToSupervisor = 42;  // failed with ENOSYS: no listener to answer
constexpr int kOtherFailure = 43;

// Runs `body` in a child under the filter; returns the child's exit code.
int inChild(const SeccompPrograms& programs, const std::function<long()>& body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const auto& program = programs.filter;
    sock_fprog prog{static_cast<unsigned short>(program.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<unsigned char*>(program.data()))};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(90);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) _exit(91);
    long result = body();
    _exit(result >= 0 ? kRan : errno == ENOSYS ? kSentToSupervisor : kOtherFailure);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

SeccompPrograms compile(const std::string& syscalls) {
  Policy policy = parsePolicy(YamlDocument::parse(
      "version: 1\nplugins:\n  p:\n    syscalls: " + syscalls + "\n", "policy.yaml"));
  auto programs = compileSeccompPrograms(*policy.forPlugin("p"));
  REQUIRE(programs.ok());
  return programs.value();
}

long mapping(int protection) {
  void* page = mmap(nullptr, 4096, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return page == MAP_FAILED ? -1 : 0;
}

}  // namespace

TEST_CASE("the runtime set runs; anything else goes to the supervisor" *
          doctest::skip(kUnderSanitizer)) {
  SeccompPrograms programs = compile("[]");
  CHECK(inChild(programs, [] { return static_cast<long>(getpid()); }) == kRan);
  CHECK(inChild(programs, [] { return mapping(PROT_READ | PROT_WRITE); }) == kRan);
  CHECK(inChild(programs, [] { return static_cast<long>(socket(AF_INET, SOCK_STREAM, 0)); }) ==
        kSentToSupervisor);
  CHECK(inChild(programs, [] { return syscall(SYS_getuid); }) == kSentToSupervisor);
}

TEST_CASE("a granted group opens exactly its syscalls" * doctest::skip(kUnderSanitizer)) {
  timespec nap{0, 1000};
  CHECK(inChild(compile("[sleep]"), [&] { return static_cast<long>(nanosleep(&nap, nullptr)); }) ==
        kRan);
  CHECK(inChild(compile("[]"), [&] { return static_cast<long>(nanosleep(&nap, nullptr)); }) ==
        kSentToSupervisor);
}

TEST_CASE("opening files and executable memory always ask the supervisor" *
          doctest::skip(kUnderSanitizer)) {
  SeccompPrograms programs = compile("[]");
  CHECK(inChild(programs, [] { return syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY); }) ==
        kSentToSupervisor);
  CHECK(inChild(programs, [] { return mapping(PROT_READ | PROT_EXEC); }) == kSentToSupervisor);
  CHECK(inChild(programs, [] {
          void* page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
          return static_cast<long>(mprotect(page, 4096, PROT_READ | PROT_EXEC));
        }) == kSentToSupervisor);
}

TEST_CASE("forbidden syscalls go to the supervisor whatever the groups" *
          doctest::skip(kUnderSanitizer)) {
  SeccompPrograms programs = compile("[sleep, identity, resources]");
  CHECK(inChild(programs, [] { return syscall(SYS_fork); }) == kSentToSupervisor);
  CHECK(inChild(programs, [] { return syscall(SYS_ptrace, 0, 0, 0, 0); }) == kSentToSupervisor);
  CHECK(inChild(programs, [] {
          char* argv[] = {nullptr};
          return syscall(SYS_execve, "/bin/true", argv, argv);
        }) == kSentToSupervisor);
  CHECK(inChild(programs, [] { return syscall(SYS_clone3, nullptr, 0); }) == kSentToSupervisor);
}

TEST_CASE("a conditional allow runs in the kernel only when its arguments match" *
          doctest::skip(kUnderSanitizer)) {
  SeccompPrograms programs = compile(
      "[{ name: socket, args: [{ index: 0, value: 1 }, { index: 1, op: masked_eq, mask: 0xf, "
      "value: 1 }] }, { name: getcwd, args: [{ index: 1, op: le, value: 64 }] }]");
  CHECK(inChild(programs, [] { return static_cast<long>(socket(AF_UNIX, SOCK_STREAM, 0)); }) ==
        kRan);
  CHECK(inChild(programs, [] {
          return static_cast<long>(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        }) == kRan);
  CHECK(inChild(programs, [] { return static_cast<long>(socket(AF_UNIX, SOCK_DGRAM, 0)); }) ==
        kSentToSupervisor);
  CHECK(inChild(programs, [] { return static_cast<long>(socket(AF_INET, SOCK_STREAM, 0)); }) ==
        kSentToSupervisor);
  CHECK(inChild(programs, [] {
          char buffer[4096];
          return syscall(SYS_getcwd, buffer, 32);
        }) != kSentToSupervisor);
  CHECK(inChild(programs, [] {
          char buffer[4096];
          return syscall(SYS_getcwd, buffer, 4096);
        }) == kSentToSupervisor);
}

TEST_CASE("danger_w_xor_x_off lets executable mappings run" * doctest::skip(kUnderSanitizer)) {
  Policy policy = parsePolicy(
      YamlDocument::parse("version: 1\nplugins:\n  p: { danger_w_xor_x_off: true }\n", "p"));
  auto programs = compileSeccompPrograms(*policy.forPlugin("p"));
  REQUIRE(programs.ok());
  CHECK(inChild(programs.value(), [] { return mapping(PROT_READ | PROT_EXEC); }) == kRan);
}

TEST_CASE("only what the dynamic loader needs is let through while loading") {
  CHECK(allowedWhileLoading(SYS_openat));
  CHECK(allowedWhileLoading(SYS_pread64));
  CHECK(allowedWhileLoading(SYS_mmap));
  CHECK(allowedWhileLoading(SYS_mprotect));
  CHECK_FALSE(allowedWhileLoading(SYS_socket));
  CHECK_FALSE(allowedWhileLoading(SYS_execve));
  CHECK_FALSE(allowedWhileLoading(SYS_ptrace));
}

TEST_CASE("syscall numbers are named for the audit log") {
  CHECK(syscallName(SYS_openat) == "openat");
  CHECK(syscallName(SYS_socket) == "socket");
}
