#include "receipt/receipt_verify.h"

#include <fstream>
#include <sstream>

#include "audit/audit_log.h"
#include "audit/audit_reader.h"
#include "core/untrusted_text.h"
#include "receipt/dsse.h"
#include "receipt/run_receipt.h"
#include "run/artifact_digest.h"
#include "run/artifact_store.h"
#include "run/artifacts.h"

namespace cordon {
namespace {

// Receipts are small; a file far larger is not one (and is not read into memory).
constexpr uint64_t kMaxReceiptBytes = 64ull << 20;

Outcome<std::string> readBounded(const std::string& path, const char* what) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return makeError(ErrorCategory::kBadInput, path + ": cannot read the " + what);
  const auto size = static_cast<uint64_t>(file.tellg());
  if (size > kMaxReceiptBytes)
    return makeError(ErrorCategory::kBadInput, path + ": larger than 64 MiB, not a " + what);
  file.seekg(0);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

void checkArtifacts(const nlohmann::json& statement, const std::string& directory,
                    ReceiptVerdict& verdict) {
  const nlohmann::json& subjects = statement["subject"];
  for (const auto& subject : subjects) {
    const std::string name = subject.value("name", "");
    const std::string hex = subject.contains("digest") && subject["digest"].is_object()
                                ? subject["digest"].value("sha256", "")
                                : "";
    // A name from the receipt becomes a path only when it is an output name: no '/', no '..'.
    if (!isOutputName(name)) {
      verdict.failures.push_back("subject '" + toValidUtf8(name) + "' is not an output name");
      continue;
    }
    const std::string path = directory + "/" + name;
    auto opened = openInputFile(path, UINT64_MAX);
    if (!opened.ok()) {
      verdict.failures.push_back("output " + name + ": " + opened.error().message);
      continue;
    }
    auto digest = digestArtifact(*opened.value());
    if (!digest.ok()) {
      verdict.failures.push_back("output " + name + ": " + digest.error().message);
    } else if (digest.value() != "sha256:" + hex) {
      verdict.failures.push_back("output " + name + " (" + path + ") is " + digest.value() +
                                 ", the receipt says sha256:" + toValidUtf8(hex));
    } else {
      verdict.verified.push_back("output " + name + " is " + digest.value());
    }
  }
}

void checkAudit(const nlohmann::json& predicate, const std::string& log, ReceiptVerdict& verdict) {
  const std::string runId = predicate.value("run_id", "");
  const std::string hash =
      predicate.contains("audit") ? predicate["audit"].value("run_end_hash", "") : "";
  auto chain = verifyAuditLog(log);
  if (!chain.ok()) {
    verdict.failures.push_back("audit log " + log + ": " + chain.error().message);
    return;
  }
  nlohmann::json found;
  auto read = forEachAuditRecord(log, [&](const nlohmann::json& record) {
    if (found.is_null() && record.value("hash", "") == hash) found = record;
  });
  if (!read.ok()) {
    verdict.failures.push_back("audit log " + log + ": " + read.error().message);
    return;
  }
  if (found.is_null()) {
    verdict.failures.push_back("audit log " + log + " holds no record with hash " +
                               toValidUtf8(hash));
    return;
  }
  if (found.value("event", "") != "run.end" || found.value("run", "") != runId) {
    verdict.failures.push_back("the record with hash " + hash + " is not run " +
                               toValidUtf8(runId) + "'s run.end");
    return;
  }
  const std::string status =
      predicate.contains("outcome") ? predicate["outcome"].value("status", "") : "";
  if (found.value("status", "") != status) {
    verdict.failures.push_back("the run.end record says " + found.value("status", "") +
                               ", the receipt " + toValidUtf8(status));
    return;
  }
  verdict.verified.push_back("audit log " + log + " verifies (" +
                             std::to_string(chain.value().records) + " records) and holds run " +
                             runId + " up to its run.end, " + hash);
}

}  // namespace

Outcome<ReceiptVerdict> verifyReceipt(const ReceiptVerifyRequest& request) {
  auto keyText = readBounded(request.publicKey, "public key");
  if (!keyText.ok()) return keyText.error();
  auto key = minisign::parsePublicKey(keyText.value());
  if (!key.ok())
    return makeError(ErrorCategory::kBadInput, request.publicKey + ": " + key.error().message);
  auto envelope = readBounded(request.receipt, "receipt");
  if (!envelope.ok()) return envelope.error();
  ReceiptVerdict verdict;
  auto opened = dsse::open(envelope.value(), key.value(), kReceiptPayloadType);
  if (!opened.ok()) {
    verdict.failures.push_back(opened.error().message);
    return verdict;
  }
  const nlohmann::json statement = nlohmann::json::parse(opened.value().payload, nullptr, false);
  if (!statement.is_object() || statement.value("_type", "") != kInTotoStatementType ||
      statement.value("predicateType", "") != kReceiptPredicateType ||
      !statement.contains("subject") || !statement["subject"].is_array() ||
      !statement.contains("predicate") || !statement["predicate"].is_object()) {
    verdict.failures.emplace_back("the signed payload is not a Cordon run receipt statement");
    return verdict;
  }
  verdict.statement = statement;
  verdict.verified.push_back("signature by key " + minisign::keyIdText(key.value().id));
  try {
    if (!request.artifacts.empty()) checkArtifacts(statement, request.artifacts, verdict);
    if (!request.auditLog.empty()) checkAudit(statement["predicate"], request.auditLog, verdict);
  } catch (const nlohmann::json::exception& e) {
    // Signed, but not as cordon writes receipts: a field of the wrong type.
    verdict.failures.push_back(std::string("the receipt is malformed: ") + e.what());
  }
  return verdict;
}

}  // namespace cordon
