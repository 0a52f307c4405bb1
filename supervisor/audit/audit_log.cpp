#include "audit/audit_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

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

}  // namespace

// SHA-256 with the digest fetched once and one context kept: OpenSSL 3 looks EVP_sha256() up
// in its provider tables on every EVP_Digest call, which was a tenth of a record's cost.
class AuditLog::RecordHasher {
 public:
  RecordHasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), context_(EVP_MD_CTX_new()) {}
  ~RecordHasher() {
    EVP_MD_CTX_free(context_);
    EVP_MD_free(md_);
  }
  RecordHasher(const RecordHasher&) = delete;
  RecordHasher& operator=(const RecordHasher&) = delete;

  std::string hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (md_ == nullptr || context_ == nullptr || EVP_DigestInit_ex2(context_, md_, nullptr) != 1 ||
        EVP_DigestUpdate(context_, data.data(), data.size()) != 1 ||
        EVP_DigestFinal_ex(context_, digest, &size) != 1) {
      return sha256Hex(data);  // the slow path gives the same digest
    }
    return hexBytes(std::string_view(reinterpret_cast<const char*>(digest), size));
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* context_;
};

// The record's "ts": UTC with microseconds; the date and time are formatted once a second.
class AuditLog::RecordClock {
 public:
  std::string_view now() {
    using namespace std::chrono;
    const auto micros = duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
    const int64_t seconds = micros / 1000000;
    if (seconds != second_) {
      second_ = seconds;
      auto epoch = static_cast<std::time_t>(seconds);
      std::tm utc{};
      gmtime_r(&epoch, &utc);
      std::snprintf(text_, sizeof text_, "%04d-%02d-%02dT%02d:%02d:%02d.", utc.tm_year + 1900,
                    utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
      prefix_ = std::strlen(text_);
    }
    auto fraction = static_cast<int>(micros % 1000000);
    for (size_t i = 6; i-- > 0; fraction /= 10)
      text_[prefix_ + i] = static_cast<char>('0' + fraction % 10);
    text_[prefix_ + 6] = 'Z';
    return std::string_view(text_, prefix_ + 7);
  }

 private:
  int64_t second_ = -1;
  size_t prefix_ = 0;
  char text_[96] = {};
};

namespace {

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

constexpr std::string_view kRotated = "audit.rotated";
constexpr std::string_view kSegmentStart = "audit.segment";

struct ChainState {
  uint64_t records = 0;  // across segments: the next record's seq
  std::string lastHash = kGenesis;
  std::string lastEvent;
  int64_t lastSegmentField = -1;  // "segment" of the last record (audit.rotated names its file)
  uint64_t bytes = 0;             // the verified prefix of the file at hand
  uint64_t lines = 0;             // records verified in the file at hand
  std::string firstEvent;         // of the file at hand
  int64_t firstSegmentField = -1;
};

int64_t segmentField(const nlohmann::json& record) {
  auto field = record.find("segment");
  return field != record.end() && field->is_number_unsigned() ? field->get<int64_t>() : -1;
}

std::string eventOf(const nlohmann::json& record) {
  auto field = record.find("event");
  return field != record.end() && field->is_string() ? field->get<std::string>() : "";
}

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
  state.lastEvent = eventOf(record);
  state.lastSegmentField = segmentField(record);
  if (state.lines == 0) {
    state.firstEvent = state.lastEvent;
    state.firstSegmentField = state.lastSegmentField;
  }
  ++state.records;
  ++state.lines;
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
  auto where = [&] { return path + ":" + std::to_string(state.lines + 1) + ": "; };
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
  uint64_t segment = 1;  // the live file it was taken on
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
  const uint64_t segment = json.value("segment", uint64_t{1});
  return Checkpoint{json["records"], json["hash"], json["bytes"], segment};
}

// Where the chain stands at the start of a live file: the genesis, or, for a file that begins
// with audit.segment, the seq and prev that record claims (`audit verify` checks the claim
// against the closed segments; a writer only needs it to go on).
struct LiveStart {
  ChainState state;
  uint64_t segment = 1;
};

LiveStart startOfLive(int fd, uint64_t size) {
  LiveStart start;
  std::string head(static_cast<size_t>(std::min<uint64_t>(size, 4096)), '\0');
  ssize_t got = pread(fd, head.data(), head.size(), 0);
  if (got <= 0) return start;
  head.resize(static_cast<size_t>(got));
  const size_t newline = head.find('\n');
  if (newline == std::string::npos) return start;
  nlohmann::json first = nlohmann::json::parse(head.substr(0, newline), nullptr, false);
  if (!first.is_object() || eventOf(first) != kSegmentStart || segmentField(first) < 2 ||
      !first["seq"].is_number_unsigned() || !first["prev"].is_string()) {
    return start;
  }
  start.state.records = first["seq"];
  start.state.lastHash = first["prev"];
  start.segment = static_cast<uint64_t>(segmentField(first));
  return start;
}

// The chain state at the checkpoint, trusted only if the record that ends there says the same.
Outcome<ChainState> stateAtCheckpoint(int fd, uint64_t size, const Checkpoint& checkpoint,
                                      const ChainState& start, const std::string& path) {
  if (checkpoint.records <= start.records || checkpoint.bytes == 0) return start;
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
  nlohmann::json record = nlohmann::json::parse(
      std::string_view(tail).substr(lineStart == std::string::npos ? 0 : lineStart + 1), nullptr,
      false);
  if (tail.back() == '\n' && record.is_object() && record["hash"] == checkpoint.hash &&
      record["seq"] == checkpoint.records - 1) {
    std::string claimed = record["hash"];
    record.erase("hash");
    if (auditRecordHash(record) == claimed) {
      ChainState state = start;
      state.records = checkpoint.records;
      state.lastHash = checkpoint.hash;
      state.lastEvent = eventOf(record);
      state.lastSegmentField = segmentField(record);
      state.bytes = checkpoint.bytes;
      state.lines = checkpoint.records - start.records;
      return state;
    }
  }
  return makeError(ErrorCategory::kBadInput, path + ": the record its checkpoint (" +
                                                 auditCheckpointPath(path) +
                                                 ") ends at is not there: the log was rewritten");
}

bool lockFile(int fd) {
  int rc = 0;
  while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR) {
  }
  return rc == 0;
}

