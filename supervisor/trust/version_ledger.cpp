#include "trust/version_ledger.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/untrusted_text.h"

namespace cordon {

Outcome<VersionLedger> VersionLedger::open(const std::string& stateDirectory) {
  VersionLedger ledger;
  ledger.path_ = stateDirectory + "/plugin-versions.json";
  std::ifstream in(ledger.path_);
  if (!in) {
    std::error_code error;
    if (std::filesystem::exists(ledger.path_, error))
      return makeError(ErrorCategory::kBadInput, ledger.path_ + ": cannot read");
    return ledger;
  }
  try {
    auto json = nlohmann::json::parse(in);
    for (const auto& [plugin, text] : json.at("highest").items()) {
      auto version = Version::parse(text.get<std::string>());
      if (!version) throw std::runtime_error("'" + plugin + "' has no valid version");
      ledger.highest_[plugin] = *version;
    }
  } catch (const std::exception& e) {
    return makeError(ErrorCategory::kBadInput,
                     ledger.path_ + ": corrupt rollback ledger (" + e.what() + ")");
  }
  return ledger;
}

std::optional<Version> VersionLedger::highest(const std::string& plugin) const {
  auto it = highest_.find(plugin);
  if (it == highest_.end()) return std::nullopt;
  return it->second;
}

Outcome<Done> VersionLedger::recordRun(const std::string& plugin, const Version& version) {
  auto current = highest(plugin);
  if (current && !(*current < version)) return Done{};
  highest_[plugin] = version;
  nlohmann::json json = {{"highest", nlohmann::json::object()}};
  for (const auto& [name, value] : highest_) json["highest"][name] = value.text();
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), error);
  const std::string temporary = path_ + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << jsonText(json, 2) << "\n";
    if (!out) return makeError(ErrorCategory::kInternal, temporary + ": cannot write");
  }
  std::filesystem::rename(temporary, path_, error);
  if (error) return makeError(ErrorCategory::kInternal, path_ + ": " + error.message());
  return Done{};
}

}  // namespace cordon
