#include "cli/receipt_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "core/untrusted_text.h"
#include "receipt/dsse.h"
#include "receipt/run_receipt.h"
#include "trust/plugin_verifier.h"

namespace cordon {

Outcome<minisign::SecretKey> loadReceiptKey(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return makeError(ErrorCategory::kBadInput, path + ": cannot read the receipt key");
  std::stringstream text;
  text << file.rdbuf();
  auto key = minisign::parseSecretKey(text.str());
  if (!key.ok()) {
    return makeError(ErrorCategory::kBadInput,
                     path + ": not an unencrypted minisign secret key: " + key.error().message);
  }
  return key;
}

Outcome<std::string> writeReceipt(const nlohmann::json& statement, const minisign::SecretKey& key,
                                  const std::string& path) {
  const std::string envelope =
      jsonText(dsse::sign(kReceiptPayloadType, jsonText(statement), key), 2) + "\n";
  namespace fs = std::filesystem;
  auto fail = [&path](const std::string& why) {
    return makeError(ErrorCategory::kInternal, "receipt " + path + ": " + why);
  };
  std::error_code error;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), error);
  if (error) return fail(error.message());
  const std::string temporary = path + ".tmp." + std::to_string(getpid());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(std::strerror(errno));
  size_t written = 0;
  while (written < envelope.size()) {
    const ssize_t n = write(fd, envelope.data() + written, envelope.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      close(fd);
      unlink(temporary.c_str());
      return fail(why);
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    unlink(temporary.c_str());
    return fail(why);
  }
  return sha256Digest(envelope);
}

int receiptVerifyCommand(const ReceiptVerifyRequest& request, bool json) {
  auto verdict = verifyReceipt(request);
  if (!verdict.ok()) {
    printError(verdict.error());
    return kExitBadInput;
  }
  const ReceiptVerdict& result = verdict.value();
  const bool holds = result.failures.empty();
  if (json) {
    nlohmann::json out = {{"holds", holds}};
    nlohmann::json verified = nlohmann::json::array();
    nlohmann::json failures = nlohmann::json::array();
    for (const std::string& line : result.verified) verified.push_back(toValidUtf8(line));
    for (const std::string& line : result.failures) failures.push_back(toValidUtf8(line));
    out["verified"] = std::move(verified);
    out["failures"] = std::move(failures);
    if (!result.statement.is_null()) out["statement"] = result.statement;
    std::printf("%s\n", jsonText(out, 2).c_str());
  } else {
    for (const std::string& line : result.verified)
      std::printf("ok: %s\n", forTerminal(line).c_str());
    for (const std::string& line : result.failures)
      std::printf("FAILED: %s\n", forTerminal(line).c_str());
    if (holds && !result.statement.is_null()) {
      const nlohmann::json predicate = result.statement.value("predicate", nlohmann::json());
      const nlohmann::json runId = predicate.value("run_id", nlohmann::json());
      const nlohmann::json outcome = predicate.value("outcome", nlohmann::json::object());
      std::printf("receipt holds: run %s, %s\n", forTerminal(jsonText(runId)).c_str(),
                  forTerminal(jsonText(outcome.value("status", nlohmann::json()))).c_str());
    }
  }
  return holds ? kExitOk : kExitWorkflowFailed;
}

}  // namespace cordon
