#include "plugins/elf_audit.h"

#include <elf.h>

#include <cstring>
#include <map>
#include <set>

#include "policy/syscall_groups.h"

namespace cordon {
namespace {

// libc functions a plugin might import, and the syscalls they cannot work without. Only
// functions whose whole purpose needs a syscall the runtime set lacks are listed.
const std::map<std::string, std::vector<std::string>>& importSyscalls() {
  static const std::map<std::string, std::vector<std::string>> kTable = {
      {"socket", {"socket"}},
      {"socketpair", {"socketpair"}},
      {"connect", {"connect"}},
      {"bind", {"bind"}},
      {"listen", {"listen"}},
      {"accept", {"accept"}},
      {"accept4", {"accept4"}},
      {"getaddrinfo", {"socket", "connect"}},
      {"execve", {"execve"}},
      {"execv", {"execve"}},
      {"execvp", {"execve"}},
      {"execl", {"execve"}},
      {"execlp", {"execve"}},
      {"execle", {"execve"}},
      {"execveat", {"execveat"}},
      {"fexecve", {"execveat"}},
      {"system", {"clone", "execve"}},
      {"popen", {"clone", "execve"}},
      {"posix_spawn", {"clone", "execve"}},
      {"posix_spawnp", {"clone", "execve"}},
      {"fork", {"clone"}},
      {"vfork", {"vfork"}},
      {"clone", {"clone"}},
      {"pthread_create", {"clone3", "clone"}},
      {"ptrace", {"ptrace"}},
      {"mount", {"mount"}},
      {"umount", {"umount2"}},
      {"umount2", {"umount2"}},
      {"unshare", {"unshare"}},
      {"setns", {"setns"}},
      {"chroot", {"chroot"}},
      {"kill", {"kill"}},
      {"tgkill", {"tgkill"}},
      {"process_vm_readv", {"process_vm_readv"}},
      {"process_vm_writev", {"process_vm_writev"}},
      {"open", {"openat"}},
      {"open64", {"openat"}},
      {"__open_2", {"openat"}},
      {"__open64_2", {"openat"}},
      {"fopen", {"openat"}},
      {"fopen64", {"openat"}},
      {"freopen", {"openat"}},
      {"freopen64", {"openat"}},
      {"openat", {"openat"}},
      {"openat64", {"openat"}},
      {"__openat_2", {"openat"}},
      {"__openat64_2", {"openat"}},
      {"opendir", {"openat"}},
      {"creat", {"openat"}},
      {"creat64", {"openat"}},
      {"unlink", {"unlinkat"}},
      {"rename", {"renameat2"}},
      {"mkdir", {"mkdirat"}},
      {"dlopen", {"openat"}},
      {"memfd_create", {"memfd_create"}},
      {"ioctl", {"ioctl"}},
      {"prctl", {"prctl"}},
      {"seccomp", {"seccomp"}},
      {"setuid", {"setuid"}},
      {"setgid", {"setgid"}},
      {"personality", {"personality"}},
      {"symlink", {"symlinkat"}},
      {"symlinkat", {"symlinkat"}},
      {"link", {"linkat"}},
      {"linkat", {"linkat"}},
      {"mknod", {"mknodat"}},
      {"mkfifo", {"mknodat"}},
      {"nanosleep", {"nanosleep"}},
      {"sleep", {"clock_nanosleep"}},
      {"usleep", {"clock_nanosleep"}},
      {"uname", {"uname"}},
  };
  return kTable;
}

// The imports that open files by path. Inside the sandbox a path reaches only what the policy's
// filesystem grants mount, so where openat is allowed these are still worth a reviewer's look.
bool opensFiles(const std::string& import) {
  auto needs = importSyscalls().find(import);
  return needs != importSyscalls().end() && needs->second == std::vector<std::string>{"openat"} &&
         import != "dlopen";
}

std::string listed(const std::vector<std::string>& paths) {
  std::string text;
  for (const auto& path : paths) text += (text.empty() ? "" : ", ") + path;
  return "[" + text + "]";
}

template <typename T>
bool readAt(const std::string& bytes, uint64_t offset, T& out) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + offset, sizeof(T));
  return true;
}

Error malformed(const std::string& what) {
  return makeError(ErrorCategory::kBadInput, "not a well-formed ELF shared object: " + what);
}

}  // namespace

const char* severityName(Severity severity) {
  switch (severity) {
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
  }
  return "?";
}