bool sameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The closed segments present beside the log: their numbers, in order.
std::vector<uint64_t> segmentNumbersOnDisk(const std::string& logPath) {
  namespace fs = std::filesystem;
  std::vector<uint64_t> numbers;
  const fs::path log(logPath);
  const std::string prefix = log.filename().string() + ".";
  std::error_code error;
  const fs::path directory = log.has_parent_path() ? log.parent_path() : fs::path(".");
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 6 || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    numbers.push_back(std::stoull(digits));
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

std::string fileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::string auditCheckpointPath(const std::string& logPath) {
  return logPath + ".checkpoint";
}

std::string auditSegmentPath(const std::string& logPath, uint64_t number) {
  char digits[24];
  std::snprintf(digits, sizeof digits, ".%06llu", static_cast<unsigned long long>(number));
  return logPath + digits;
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
  const uint64_t watch = checkpoint ? checkpoint->records : 0;
  RangeCheck check;

  // The closed segments first, oldest first, each one link of the same chain.
  const std::vector<uint64_t> segments = segmentNumbersOnDisk(path);
  for (size_t i = 0; i < segments.size() && check.defect == AuditDefect::kNone; ++i) {
    const uint64_t number = i + 1;
    const std::string segment = auditSegmentPath(path, number);
    if (segments[i] != number) {
      check = {AuditDefect::kTampered, segment + ": segment " + std::to_string(number) +
                                           " is missing (the log has segments up to " +
                                           auditSegmentPath(path, segments.back()) + ")"};
      break;
    }
    int segmentFd = ::open(segment.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat segmentInfo {};
    if (segmentFd < 0 || fstat(segmentFd, &segmentInfo) != 0) {
      check = {AuditDefect::kTampered, segment + ": cannot read this segment: " + osReason()};
      if (segmentFd >= 0) close(segmentFd);
      break;
    }
    state.bytes = 0;
    state.lines = 0;
    check = verifyRange(segmentFd, static_cast<uint64_t>(segmentInfo.st_size), state, segment,
                        watch, &hashAtCheckpoint);
    close(segmentFd);
    if (check.defect == AuditDefect::kNone &&
        (state.lastEvent != kRotated || state.lastSegmentField != static_cast<int64_t>(number))) {
      check = {AuditDefect::kTampered,
               segment + ": a closed segment must end with audit.rotated naming segment " +
                   std::to_string(number) + "; its end was cut off or it was replaced"};
    } else if (check.defect == AuditDefect::kTruncatedTail) {
      check.defect = AuditDefect::kTampered;  // only the live file can be cut mid-record
    }
    ++scan.segments;
  }
  if (check.defect == AuditDefect::kNone && segments.empty() &&
      startOfLive(fd, scan.totalBytes).segment > 1) {
    check = {AuditDefect::kTampered,
             path + ":1: the log begins with audit.segment, but its earlier segments are missing"};
  } else if (check.defect == AuditDefect::kNone) {
    state.bytes = 0;
    state.lines = 0;
    check = verifyRange(fd, scan.totalBytes, state, path, watch, &hashAtCheckpoint);
    const uint64_t expected = segments.size() + 1;
    if (check.defect != AuditDefect::kTampered && state.lines > 0 &&
        (state.firstEvent == kSegmentStart) != (expected > 1)) {
      check = {AuditDefect::kTampered,
               path + ":1: " +
                   (expected > 1 ? "the live file must begin with audit.segment, after segment " +
                                       std::to_string(segments.size())
                                 : "the log begins with audit.segment, but its earlier segments "
                                   "are missing")};
    } else if (check.defect != AuditDefect::kTampered && state.lines > 0 && expected > 1 &&
               state.firstSegmentField != static_cast<int64_t>(expected)) {
      check = {AuditDefect::kTampered, path + ":1: audit.segment names segment " +
                                           std::to_string(state.firstSegmentField) + ", not " +
                                           std::to_string(expected)};
    }
  } else {
    scan.validBytes = 0;
  }
  close(fd);
  scan.records = state.records;
  scan.lastHash = state.lastHash;
  if (check.defect == AuditDefect::kNone || check.defect == AuditDefect::kTruncatedTail)
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
      scan.problem = path + ": record " + std::to_string(checkpoint->records) + " (seq " +
                     std::to_string(checkpoint->records - 1) + ") does not match the checkpoint (" +
                     auditCheckpointPath(path) + "): the log was rewritten";
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

Outcome<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path,
                                                  AuditLogOptions options) {
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
  Position position{0, kGenesis, "", 0, 1};
  {
    ExclusiveLock lock(fd);
    struct stat info {};
    if (!lock.locked() || fstat(fd, &info) != 0) return refuse(path + ": " + osReason());
    const auto size = static_cast<uint64_t>(info.st_size);
    if (S_ISREG(info.st_mode)) {
      LiveStart start = startOfLive(fd, size);
      ChainState state = start.state;
      if (auto checkpoint = readCheckpoint(path);
          checkpoint && checkpoint->segment == start.segment) {
        auto atCheckpoint = stateAtCheckpoint(fd, size, *checkpoint, start.state, path);
        if (!atCheckpoint.ok()) return refuse(atCheckpoint.error().message);
        state = atCheckpoint.value();
      }
      RangeCheck check = verifyRange(fd, size, state, path);
      if (check.defect != AuditDefect::kNone) return refuse(check.problem);
      position = {state.records, state.lastHash, state.lastEvent, state.bytes, start.segment};
    }
  }
  std::unique_ptr<AuditLog> log(new AuditLog(path, fd, position, options));
  if (log->lastEvent_ == kRotated) {
    // A rotation happened since this file was opened, or one was left half done: go on to the
    // live file now, so that a log that cannot be continued is refused here.
    if (!log->lockLive()) {
      return makeError(
          ErrorCategory::kBadInput,
          "refusing to extend an audit log that does not verify: " + log->failure_->message);
    }
    log->unlock();
  }
  return log;
}

AuditLog::AuditLog(std::string path, int fd, const Position& position, AuditLogOptions options)
    : path_(std::move(path)),
      fd_(fd),
      nextSeq_(position.nextSeq),
      lastHash_(position.lastHash),
      lastEvent_(position.lastEvent),
      knownBytes_(position.bytes),
      liveSegment_(position.segment),
      options_(options),
      hasher_(std::make_unique<RecordHasher>()),
      clock_(std::make_unique<RecordClock>()) {}

AuditLog::~AuditLog() {
  writeCheckpoint();
  releaseLock();
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

void AuditLog::keepLockBetweenWrites(bool keep) {
  keepLock_ = keep;
  if (!keep) releaseLock();
}

void AuditLog::releaseLock() {
  if (!locked_) return;
  flock(fd_, LOCK_UN);
  locked_ = false;
}

bool AuditLog::lockLive() {
  if (failure_) return false;
  // Held since this writer's last append: nobody else wrote since, nor rotated the file.
  if (locked_) return true;
  if (!lockFile(fd_)) return fail("cannot lock it: " + osReason());
  locked_ = true;
  for (int hops = 0;; ++hops) {
    if (!syncLocked()) break;
    if (lastEvent_ != kRotated) return true;
    if (hops == 64) {
      fail("it was rotated more than 64 times while one record waited");
      break;
    }
    if (!moveOnLocked()) break;
  }
  unlock();
  return false;
}

void AuditLog::unlock() {
  if (keepLock_ && !failure_) return;
  releaseLock();
}

bool AuditLog::syncLocked() {
  struct stat info {};
  if (fstat(fd_, &info) != 0) return fail("cannot stat it: " + osReason());
  regular_ = S_ISREG(info.st_mode);
  if (regular_ && static_cast<uint64_t>(info.st_size) != knownBytes_)
    return catchUp(static_cast<uint64_t>(info.st_size));
  return true;
}

bool AuditLog::catchUp(uint64_t size) {
  if (size < knownBytes_) {
    return fail("it shrank from " + std::to_string(knownBytes_) + " to " + std::to_string(size) +
                " bytes while in use");
  }
  ChainState state;
  state.records = nextSeq_;
  state.lastHash = lastHash_;
  state.lastEvent = lastEvent_;
  state.bytes = knownBytes_;
  RangeCheck check = verifyRange(fd_, size, state, path_);
  if (check.defect != AuditDefect::kNone)
    return fail("another writer left it broken: " + check.problem);
  nextSeq_ = state.records;
  lastHash_ = state.lastHash;
  lastEvent_ = state.lastEvent;
  knownBytes_ = state.bytes;
  return true;
}

bool AuditLog::appendLocked(std::string_view event, const nlohmann::json& fields,
                            bool heldBackFirst) {
  // What defer() held back goes first, in the same write: the chain keeps the order of events.
  line_.clear();
  const uint64_t held = heldBackFirst ? renderPendingLocked(line_) : 0;
  renderLocked(event, fields, line_);
  return writeLocked(line_, held + 1);
}

uint64_t AuditLog::renderPendingLocked(std::string& out) {
  const uint64_t count = pending_.size();
  for (const auto& [event, fields] : pending_) renderLocked(event, fields, out);
  pending_.clear();
  return count;
}

void AuditLog::renderLocked(std::string_view event, const nlohmann::json& fields,
                            std::string& out) {
  // The record is `fields` with ts, run, event, seq and prev (these win over fields of the same
  // name) and hash, in key order: the bytes jsonText gives that object, built once, with one
  // hash update over the text without "hash" (the verifier's jsonText of the parsed record).
  const auto* run = fields.is_object() ? &fields : nullptr;
  auto runField = run != nullptr ? fields.find("run") : fields.end();
  const std::string_view runText =
      run != nullptr && runField != fields.end() && runField->is_string()
          ? std::string_view(runField->get_ref<const std::string&>())
          : std::string_view();
  char seqText[24];
  const std::string_view seq(
      seqText, static_cast<size_t>(std::to_chars(seqText, seqText + sizeof seqText, nextSeq_).ptr -
                                   seqText));
  const std::string_view ts = clock_->now();
  enum class Fixed { kEvent, kHash, kPrev, kRun, kSeq, kTs };
  struct FixedField {
    std::string_view key;
    Fixed which;
  };
  static constexpr FixedField kFixed[] = {{"event", Fixed::kEvent}, {"hash", Fixed::kHash},
                                          {"prev", Fixed::kPrev},   {"run", Fixed::kRun},
                                          {"seq", Fixed::kSeq},     {"ts", Fixed::kTs}};
  std::string& text = record_;
  text.clear();
  text += '{';
  size_t hashAt = std::string::npos;
  bool first = true;
  bool anyAfterHash = false;
  auto separate = [&] {
    if (!first) text += ',';
    first = false;
    anyAfterHash = anyAfterHash || hashAt != std::string::npos;
  };
  auto writeFixed = [&](const FixedField& field) {
    if (field.which == Fixed::kHash) {
      hashAt = first ? text.size() : text.size() + 1;  // where the entry after it will begin
      return;
    }
    separate();
    appendJsonString(text, field.key);
    text += ':';
    switch (field.which) {
      case Fixed::kEvent:
        appendJsonString(text, event);
        break;
      case Fixed::kPrev:
        appendJsonString(text, lastHash_);
        break;
      case Fixed::kRun:
        appendJsonString(text, runText);
        break;
      case Fixed::kSeq:
        text += seq;
        break;
      case Fixed::kTs:
        appendJsonString(text, ts);
        break;
      case Fixed::kHash:
        break;
    }
  };
  size_t next = 0;
  if (run != nullptr) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const std::string& key = it.key();
      while (next < std::size(kFixed) && kFixed[next].key < key) writeFixed(kFixed[next++]);
      bool fixed = false;
      for (const FixedField& field : kFixed) fixed = fixed || field.key == key;
      if (fixed) continue;  // set by the log, never by the caller
      separate();
      appendJsonString(text, key);
      text += ':';
      appendJsonText(text, it.value());
    }
  }
  while (next < std::size(kFixed)) writeFixed(kFixed[next++]);
  text += '}';
  std::string hash = hasher_->hex(text);
  std::string entry = "\"hash\":\"" + hash + "\"";
  if (anyAfterHash) {
    text.insert(hashAt, entry + ",");
  } else {  // nothing follows "hash": it goes last
    text.insert(text.size() - 1, first ? entry : "," + entry);
  }
  text += '\n';
  out += text;
  // The chain moves on now; should the write fail, the log is failed for good and nothing
  // follows these records.
  lastHash_ = std::move(hash);
  lastEvent_ = event;
  ++nextSeq_;
}

bool AuditLog::writeLocked(const std::string& line, uint64_t records) {
  // One write for the records, under the lock; a short write is cut off again so that no torn
  // line is left for the next writer.
  const auto began = std::chrono::steady_clock::now();
  ssize_t written = ::write(fd_, line.data(), line.size());
  if (observer_ != nullptr) {
    observer_->onAuditWrite(
        records, std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
        written == static_cast<ssize_t>(line.size()));
  }
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
    if (regular_) (void)ftruncate(fd_, static_cast<off_t>(knownBytes_));
    return fail("cannot write a record: " + reason);
  }
  if (regular_) knownBytes_ += line.size();
  written_ += records;
  return true;
}

