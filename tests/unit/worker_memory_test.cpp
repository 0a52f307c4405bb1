// What a notified syscall names, read from a process's memory (here this test's own, which
// process_vm_readv reads the same way): paths and each socket address family, for the record.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "worker/worker_memory.h"

using namespace cordon;

namespace {

uint64_t addressOf(const void* pointer) {
  return reinterpret_cast<uint64_t>(pointer);
}

}  // namespace

TEST_CASE("a syscall's path and socket address are read as the process holds them") {
  const char path[] = "/etc/shadow";
  const uint64_t openatArgs[6] = {static_cast<uint64_t>(AT_FDCWD), addressOf(path), 0, 0, 0, 0};
  CHECK(readSyscallTarget(getpid(), SYS_openat, openatArgs).path == "/etc/shadow");
  const uint64_t openArgs[6] = {addressOf(path), 0, 0, 0, 0, 0};
  CHECK(readSyscallTarget(getpid(), SYS_open, openArgs).path == "/etc/shadow");

  sockaddr_in6 inet6{};
  inet6.sin6_family = AF_INET6;
  inet6.sin6_port = htons(443);
  inet6.sin6_addr = in6addr_loopback;
  const uint64_t connectArgs[6] = {3, addressOf(&inet6), sizeof inet6, 0, 0, 0};
  CHECK(readSyscallTarget(getpid(), SYS_connect, connectArgs).address == "inet6 [::1]:443");

  sockaddr_un abstract{};
  abstract.sun_family = AF_UNIX;
  std::memcpy(abstract.sun_path, "\0hidden", 7);
  const uint64_t bindArgs[6] = {3, addressOf(&abstract), offsetof(sockaddr_un, sun_path) + 7, 0, 0,
                                0};
  CHECK(readSyscallTarget(getpid(), SYS_bind, bindArgs).address == "unix @hidden");

  sockaddr_in inet{};
  inet.sin_family = AF_INET;
  inet.sin_port = htons(53);
  inet.sin_addr.s_addr = htonl(0x08080808);
  const uint64_t sendtoArgs[6] = {3, 0, 0, 0, addressOf(&inet), sizeof inet};
  CHECK(readSyscallTarget(getpid(), SYS_sendto, sendtoArgs).address == "inet 8.8.8.8:53");

  // A length too short for its family, an unmapped pointer, a syscall that names nothing.
  const uint64_t shortArgs[6] = {3, addressOf(&inet), 4, 0, 0, 0};
  CHECK(readSyscallTarget(getpid(), SYS_connect, shortArgs).address == "family 2");
  const uint64_t unmapped[6] = {static_cast<uint64_t>(AT_FDCWD), 8, 0, 0, 0, 0};
  CHECK(readSyscallTarget(getpid(), SYS_openat, unmapped).path.empty());
  CHECK(readSyscallTarget(getpid(), SYS_getpid, openArgs).path.empty());
}
