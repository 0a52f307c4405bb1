// libFuzzer: any bytes as a policy file, through the parser, the linter and the seccomp
// compiler. Accepted or InputError / Error, never a crash or another exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/yaml_document.h"
#include "policy/policy_lint.h"
#include "policy/policy_parser.h"
#include "policy/seccomp_compiler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    cordon::Policy policy = cordon::parsePolicy(cordon::YamlDocument::parse(text, "fuzz.yaml"));
    (void)cordon::lintPolicy(policy);
    for (const auto& [name, section] : policy.plugins) {
      auto programs = cordon::compileSeccompPrograms(section);
      (void)programs.ok();
    }
  } catch (const cordon::InputError&) {
  }
  return 0;
}
