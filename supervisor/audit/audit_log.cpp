#include "audit/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "core/untrusted_text.h"

namespace cordon {
namespace {

const std::string kGenesis(64, '0');
constexpr uint64_t kReadChunk = 1 << 20;

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return hexBytes(std::string_view(reinterpret_cast<const char*>(digest), size));
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

std::string osReason() {
  return std::strerror(errno);
}

// Holds flock(LOCK_EX) on the log for one append, so appends of several processes serialise.
class ExclusiveLock {
 public:
  explicit ExclusiveLock(int fd) : fd_(fd) {
    while ((locked_ = flock(fd_, LOCK_EX) == 0) == false && errno == EINTR) {
    }
  }
  ~ExclusiveLock() {
    if (locked_) flock(fd_, LOCK_UN);
  }
  ExclusiveLock(const ExclusiveLock&) = delete;
  ExclusiveLock& operator=(const ExclusiveLock&) = delete;
  bool locked() const { return locked_; }

 private:
  int fd_;
  bool locked_ = false;
};

struct ChainState {
  uint64_t records = 0;
  std::string lastHash = kGenesis;
  uint64_t bytes = 0;  // the verified prefix
};

// One line against the chain so far: empty when it verifies (and `state` moves past it).
std::string verifyLine(std::string_view line, ChainState& state) {
  nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.is_object()) return "not a JSON object";
  auto hash = record.find("hash");
  auto prev = record.find("prev");
  auto seq = record.find("seq");
  if (hash == record.end() || prev == record.end() || seq == record.end() || !hash->is_string())
    return "field 'hash', 'prev' or 'seq' missing";
  if (*prev != state.lastHash)
    return "field 'prev' does not match the previous record (a record was removed, inserted or "
           "reordered)";
  if (*seq != state.records) return "field 'seq' is out of sequence";
  std::string claimed = *hash;
  record.erase("hash");
  if (auditRecordHash(record) != claimed)
    return "field 'hash' does not match the record (the record was altered)";
  state.lastHash = std::move(claimed);
  ++state.records;
  state.bytes += line.size() + 1;
  return {};
}

struct RangeCheck {
  AuditDefect defect = AuditDefect::kNone;
  std::string problem;  // "FILE:LINE: ..."
};

// Verifies the records in bytes [state.bytes, end) of `fd`, read in chunks (a log may be far
// larger than memory should hold). `watch`: remembers the hash after that many records.
RangeCheck verifyRange(int fd, uint64_t end, ChainState& state, const std::string& path,
                       uint64_t watch = 0, std::string* hashAtWatch = nullptr) {
  std::string pending;
  uint64_t offset = state.bytes;
  auto where = [&] { return path + ":" + std::to_string(state.records + 1) + ": "; };
  while (offset < end) {
    const uint64_t want = std::min(kReadChunk, end - offset);
    const size_t before = pending.size();
    pending.resize(before + want);
    ssize_t got = pread(fd, pending.data() + before, want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) {
      pending.resize(before);
      continue;
    }
    if (got <= 0) {
      return {AuditDefect::kTruncated,
              where() + "cannot read the audit log: " + (got < 0 ? osReason() : "it shrank")};
    }
    pending.resize(before + static_cast<size_t>(got));
    offset += static_cast<uint64_t>(got);
    size_t start = 0;
    for (size_t newline; (newline = pending.find('\n', start)) != std::string::npos;
         start = newline + 1) {
      std::string problem =
          verifyLine(std::string_view(pending).substr(start, newline - start), state);
      if (!problem.empty()) return {AuditDefect::kTampered, where() + problem};
      if (hashAtWatch != nullptr && state.records == watch) *hashAtWatch = state.lastHash;
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) {
    return {AuditDefect::kTruncatedTail,
            where() + "the final record is cut short (" + std::to_string(pending.size()) +
                " bytes and no newline: a writer stopped mid-record); `cordon audit recover " +
                path + "` drops it and continues the log"};
  }
  return {};
}

struct Checkpoint {
  uint64_t records = 0;
  std::string hash;
  uint64_t bytes = 0;
};

std::optional<Checkpoint> readCheckpoint(const std::string& logPath) {
  int fd = ::open(auditCheckpointPath(logPath).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char text[512];
  ssize_t got = read(fd, text, sizeof text - 1);
  close(fd);
  if (got <= 0) return std::nullopt;
  nlohmann::json json =
      nlohmann::json::parse(std::string_view(text, static_cast<size_t>(got)), nullptr, false);
  if (!json.is_object() || !json["records"].is_number_unsigned() || !json["hash"].is_string() ||
      !json["bytes"].is_number_unsigned()) {
    return std::nullopt;
  }
  return Checkpoint{json["records"], json["hash"], json["bytes"]};
}

// The chain state at the checkpoint, trusted only if the record that ends there says the same.
Outcome<ChainState> stateAtCheckpoint(int fd, uint64_t size, const Checkpoint& checkpoint,
                                      const std::string& path) {
  if (checkpoint.records == 0 || checkpoint.bytes == 0) return ChainState{};
  if (size < checkpoint.bytes) {
    return makeError(ErrorCategory::kBadInput,
                     path + ": the log is " + std::to_string(size) + " bytes but its checkpoint (" +
                         auditCheckpointPath(path) + ") says " + std::to_string(checkpoint.bytes) +
                         " bytes and " + std::to_string(checkpoint.records) +
                         " records: records were cut off its end");
  }
  // The last record before the checkpoint's end: read backwards to the newline before it.
  const uint64_t window = std::min<uint64_t>(checkpoint.bytes, 4 * kReadChunk);
  std::string tail(window, '\0');
  if (pread(fd, tail.data(), window, static_cast<off_t>(checkpoint.bytes - window)) !=
      static_cast<ssize_t>(window)) {
    return makeError(ErrorCategory::kBadInput, path + ": cannot read the audit log: " + osReason());
  }
  const size_t lineStart = tail.size() >= 2 ? tail.rfind('\n', tail.size() - 2) : std::string::npos;
  ChainState state;
  nlohmann::json record = nlohmann::json::parse(
      std::string_view(tail).substr(lineStart == std::string::npos ? 0 : lineStart + 1), nullptr,
      false);
  if (tail.back() == '\n' && record.is_object() && record["hash"] == checkpoint.hash &&
      record["seq"] == checkpoint.records - 1) {
    std::string claimed = record["hash"];
    record.erase("hash");
    if (auditRecordHash(record) == claimed) {
      state.records = checkpoint.records;
      state.lastHash = checkpoint.hash;
      state.bytes = checkpoint.bytes;
      return state;
    }
  }
  return makeError(ErrorCategory::kBadInput, path + ": the record its checkpoint (" +
                                                 auditCheckpointPath(path) +
                                                 ") ends at is not there: the log was rewritten");
}

}  // namespace

std::string auditCheckpointPath(const std::string& logPath) {
  return logPath + ".checkpoint";
}

std::string auditRecordHash(const nlohmann::json& recordWithoutHash) {
  return sha256Hex(jsonText(recordWithoutHash));
}

Outcome<AuditScan> scanAuditLog(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeError(ErrorCategory::kBadInput, path + ": cannot open audit log: " + osReason());
  struct stat info {};
  fstat(fd, &info);
  AuditScan scan;
  scan.totalBytes = static_cast<uint64_t>(info.st_size);
  std::optional<Checkpoint> checkpoint = readCheckpoint(path);
  scan.checkpointFound = checkpoint.has_value();
  std::string hashAtCheckpoint;
  ChainState state;
  RangeCheck check = verifyRange(fd, scan.totalBytes, state, path,
                                 checkpoint ? checkpoint->records : 0, &hashAtCheckpoint);
  close(fd);
  scan.records = state.records;
  scan.lastHash = state.lastHash;
  scan.validBytes = state.bytes;
  scan.defect = check.defect;
  scan.problem = check.problem;
  if (checkpoint && checkpoint->records > 0 && scan.defect != AuditDefect::kTampered) {
    if (state.records < checkpoint->records) {
      scan.defect = AuditDefect::kTruncated;
      scan.problem = path + ": the log holds " + std::to_string(state.records) +
                     " records that verify but its checkpoint (" + auditCheckpointPath(path) +
                     ") says " + std::to_string(checkpoint->records) +
                     ": records were cut off its end";
    } else if (hashAtCheckpoint != checkpoint->hash) {
      scan.defect = AuditDefect::kTampered;
      scan.problem = path + ":" + std::to_string(checkpoint->records) +
                     ": the record does not match the checkpoint (" + auditCheckpointPath(path) +
                     "): the log was rewritten";
    }
  }
  return scan;
}

Outcome<AuditVerification> verifyAuditLog(const std::string& path) {
  auto scan = scanAuditLog(path);
  if (!scan.ok()) return scan.error();
  if (scan.value().defect != AuditDefect::kNone)
    return makeError(ErrorCategory::kBadInput, scan.value().problem);
  return AuditVerification{scan.value().records, scan.value().lastHash};
}

Outcome<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);  // e.g. /dev/full
  if (fd < 0) {
    return makeError(ErrorCategory::kBadInput,
                     path + ": cannot open audit log for writing: " + osReason());
  }
  auto refuse = [&](const std::string& why) -> Outcome<std::unique_ptr<AuditLog>> {
    close(fd);
    return makeError(ErrorCategory::kBadInput,
                     "refusing to extend an audit log that does not verify: " + why);
  };
  ExclusiveLock lock(fd);
  struct stat info {};
  if (!lock.locked() || fstat(fd, &info) != 0) return refuse(path + ": " + osReason());
  ChainState state;
  const auto size = static_cast<uint64_t>(info.st_size);
  if (S_ISREG(info.st_mode)) {
    if (auto checkpoint = readCheckpoint(path)) {
      auto atCheckpoint = stateAtCheckpoint(fd, size, *checkpoint, path);
      if (!atCheckpoint.ok()) return refuse(atCheckpoint.error().message);
      state = atCheckpoint.value();
    }
    RangeCheck check = verifyRange(fd, size, state, path);
    if (check.defect != AuditDefect::kNone) return refuse(check.problem);
  }
  return std::unique_ptr<AuditLog>(
      new AuditLog(path, fd, state.records, state.lastHash, state.bytes));
}

