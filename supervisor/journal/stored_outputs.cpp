#include "journal/stored_outputs.h"

#include <nlohmann/json.hpp>

#include "run/artifact_digest.h"
#include "run/artifact_store.h"

namespace cordon {
namespace {

// "sha256:" and 64 lowercase hex digits: nothing else names a file in the store.
bool isStoreDigest(const std::string& digest) {
  if (digest.size() != 71 || digest.rfind("sha256:", 0) != 0) return false;
  return digest.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

}  // namespace

std::optional<std::string> inlineOutput(SqliteDb& db, const std::string& digest) {
  auto rows = db.query("SELECT bytes FROM blobs WHERE digest = ?1", {digest});
  if (!rows.ok() || rows.value().empty()) return std::nullopt;
  return sqlText(rows.value()[0][0]);
}

Outcome<StoredOutputs> storedOutputs(SqliteDb& db, const std::string& runId,
                                     const std::string& step, const std::string& outputsJson,
                                     const std::string& directory) {
  const nlohmann::json names = nlohmann::json::parse(outputsJson, nullptr, false);
  if (!names.is_object())
    return makeError(ErrorCategory::kBadInput, "its outputs are not journaled");
  auto rows = db.query("SELECT name, bytes, digest FROM artifacts WHERE run_id = ?1 AND step = ?2",
                       {runId, step});
  if (!rows.ok()) return rows.error();
  std::map<std::string, std::pair<int64_t, std::string>> journaled;
  for (const auto& row : rows.value())
    journaled[sqlText(row[0])] = {sqlInteger(row[1]), sqlText(row[2])};
  StoredOutputs stored;
  for (const auto& [name, size] : names.items()) {
    auto found = journaled.find(name);
    if (found == journaled.end() || !isStoreDigest(found->second.second))
      return makeError(ErrorCategory::kBadInput, "output '" + name + "' has no journaled digest");
    std::string path = storedArtifactPath(directory, found->second.second);
    Outcome<Artifact> opened = Artifact{};
    if (auto bytes = inlineOutput(db, found->second.second)) {
      path = "the journal's inline bytes of " + found->second.second;
      opened = makeArtifact(std::move(*bytes));
    } else {
      opened = openInputFile(path, UINT64_MAX);
    }
    if (!opened.ok()) return opened.error();
    const Artifact& artifact = opened.value();
    if (static_cast<int64_t>(artifact->size()) != found->second.first)
      return makeError(ErrorCategory::kBadInput, path + " is not the size the journal holds");
    auto digest = digestArtifact(*artifact);
    if (!digest.ok()) return digest.error();
    if (digest.value() != found->second.second)
      return makeError(ErrorCategory::kBadInput, path + " does not hash to its name");
    stored.outputs[name] = artifact;
    stored.digests[name] = found->second.second;
  }
  return stored;
}

}  // namespace cordon
