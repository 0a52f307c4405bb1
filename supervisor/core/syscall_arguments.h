// The one way the audit log spells a syscall's six arguments, wherever a record carries them
// (sandbox.violation, a log rule's gate.allow, an errno rule's gate.deny, gate.learn) and in the
// reasons that quote a call: hex, comma-separated, "0x2,0x1,0x0,0x0,0x0,0x0" (docs/audit.md).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace cordon {

inline std::string syscallArgumentsText(const uint64_t (&args)[6]) {
  std::string text;
  for (uint64_t arg : args) {
    char hex[24];
    std::snprintf(hex, sizeof hex, "%s0x%llx", text.empty() ? "" : ",",
                  static_cast<unsigned long long>(arg));
    text += hex;
  }
  return text;
}

}  // namespace cordon