AuditLog::AuditLog(std::string path, int fd, uint64_t nextSeq, std::string lastHash, uint64_t bytes)
    : path_(std::move(path)),
      fd_(fd),
      nextSeq_(nextSeq),
      lastHash_(std::move(lastHash)),
      knownBytes_(bytes) {}

AuditLog::~AuditLog() {
  writeCheckpoint();
  close(fd_);
}

bool AuditLog::fail(const std::string& reason) {
  if (!failure_) {
    failure_ = makeError(ErrorCategory::kInternal,
                         "audit log " + path_ + ": " + reason +
                             "; the run stops, since nothing may happen that is not recorded");
  }
  return false;
}

bool AuditLog::catchUp(uint64_t size) {
  if (size < knownBytes_) {
    return fail("it shrank from " + std::to_string(knownBytes_) + " to " + std::to_string(size) +
                " bytes while in use");
  }
  ChainState state{nextSeq_, lastHash_, knownBytes_};
  RangeCheck check = verifyRange(fd_, size, state, path_);
  if (check.defect != AuditDefect::kNone)
    return fail("another writer left it broken: " + check.problem);
  nextSeq_ = state.records;
  lastHash_ = state.lastHash;
  knownBytes_ = state.bytes;
  return true;
}

bool AuditLog::record(std::string_view event, nlohmann::json fields) {
  if (failure_) return false;
  nlohmann::json record = fields.is_object() ? std::move(fields) : nlohmann::json::object();
  record["ts"] = utcTimestamp();
  record["run"] = runId_;
  record["event"] = event;

  ExclusiveLock lock(fd_);
  if (!lock.locked()) return fail("cannot lock it: " + osReason());
  struct stat info {};
  if (fstat(fd_, &info) != 0) return fail("cannot stat it: " + osReason());
  const bool regular = S_ISREG(info.st_mode);
  if (regular && static_cast<uint64_t>(info.st_size) != knownBytes_ &&
      !catchUp(static_cast<uint64_t>(info.st_size))) {
    return false;
  }
  record["seq"] = nextSeq_;
  record["prev"] = lastHash_;
  std::string hash = auditRecordHash(record);
  record["hash"] = hash;
  std::string line = jsonText(record) + "\n";
  // One write per record, under the lock; a short write is cut off again so that no torn line
  // is left for the next writer.
  ssize_t written = ::write(fd_, line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    std::string reason;
    if (written < 0) {
      reason = osReason();
    } else {
      // A short write sets no errno; the next one says why (ENOSPC on a full disk).
      ssize_t again =
          ::write(fd_, line.data() + written, line.size() - static_cast<size_t>(written));
      reason = again < 0 ? osReason() : "short write";
    }
    if (regular) (void)ftruncate(fd_, static_cast<off_t>(knownBytes_));
    return fail("cannot write a record: " + reason);
  }
  if (regular) knownBytes_ += line.size();
  lastHash_ = std::move(hash);
  ++nextSeq_;
  ++written_;
  return true;
}