bool AuditLog::defer(std::string_view event, nlohmann::json fields) {
  if (failure_) return false;
  pending_.emplace_back(std::string(event), std::move(fields));
  if (pending_.size() >= kMaxDeferred) return flush();
  return true;
}

bool AuditLog::flush() {
  if (failure_) return false;
  if (pending_.empty()) return true;
  if (!lockLive()) return false;
  line_.clear();
  const uint64_t held = renderPendingLocked(line_);
  bool ok = writeLocked(line_, held);
  if (ok && regular_ && options_.rotateAtBytes != 0 && knownBytes_ >= options_.rotateAtBytes)
    ok = rotateLocked();
  unlock();
  return ok;
}

bool AuditLog::record(std::string_view event, const nlohmann::json& fields) {
  if (failure_) return false;
  if (!lockLive()) return false;
  bool ok = appendLocked(event, fields);
  if (ok && regular_ && options_.rotateAtBytes != 0 && knownBytes_ >= options_.rotateAtBytes)
    ok = rotateLocked();
  unlock();
  return ok;
}

bool AuditLog::rotate() {
  if (!lockLive()) return false;
  bool ok = regular_ ? rotateLocked() : fail("only a regular file can be rotated");
  unlock();
  return ok;
}

// Closing record first, in the file being closed: a writer that finds it there knows to move on.
bool AuditLog::rotateLocked() {
  nlohmann::json closing = {{"segment", liveSegment_},
                            {"file", fileName(auditSegmentPath(path_, liveSegment_))}};
  return appendLocked(kRotated, closing) && completeRotationLocked();
}

