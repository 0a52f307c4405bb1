#include "policy/seccomp_compiler.h"

#include <linux/seccomp.h>
#include <seccomp.h>

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cerrno>

#include <cstdlib>
#include <cstring>
#include <map>
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

scmp_arg_cmp toLibseccomp(const ArgCondition& condition) {
  using Op = ArgCondition::Op;
  static const std::map<Op, scmp_compare> kOps = {{Op::kEq, SCMP_CMP_EQ},
                                                  {Op::kNe, SCMP_CMP_NE},
                                                  {Op::kLt, SCMP_CMP_LT},
                                                  {Op::kLe, SCMP_CMP_LE},
                                                  {Op::kGt, SCMP_CMP_GT},
                                                  {Op::kGe, SCMP_CMP_GE},
                                                  {Op::kMaskedEq, SCMP_CMP_MASKED_EQ}};
  scmp_arg_cmp cmp{};
  cmp.arg = condition.index;
  cmp.op = kOps.at(condition.op);
  // libseccomp's masked_eq takes the mask first, then the value.
  cmp.datum_a = condition.op == Op::kMaskedEq ? condition.mask : condition.value;
  cmp.datum_b = condition.op == Op::kMaskedEq ? condition.value : 0;
  return cmp;
}

Outcome<std::vector<unsigned char>> compileFilter(const PluginPolicy& policy) {
  // Anything not allowed below goes to the supervisor (user notification): the kernel, not the
  // worker, reports the syscall and its arguments, and the supervisor decides (gate/).
  FilterContext ctx(seccomp_init(SCMP_ACT_NOTIFY), seccomp_release);
  if (!ctx) return makeError(ErrorCategory::kInternal, "seccomp_init failed");
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);

  std::set<std::string> allowed(runtimeSyscalls().begin(), runtimeSyscalls().end());
  allowed.insert(policy.syscalls.begin(), policy.syscalls.end());
  for (const std::string& name : allowed) {
    int number = resolve(name);
    if (number == __NR_SCMP_ERROR) return compileError(policy, "unknown syscall '" + name + "'");
    if (number < 0) continue;  // not a syscall on this architecture (e.g. a legacy name)
    int rc = 0;
    if ((name == "mmap" || name == "mprotect") && !policy.dangerWXorXOff) {
      // No new code: executable mappings go to the supervisor, which allows them only while
      // the plugin is being loaded.
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, number, 1,
                            SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    } else {
      rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ALLOW, number, 0);
    }
    if (rc != 0) return compileError(policy, "cannot add rule for '" + name + "'");
  }
  // Conditional allows run in the kernel; every other rule action is the default (the
  // supervisor finds the rule again, decides and audits).
  for (const SyscallRule& rule : policy.syscallRules) {
    if (rule.action != SyscallRule::Action::kAllow || allowed.count(rule.name) != 0) continue;
    int number = resolve(rule.name);
    if (number == __NR_SCMP_ERROR)
      return compileError(policy, "unknown syscall '" + rule.name + "'");
    if (number < 0) continue;
    std::vector<scmp_arg_cmp> conditions;
    for (const ArgCondition& condition : rule.conditions)
      conditions.push_back(toLibseccomp(condition));
    int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ALLOW, number,
                                    static_cast<unsigned>(conditions.size()), conditions.data());
    if (rc != 0) {
      return compileError(policy, "cannot add the rule for '" + rule.name + "' (policy line " +
                                      std::to_string(rule.line) + "): " + std::strerror(-rc));
    }
  }
  // glibc tries clone3 first and falls back to clone when the kernel says ENOSYS; answering
  // ENOSYS keeps that fallback (and so thread and process creation) on the path the filter
  // inspects, instead of a syscall whose arguments live in memory it cannot read.
  if (seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), resolve("clone3"), 0) != 0) {
    return compileError(policy, "cannot add the clone3 rule");
  }
  return exportProgram(ctx.get());
}

}  // namespace

bool allowedWhileLoading(int number) {
  static const std::set<int> kLoading = [] {
    std::set<int> numbers{resolve("mmap"), resolve("mprotect")};
    for (const std::string& name : loaderSyscalls()) numbers.insert(resolve(name));
    return numbers;
  }();
  return kLoading.count(number) != 0;
}

Outcome<SeccompPrograms> compileSeccompPrograms(const PluginPolicy& policy) {
  auto filter = compileFilter(policy);
  if (!filter.ok()) return filter.error();
  return SeccompPrograms{std::move(filter.value())};
}

std::string syscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
  if (name == nullptr) return "syscall " + std::to_string(number);
  std::string result(name);
  std::free(name);
  return result;
}

}  // namespace cordon
