#include "worker/worker_memory.h"

#include <arpa/inet.h>
#include <linux/limits.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace cordon {
namespace {

// Which argument holds a path, for the syscalls that take one.
int pathArgument(int number) {
  switch (number) {
    case SYS_open:
    case SYS_creat:
    case SYS_execve:
    case SYS_unlink:
    case SYS_mkdir:
    case SYS_rmdir:
    case SYS_rename:
    case SYS_chmod:
    case SYS_chown:
    case SYS_stat:
    case SYS_lstat:
    case SYS_access:
    case SYS_readlink:
    case SYS_truncate:
    case SYS_chdir:
    case SYS_symlink:
    case SYS_link:
      return 0;
    case SYS_openat:
    case SYS_execveat:
    case SYS_unlinkat:
    case SYS_mkdirat:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_fchmodat:
    case SYS_fchownat:
    case SYS_newfstatat:
    case SYS_faccessat:
    case SYS_faccessat2:
    case SYS_readlinkat:
    case SYS_statx:
    case SYS_openat2:
      return 1;
    default:
      return -1;
  }
}

// Which arguments hold a socket address and its length.
bool addressArguments(int number, int& address, int& length) {
  switch (number) {
    case SYS_connect:
    case SYS_bind:
      address = 1;
      length = 2;
      return true;
    case SYS_sendto:
      address = 4;
      length = 5;
      return true;
    default:
      return false;
  }
}

bool readWorkerBytes(pid_t pid, uint64_t address, void* buffer, size_t size) {
  iovec local{buffer, size};
  iovec remote{reinterpret_cast<void*>(address), size};  // NOLINT(performance-no-int-to-ptr)
  return process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(size);
}

std::string describeAddress(const sockaddr_storage& storage, size_t length) {
  char text[INET6_ADDRSTRLEN] = {};
  switch (storage.ss_family) {
    case AF_INET: {
      if (length < sizeof(sockaddr_in)) break;
      const auto& inet = reinterpret_cast<const sockaddr_in&>(storage);
      inet_ntop(AF_INET, &inet.sin_addr, text, sizeof text);
      return std::string("inet ") + text + ":" + std::to_string(ntohs(inet.sin_port));
    }
    case AF_INET6: {
      if (length < sizeof(sockaddr_in6)) break;
      const auto& inet6 = reinterpret_cast<const sockaddr_in6&>(storage);
      inet_ntop(AF_INET6, &inet6.sin6_addr, text, sizeof text);
      return std::string("inet6 [") + text + "]:" + std::to_string(ntohs(inet6.sin6_port));
    }
    case AF_UNIX: {
      const auto& local = reinterpret_cast<const sockaddr_un&>(storage);
      const size_t offset = offsetof(sockaddr_un, sun_path);
      if (length <= offset) return "unix (unnamed)";
      std::string path(local.sun_path, std::min(length - offset, sizeof local.sun_path));
      if (!path.empty() && path[0] == '\0') return "unix @" + path.substr(1);  // abstract
      return "unix " + path.substr(0, path.find('\0'));
    }
    default:
      break;
  }
  return "family " + std::to_string(storage.ss_family);
}

}  // namespace

std::string readWorkerString(pid_t pid, uint64_t address) {
  // Page by page, so a string near the end of a mapping still reads (the worker is not
  // dumpable, but the supervisor owns its user namespace).
  std::string text;
  while (text.size() < PATH_MAX) {
    char chunk[4096];
    const size_t toPageEnd = 4096 - (address % 4096);
    iovec local{chunk, toPageEnd};
    iovec remote{reinterpret_cast<void*>(address), toPageEnd};  // NOLINT(performance-no-int-to-ptr)
    ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (got <= 0) return "";
    size_t length = strnlen(chunk, static_cast<size_t>(got));
    text.append(chunk, length);
    if (length < static_cast<size_t>(got)) return text;
    address += static_cast<uint64_t>(got);
  }
  return "";  // longer than PATH_MAX: not a path
}

SyscallTarget readSyscallTarget(pid_t pid, int number, const uint64_t (&args)[6]) {
  SyscallTarget target;
  if (int index = pathArgument(number); index >= 0 && args[index] != 0) {
    target.path = readWorkerString(pid, args[index]);
  }
  int addressIndex = 0;
  int lengthIndex = 0;
  if (addressArguments(number, addressIndex, lengthIndex) && args[addressIndex] != 0) {
    sockaddr_storage storage{};
    const size_t length = std::min<uint64_t>(args[lengthIndex], sizeof storage);
    if (length >= sizeof(sa_family_t) &&
        readWorkerBytes(pid, args[addressIndex], &storage, length)) {
      target.address = describeAddress(storage, length);
    }
  }
  return target;
}

}  // namespace cordon
