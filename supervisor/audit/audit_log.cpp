#include "audit/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

namespace cordon {
namespace {

const std::string kGenesis(64, '0');

std::string sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string utcTimestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t seconds = system_clock::to_time_t(now);
  auto micros = duration_cast<microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[96];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long>(micros));
  return text;
}

}  // namespace

std::string auditRecordHash(const nlohmann::json& recordWithoutHash) {
  return sha256Hex(recordWithoutHash.dump());
}

Outcome<AuditVerification> verifyAuditLog(const std::string& path) {
  std::ifstream in(path);
  if (!in) return makeError(ErrorCategory::kBadInput, path + ": cannot open audit log");
  AuditVerification result;
  result.lastHash = kGenesis;
  std::string line;
  for (uint64_t number = 1; std::getline(in, line); ++number) {
    const std::string where = path + ":" + std::to_string(number) + ": ";
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      return makeError(ErrorCategory::kBadInput, where + "not a JSON object");
    }
    if (!record.is_object() || !record.contains("hash") || !record.contains("prev") ||
        !record["hash"].is_string() || !record.contains("seq")) {
      return makeError(ErrorCategory::kBadInput, where + "field 'hash', 'prev' or 'seq' missing");
    }
    if (record["prev"] != result.lastHash) {
      return makeError(ErrorCategory::kBadInput,
                       where +
                           "field 'prev' does not match the previous record (a record was "
                           "removed, inserted or reordered)");
    }
    if (record["seq"] != result.records) {
      return makeError(ErrorCategory::kBadInput, where + "field 'seq' is out of sequence");
    }
    std::string claimed = record["hash"];
    record.erase("hash");
    if (auditRecordHash(record) != claimed) {
      return makeError(ErrorCategory::kBadInput, where +
                                                     "field 'hash' does not match the record "
                                                     "(the record was altered)");
    }
    result.lastHash = claimed;
    ++result.records;
  }
  return result;
}

Outcome<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  uint64_t nextSeq = 0;
  std::string lastHash = kGenesis;
  if (access(path.c_str(), F_OK) == 0) {
    auto existing = verifyAuditLog(path);
    if (!existing.ok()) {
      return makeError(
          ErrorCategory::kBadInput,
          "refusing to extend an audit log that does not verify: " + existing.error().message);
    }
    nextSeq = existing.value().records;
    lastHash = existing.value().lastHash;
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0)
    return makeError(ErrorCategory::kBadInput, path + ": cannot open audit log for writing");
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd, nextSeq, lastHash));
}

AuditLog::AuditLog(std::string path, int fd, uint64_t nextSeq, std::string lastHash)
    : path_(std::move(path)), fd_(fd), nextSeq_(nextSeq), lastHash_(std::move(lastHash)) {}

AuditLog::~AuditLog() {
  close(fd_);
}

void AuditLog::record(std::string_view event, nlohmann::json fields) {
  nlohmann::json record = fields.is_object() ? std::move(fields) : nlohmann::json::object();
  record["seq"] = nextSeq_;
  record["ts"] = utcTimestamp();
  record["run"] = runId_;
  record["event"] = event;
  record["prev"] = lastHash_;
  std::string hash = auditRecordHash(record);
  record["hash"] = hash;
  std::string line = record.dump() + "\n";
  // One write per record: with O_APPEND a record is never interleaved with another writer's.
  ssize_t written = ::write(fd_, line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    // Losing an audit record silently is not an option; the operator must know.
    std::fprintf(stderr, "cordon: FATAL: cannot write audit log %s\n", path_.c_str());
    std::abort();
  }
  lastHash_ = std::move(hash);
  ++nextSeq_;
  ++written_;
}

}  // namespace cordon
