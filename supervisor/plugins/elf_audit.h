// `cordon plugins audit`: what a plugin's shared object shows before it ever runs (docs/trust.md).
// Reads the ELF headers and the dynamic symbol table, and reports imports that the policy would
// make fail (each mapped to the syscalls it needs), file access against the policy's filesystem
// grants, text relocations, an executable stack and writable+executable segments. The file is
// parsed, never loaded.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace cordon {

enum class Severity { kLow, kMedium, kHigh };
const char* severityName(Severity severity);

struct ElfFinding {
  Severity severity;
  // "import", "file-access" (an import that opens files by path, against the filesystem grants),
  // "raw-syscall" (syscall(): any number), "textrel", "execstack", "rwx-segment", "no-gnu-stack"
  std::string kind;
  std::string detail;
};

struct ElfReport {
  std::vector<std::string> imports;  // undefined dynamic symbols
  std::vector<ElfFinding> findings;
};

// `section` is the policy the plugin would run under; null means the default-deny baseline
// (only the runtime syscalls). Bad input: not a 64-bit ELF shared object, or truncated tables.
Outcome<ElfReport> auditElf(const std::string& bytes, const PluginPolicy* section);

}  // namespace cordon