void AuditLog::writeCheckpoint() {
  ExclusiveLock lock(fd_);
  struct stat info {};
  if (!lock.locked() || fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) return;
  if (static_cast<uint64_t>(info.st_size) != knownBytes_ &&
      (failure_ || !catchUp(static_cast<uint64_t>(info.st_size)))) {
    return;
  }
  writeCheckpointLocked();
}

// Best effort: a missing or stale checkpoint only means the next open reads more of the log.
void AuditLog::writeCheckpointLocked() {
  const std::string target = auditCheckpointPath(path_);
  const std::string temporary = target + ".tmp." + std::to_string(getpid());
  const std::string text =
      jsonText({{"records", nextSeq_}, {"hash", lastHash_}, {"bytes", knownBytes_}}) + "\n";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  if (!ok || rename(temporary.c_str(), target.c_str()) != 0) unlink(temporary.c_str());
}

Outcome<AuditRecovery> recoverAuditLog(const std::string& path) {
  AuditRecovery recovery;
  std::string dropped;
  {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      return makeError(ErrorCategory::kBadInput, path + ": cannot open audit log: " + osReason());
    ExclusiveLock lock(fd);
    auto scan = scanAuditLog(path);
    if (!scan.ok()) {
      close(fd);
      return scan.error();
    }
    const AuditScan& s = scan.value();
    recovery.records = s.records;
    if (s.defect != AuditDefect::kNone && s.defect != AuditDefect::kTruncatedTail) {
      close(fd);
      return makeError(ErrorCategory::kBadInput,
                       "refusing to recover: " + s.problem +
                           " (only a record cut short at the end is recovered)");
    }
    if (s.defect == AuditDefect::kNone) {
      close(fd);
      return recovery;
    }
    recovery.droppedBytes = s.totalBytes - s.validBytes;
    dropped.resize(recovery.droppedBytes);
    if (pread(fd, dropped.data(), dropped.size(), static_cast<off_t>(s.validBytes)) !=
            static_cast<ssize_t>(dropped.size()) ||
        ftruncate(fd, static_cast<off_t>(s.validBytes)) != 0) {
      std::string reason = osReason();
      close(fd);
      return makeError(ErrorCategory::kInternal, path + ": cannot cut the torn record: " + reason);
    }
    close(fd);
  }
  auto log = AuditLog::open(path);
  if (!log.ok()) return log.error();
  nlohmann::json fields = {{"dropped_bytes", recovery.droppedBytes},
                           {"dropped_sha256", sha256Hex(dropped)},
                           {"kept_records", recovery.records}};
  setUntrusted(fields, "dropped_start", std::string_view(dropped).substr(0, 256));
  if (!log.value()->record("audit.recovered", std::move(fields))) return *log.value()->failure();
  return recovery;
}

}  // namespace cordon