Outcome<ElfReport> auditElf(const std::string& bytes, const PluginPolicy* section) {
  Elf64_Ehdr header;
  if (!readAt(bytes, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return malformed("no ELF header");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB)
    return malformed("not a 64-bit little-endian ELF");
  if (header.e_type != ET_DYN)
    return malformed("not a shared object (e_type " + std::to_string(header.e_type) + ")");
  ElfReport report;
  bool gnuStack = false;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    if (!readAt(bytes, header.e_phoff + uint64_t{i} * sizeof(Elf64_Phdr), segment))
      return malformed("program header " + std::to_string(i) + " is outside the file");
    if (segment.p_type == PT_GNU_STACK) {
      gnuStack = true;
      if (segment.p_flags & PF_X)
        report.findings.push_back(
            {Severity::kHigh, "execstack", "PT_GNU_STACK asks for an executable stack"});
    }
    if (segment.p_type == PT_LOAD && (segment.p_flags & PF_W) && (segment.p_flags & PF_X)) {
      report.findings.push_back(
          {Severity::kHigh, "rwx-segment",
           "LOAD segment " + std::to_string(i) + " is writable and executable"});
    }
    if (segment.p_type == PT_DYNAMIC) {
      for (uint64_t at = segment.p_offset;
           at + sizeof(Elf64_Dyn) <= segment.p_offset + segment.p_filesz; at += sizeof(Elf64_Dyn)) {
        Elf64_Dyn entry;
        if (!readAt(bytes, at, entry)) return malformed("dynamic section is outside the file");
        if (entry.d_tag == DT_NULL) break;
        if (entry.d_tag == DT_TEXTREL ||
            (entry.d_tag == DT_FLAGS && (entry.d_un.d_val & DF_TEXTREL))) {
          report.findings.push_back({Severity::kMedium, "textrel",
                                     "text relocations: the loader must write to code pages"});
          break;
        }
      }
    }
  }
  if (!gnuStack) {
    report.findings.push_back({Severity::kMedium, "no-gnu-stack",
                               "no PT_GNU_STACK: older loaders give it an executable stack"});
  }

  // Imports: the undefined symbols of .dynsym, whose names live in the section it links to.
  for (unsigned i = 0; i < header.e_shnum; ++i) {
    Elf64_Shdr symbols;
    if (!readAt(bytes, header.e_shoff + uint64_t{i} * sizeof(Elf64_Shdr), symbols))
      return malformed("section header " + std::to_string(i) + " is outside the file");
    if (symbols.sh_type != SHT_DYNSYM) continue;
    Elf64_Shdr strings;
    if (!readAt(bytes, header.e_shoff + uint64_t{symbols.sh_link} * sizeof(Elf64_Shdr), strings) ||
        strings.sh_offset > bytes.size() || bytes.size() - strings.sh_offset < strings.sh_size)
      return malformed("the dynamic string table is outside the file");
    for (uint64_t at = symbols.sh_offset + sizeof(Elf64_Sym);
         at + sizeof(Elf64_Sym) <= symbols.sh_offset + symbols.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym symbol;
      if (!readAt(bytes, at, symbol)) return malformed("a dynamic symbol is outside the file");
      if (symbol.st_shndx != SHN_UNDEF || symbol.st_name >= strings.sh_size) continue;
      const char* name = bytes.data() + strings.sh_offset + symbol.st_name;
      size_t length = strnlen(name, strings.sh_size - symbol.st_name);
      if (length > 0) report.imports.emplace_back(name, length);
    }
  }

  std::set<std::string> allowed(runtimeSyscalls().begin(), runtimeSyscalls().end());
  if (section != nullptr) allowed.insert(section->syscalls.begin(), section->syscalls.end());
  const std::string against =
      section == nullptr ? "the default-deny baseline" : "policy section '" + section->name + "'";
  for (const std::string& import : report.imports) {
    if (import == "syscall") {
      // The one import that can make any syscall: what it makes is invisible here.
      report.findings.push_back(
          {Severity::kMedium, "raw-syscall",
           "imports syscall(), which can make any system call by number: this audit cannot "
           "tell which; the seccomp filter of " +
               against + " still decides each at run time"});
      continue;
    }
    auto needs = importSyscalls().find(import);
    if (needs == importSyscalls().end()) continue;
    std::string missing;
    bool forbidden = false;
    for (const std::string& syscall : needs->second) {
      if (allowed.count(syscall) != 0) continue;
      missing += (missing.empty() ? "" : ", ") + syscall;
      forbidden = forbidden || isForbiddenSyscall(syscall);
    }
    if (missing.empty()) {
      if (section != nullptr && opensFiles(import)) {
        // Allowed: say what the policy lets it reach, as a reviewer would want to check.
        report.findings.push_back(
            {Severity::kLow, "file-access",
             "imports " + import + "(), so it opens files by path: " + against +
                 " lets it see read-only " + listed(section->readOnlyPaths) + ", read-write " +
                 listed(section->readWritePaths) + "; every other path is absent"});
      }
      continue;
    }
    if (opensFiles(import)) {
      report.findings.push_back(
          {Severity::kHigh, "file-access",
           "imports " + import + "(), so it opens files by path, and " + against +
               " grants no filesystem access (openat is not allowed): every open would be "
               "stopped as a sandbox violation"});
      continue;
    }
    report.findings.push_back(
        {Severity::kHigh, "import",
         "imports " + import + "(), which needs " + missing + ": not granted by " + against +
             (forbidden ? " (and no policy may grant it)" : "") + ", so it would fail"});
  }
  return report;
}

}  // namespace cordon
