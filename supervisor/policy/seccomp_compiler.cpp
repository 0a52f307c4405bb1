#include "policy/seccomp_compiler.h"

#include <linux/seccomp.h>
#include <seccomp.h>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>

#include <cstdlib>
#include <memory>
#include <set>

#include "policy/syscall_groups.h"

namespace cordon {
namespace {

using FilterContext = std::unique_ptr<void, decltype(&seccomp_release)>;

Error compileError(const PluginPolicy& policy, const std::string& what) {
  return makeError(ErrorCategory::kBadInput,
                   "seccomp filter for plugin '" + policy.name + "': " + what);
}

Outcome<std::vector<unsigned char>> exportProgram(scmp_filter_ctx ctx) {
  int fd = memfd_create("cordon-bpf", MFD_CLOEXEC);
  if (fd < 0) return makeError(ErrorCategory::kInternal, "memfd_create for seccomp export failed");
  std::vector<unsigned char> bytes;
  if (seccomp_export_bpf(ctx, fd) == 0) {
    off_t size = lseek(fd, 0, SEEK_END);
    bytes.resize(static_cast<size_t>(size));
    if (pread(fd, bytes.data(), bytes.size(), 0) != size) bytes.clear();
  }
  close(fd);
  if (bytes.empty()) return makeError(ErrorCategory::kInternal, "seccomp_export_bpf failed");
  return bytes;
}

int resolve(const std::string& name) {
  return seccomp_syscall_resolve_name(name.c_str());
}

Outcome<std::vector<unsigned char>> compileLoader(const PluginPolicy& policy) {
  FilterContext ctx(seccomp_init(SCMP_ACT_TRAP), seccomp_release);
  if (!ctx) return makeError(ErrorCategory::kInternal, "seccomp_init failed");
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);

  std::set<std::string> allowed(runtimeSyscalls().begin(), runtimeSyscalls().end());
  allowed.insert(loaderSyscalls().begin(), loaderSyscalls().end());
  allowed.insert(policy.syscalls.begin(), policy.syscalls.end());
  for (const std::string& name : allowed) {
    int number = resolve(name);
    if (number == __NR_SCMP_ERROR) return compileError(policy, "unknown syscall '" + name + "'");
    if (number < 0) continue;  // not a syscall on this architecture (e.g. a legacy name)
    int rc = 0;
    if (name == "rt_sigaction") {
      // The SIGSYS handler reports violations; a plugin may not replace it.
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, number, 1, SCMP_A0(SCMP_CMP_NE, SIGSYS));
    } else {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, number, 0);
    }
    if (rc != 0) return compileError(policy, "cannot add rule for '" + name + "'");
  }
  // glibc tries clone3 first and falls back to clone when the kernel says ENOSYS; answering
  // ENOSYS keeps that fallback (and so thread and process creation) on the path the filter
  // inspects and traps, instead of a syscall whose arguments live in memory it cannot read.
  if (seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), resolve("clone3"), 0) != 0) {
    return compileError(policy, "cannot add the clone3 rule");
  }
  // The worker stacks the runtime filter after dlopen. Stacking can only narrow what is allowed,
  // and flags (listeners, TSYNC) stay forbidden; the runtime filter closes seccomp entirely.
  if (seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, resolve("seccomp"), 2,
                       SCMP_A0(SCMP_CMP_EQ, SECCOMP_SET_MODE_FILTER),
                       SCMP_A1(SCMP_CMP_EQ, 0)) != 0) {
    return compileError(policy, "cannot add the rule for stacking the runtime filter");
  }
  return exportProgram(ctx.get());
}

Outcome<std::vector<unsigned char>> compileRuntime(const PluginPolicy& policy) {
  FilterContext ctx(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!ctx) return makeError(ErrorCategory::kInternal, "seccomp_init failed");
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  for (const std::string& name : loaderSyscalls()) {
    if (policy.syscalls.count(name) != 0) continue;
    if (seccomp_rule_add(ctx.get(), SCMP_ACT_TRAP, resolve(name), 0) != 0) {
      return compileError(policy, "cannot close loader syscall '" + name + "'");
    }
  }
  if (seccomp_rule_add(ctx.get(), SCMP_ACT_TRAP, resolve("seccomp"), 0) != 0) {
    return compileError(policy, "cannot close seccomp");
  }
  // No new executable memory once the plugin is mapped.
  for (const char* name : {"mmap", "mprotect", "pkey_mprotect"}) {
    int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_TRAP, resolve(name), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
    if (rc != 0) return compileError(policy, std::string("cannot restrict '") + name + "'");
  }
  return exportProgram(ctx.get());
}

}  // namespace

Outcome<SeccompPrograms> compileSeccompPrograms(const PluginPolicy& policy) {
  auto loader = compileLoader(policy);
  if (!loader.ok()) return loader.error();
  auto runtime = compileRuntime(policy);
  if (!runtime.ok()) return runtime.error();
  return SeccompPrograms{std::move(loader.value()), std::move(runtime.value())};
}

std::string syscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  if (name == nullptr) return "syscall " + std::to_string(number);
  std::string result(name);
  std::free(name);
  return result;
}

}  // namespace cordon
