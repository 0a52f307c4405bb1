// libFuzzer: any bytes through the functions that make untrusted bytes safe, and through the
// record builders that carry them (an error's JSON, an audit record). Each invariant that would
// let a byte break JSON, a terminal line or a printed policy aborts the run.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "audit/audit_log.h"
#include "core/error.h"
#include "core/untrusted_text.h"

namespace {

void require(bool holds) {
  if (!holds) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const std::string valid = cordon::toValidUtf8(bytes);
  require(cordon::isValidUtf8(valid));
  require(cordon::isValidUtf8(bytes) == (valid == bytes));

  const std::string shown = cordon::forTerminal(bytes);
  require(cordon::isValidUtf8(shown));
  for (unsigned char c : shown) require(c >= 0x20 && c != 0x7f);
  require(shown.find("\xc2\x9b") == std::string::npos &&
          shown.find("\xe2\x80\xae") == std::string::npos);

  // A quoted scalar reads back as exactly the valid text, and adds no key.
  YAML::Node node = YAML::Load("key: " + cordon::yamlQuoted(bytes));
  require(node.IsMap() && node.size() == 1 && node["key"].Scalar() == valid);

  nlohmann::json record = nlohmann::json::object();
  cordon::setUntrusted(record, "field", bytes);
  record["error"] = cordon::toJson(cordon::makeError(cordon::ErrorCategory::kPluginError, bytes));
  record["raw"] = bytes;  // unchecked bytes straight in: jsonText must still cope
  const std::string text = cordon::jsonText(record);
  require(cordon::isValidUtf8(text));
  require(!nlohmann::json::parse(text, nullptr, false).is_discarded());

  static std::unique_ptr<cordon::AuditLog> audit =
      std::move(cordon::AuditLog::open("/dev/null").value());
  require(audit->record("fuzz", record));
  return 0;
}
