// libFuzzer: any bytes as an OCI / Docker seccomp profile. Accepted or InputError, never a crash
// or another exception; and what is accepted prints as a policy that parses back (the output of
// `cordon policy import-oci` is always a valid policy file).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/yaml_document.h"
#include "policy/oci_profile.h"
#include "policy/policy_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  cordon::OciImport imported;
  try {
    imported = cordon::parseOciProfile(text, "fuzz.json");
  } catch (const cordon::InputError&) {
    return 0;
  }
  const std::string policy = cordon::ociImportAsPolicy(imported, "fuzz");
  try {
    (void)cordon::parsePolicy(cordon::YamlDocument::parse(policy, "imported.yaml"));
  } catch (const cordon::InputError& e) {
    std::fprintf(stderr, "import-oci printed a policy that does not parse: %s\n%s\n", e.what(),
                 policy.c_str());
    std::abort();
  }
  return 0;
}