bool AuditLog::moveOnLocked() {
  struct stat mine {};
  struct stat live {};
  if (fstat(fd_, &mine) != 0) return fail("cannot stat it: " + osReason());
  if (stat(path_.c_str(), &live) == 0 && sameFile(mine, live)) return completeRotationLocked();
  // The file that continues this one: the live file, unless that has been rotated on too; then
  // segment N+1 is already in place (it is linked before its successor replaces the live path).
  int next = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (next < 0) return fail("cannot open the segment after rotation: " + osReason());
  int closedNext = ::open(auditSegmentPath(path_, liveSegment_ + 1).c_str(), O_RDONLY | O_CLOEXEC);
  if (closedNext >= 0) {
    close(next);
    next = closedNext;
  }
  if (!lockFile(next)) {
    close(next);
    return fail("cannot lock it: " + osReason());
  }
  close(fd_);  // releases its lock
  fd_ = next;
  knownBytes_ = 0;
  ++liveSegment_;
  return true;  // the caller catches up with it: its first record must continue this chain
}

// The live path still names this file, which ends with audit.rotated: keep it under its segment
// name, and put a new live file in its place that begins where the chain stands. The new file is
// complete before it appears, so a writer opening the log sees one or the other, never an empty
// file that would start a new chain.
bool AuditLog::completeRotationLocked() {
  const std::string segment = auditSegmentPath(path_, liveSegment_);
  struct stat mine {};
  if (fstat(fd_, &mine) != 0) return fail("cannot stat it: " + osReason());
  const std::string self = "/proc/self/fd/" + std::to_string(fd_);
  if (linkat(AT_FDCWD, self.c_str(), AT_FDCWD, segment.c_str(), AT_SYMLINK_FOLLOW) != 0 &&
      (errno != ENOENT || link(path_.c_str(), segment.c_str()) != 0)) {
    struct stat existing {};
    if (errno != EEXIST || stat(segment.c_str(), &existing) != 0 || !sameFile(existing, mine))
      return fail("cannot keep it as segment " + segment + ": " + osReason());
  }
  const std::string temporary = path_ + ".rotating." + std::to_string(getpid());
  int next = ::open(temporary.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
                    mine.st_mode & 0777);
  if (next < 0) return fail("cannot create its next segment: " + osReason());
  if (!lockFile(next)) {
    close(next);
    unlink(temporary.c_str());
    return fail("cannot lock its next segment: " + osReason());
  }
  const int closed = fd_;
  const uint64_t closedBytes = knownBytes_;
  fd_ = next;
  knownBytes_ = 0;
  ++liveSegment_;
  nlohmann::json opening = {{"segment", liveSegment_}, {"continues", fileName(segment)}};
  // A segment begins with audit.segment: held-back records follow it, never precede it.
  if (!appendLocked(kSegmentStart, opening, /*heldBackFirst=*/false) ||
      rename(temporary.c_str(), path_.c_str()) != 0) {
    const std::string reason = failure_ ? "" : osReason();
    unlink(temporary.c_str());
    close(next);
    fd_ = closed;
    knownBytes_ = closedBytes;
    --liveSegment_;
    return failure_ ? false : fail("cannot put its next segment in place: " + reason);
  }
  close(closed);  // releases its lock; writers waiting on it find audit.rotated and follow
  writeCheckpointLocked();
  return true;
}

void AuditLog::writeCheckpoint() {
  if (!flush() || !lockLive()) return;
  if (regular_) writeCheckpointLocked();
  unlock();
}

// Best effort: a missing or stale checkpoint only means the next open reads more of the log.
void AuditLog::writeCheckpointLocked() {
  const std::string target = auditCheckpointPath(path_);
  const std::string temporary = target + ".tmp." + std::to_string(getpid());
  const std::string text = jsonText({{"records", nextSeq_},
                                     {"hash", lastHash_},
                                     {"bytes", knownBytes_},
                                     {"segment", liveSegment_}}) +
                           "\n";
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
  if (!log.value()->record("audit.recovered", fields)) return *log.value()->failure();
  return recovery;
}

}  // namespace cordon
