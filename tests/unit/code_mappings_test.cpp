// The post-load W^X check reads a process's maps as the kernel reports them.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker/code_mappings.h"

using namespace cordon;

namespace {

// A child that maps one page with `prot` (anonymous), then waits to be looked at.
pid_t childWithMapping(int prot) {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    void* page = mmap(nullptr, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char byte = page == MAP_FAILED ? 'n' : 'y';
    if (write(ready[1], &byte, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char byte = 0;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  CHECK(byte == 'y');
  close(ready[0]);
  close(ready[1]);
  return pid;
}

void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

TEST_CASE("code mapped from files only is not flagged") {
  CHECK_FALSE(findWritableOrAnonymousCode(getpid()).has_value());
  pid_t plain = childWithMapping(PROT_READ | PROT_WRITE);
  CHECK_FALSE(findWritableOrAnonymousCode(plain).has_value());
  reap(plain);
}

TEST_CASE("a writable-and-executable or anonymous executable mapping is flagged") {
  pid_t rwx = childWithMapping(PROT_READ | PROT_WRITE | PROT_EXEC);
  auto found = findWritableOrAnonymousCode(rwx);
  REQUIRE(found.has_value());
  CHECK(found->find("rwxp") != std::string::npos);
  reap(rwx);
  pid_t anonymous = childWithMapping(PROT_READ | PROT_EXEC);
  found = findWritableOrAnonymousCode(anonymous);
  REQUIRE(found.has_value());
  CHECK(found->find("r-xp") != std::string::npos);
  reap(anonymous);
}

TEST_CASE("a maps file that cannot be read fails closed") {
  auto found = findWritableOrAnonymousCode(999999999);
  REQUIRE(found.has_value());
  CHECK(found->find("cannot read /proc/999999999/maps") != std::string::npos);
}
