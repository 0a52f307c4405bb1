// The audit log's hash chain: it verifies as written and any edit, deletion or reordering is
// caught, with the line that broke it.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "audit/audit_log.h"
#include "core/untrusted_text.h"
#include "test_support.h"

using namespace cordon;

namespace {

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  return all;
}

void rewrite(const std::string& path, const std::vector<std::string>& all) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : all) out << line << "\n";
}

std::string writeThreeRecords(const test::TempDir& dir) {
  std::string path = dir.path("audit.jsonl");
  auto log = AuditLog::open(path);
  REQUIRE(log.ok());
  log.value()->record("one", {{"n", 1}});
  log.value()->record("two", {{"n", 2}});
  log.value()->record("three", {{"n", 3}});
  return path;
}

// `writers` processes append `records` records each to `path` at once; all must succeed.
void appendConcurrently(const std::string& path, AuditLogOptions options, int writers,
                        int records) {
  std::vector<pid_t> children;
  for (int w = 0; w < writers; ++w) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto log = AuditLog::open(path, options);
      bool ok = log.ok();
      for (int i = 0; ok && i < records; ++i) ok = log.value()->record("w", {{"w", w}, {"i", i}});
      if (!ok) {
        const std::string why = log.ok() ? log.value()->failure()->message : log.error().message;
        std::fprintf(stderr, "writer %d: %s\n", w, why.c_str());
      }
      _exit(ok ? 0 : 1);  // never back into doctest
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
}

}  // namespace

TEST_CASE("an audit log verifies and continues its chain when reopened") {
  test::TempDir dir;
  std::string path = writeThreeRecords(dir);
  auto verified = verifyAuditLog(path);
  REQUIRE(verified.ok());
  CHECK(verified.value().records == 3);

  auto reopened = AuditLog::open(path);
  REQUIRE(reopened.ok());
  reopened.value()->record("four", {{"n", 4}});
  reopened.value().reset();
  auto again = verifyAuditLog(path);
  REQUIRE(again.ok());
  CHECK(again.value().records == 4);
  auto records = test::readAudit(path);
  CHECK(records[3]["seq"] == 3);
  CHECK(records[3]["prev"] == records[2]["hash"]);
}

TEST_CASE("tampering with an audit log is detected at the line it happened") {
  test::TempDir dir;
  std::string path = writeThreeRecords(dir);
  auto all = lines(path);

  SUBCASE("an edited field") {
    auto pos = all[1].find("\"n\":2");
    REQUIRE(pos != std::string::npos);
    all[1].replace(pos, 5, "\"n\":7");
    rewrite(path, all);
    auto result = verifyAuditLog(path);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.find(":2:") != std::string::npos);
    CHECK(result.error().message.find("altered") != std::string::npos);
  }
  SUBCASE("a deleted record") {
    all.erase(all.begin() + 1);
    rewrite(path, all);
    auto result = verifyAuditLog(path);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.find(":2:") != std::string::npos);
  }
  SUBCASE("reordered records") {
    std::swap(all[1], all[2]);
    rewrite(path, all);
    CHECK_FALSE(verifyAuditLog(path).ok());
  }
  SUBCASE("a line that is not JSON") {
    all.emplace_back("{not json");
    rewrite(path, all);
    auto result = verifyAuditLog(path);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().message.find(":4:") != std::string::npos);
  }
  SUBCASE("a broken log is never extended") {
    all.erase(all.begin());
    rewrite(path, all);
    CHECK_FALSE(AuditLog::open(path).ok());
  }
}

TEST_CASE("eight processes appending to one audit log at once leave one chain that verifies") {
  test::TempDir dir;
  const std::string path = dir.path("audit.jsonl");
  constexpr int kWriters = 8;
  constexpr int kRecords = 150;
  appendConcurrently(path, {}, kWriters, kRecords);
  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  CHECK(verified.value().records == kWriters * kRecords);
  // And the log goes on from there.
  auto log = AuditLog::open(path);
  REQUIRE(log.ok());
  CHECK(log.value()->record("after", {}));
}

TEST_CASE("a torn final record is reported as such, refused, and recovered with a record") {
  test::TempDir dir;
  std::string path = writeThreeRecords(dir);
  {
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out << "{\"seq\":3,\"event\":\"cut sh";  // a crash mid-write: no newline
  }
  auto scan = scanAuditLog(path);
  REQUIRE(scan.ok());
  CHECK(scan.value().defect == AuditDefect::kTruncatedTail);
  CHECK(scan.value().records == 3);
  CHECK(scan.value().problem.find(":4: the final record is cut short") != std::string::npos);
  CHECK_FALSE(AuditLog::open(path).ok());

  auto recovered = recoverAuditLog(path);
  REQUIRE(recovered.ok());
  CHECK(recovered.value().droppedBytes == 24);
  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  CHECK(verified.value().records == 4);
  auto last = nlohmann::json::parse(lines(path).back());
  CHECK(last["event"] == "audit.recovered");
  CHECK(last["dropped_bytes"] == 24);
  CHECK(last["dropped_start"] == "{\"seq\":3,\"event\":\"cut sh");
}

TEST_CASE("recovery never hides tampering") {
  test::TempDir dir;
  std::string path = writeThreeRecords(dir);
  auto all = lines(path);
  all[1].replace(all[1].find("\"two\""), 5, "\"TWO\"");
  rewrite(path, all);
  CHECK_FALSE(recoverAuditLog(path).ok());
  CHECK(scanAuditLog(path).value().defect == AuditDefect::kTampered);
}

TEST_CASE("cutting whole records off the end is caught by the checkpoint kept beside the log") {
  test::TempDir dir;
  std::string path = writeThreeRecords(dir);  // closed: the checkpoint is written
  REQUIRE(std::filesystem::exists(auditCheckpointPath(path)));
  auto all = lines(path);
  all.pop_back();
  rewrite(path, all);  // a chain that verifies on its own
  auto scan = scanAuditLog(path);
  REQUIRE(scan.ok());
  CHECK(scan.value().defect == AuditDefect::kTruncated);
  CHECK_FALSE(verifyAuditLog(path).ok());
  CHECK_FALSE(AuditLog::open(path).ok());
}

TEST_CASE("a log reopened from its checkpoint continues the same chain") {
  test::TempDir dir;
  std::string path = writeThreeRecords(dir);
  for (int round = 0; round < 3; ++round) {
    auto log = AuditLog::open(path);
    REQUIRE(log.ok());
    CHECK(log.value()->record("again", {{"round", round}}));
  }
  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  CHECK(verified.value().records == 6);
}

TEST_CASE("a write that fails leaves the log failed, with the reason, and never aborts") {
  auto log = AuditLog::open("/dev/full");
  REQUIRE(log.ok());
  CHECK_FALSE(log.value()->record("one", {}));
  REQUIRE(log.value()->failure().has_value());
  CHECK(log.value()->failure()->message.find("No space left on device") != std::string::npos);
  CHECK_FALSE(log.value()->record("two", {}));  // failed for good
}

TEST_CASE("a held-back record waits for the flush and precedes every record after it") {
  test::TempDir dir;
  std::string path = dir.path("audit.jsonl");
  {
    auto log = AuditLog::open(path);
    REQUIRE(log.ok());
    CHECK(log.value()->defer("a", {{"n", 1}}));
    CHECK(log.value()->defer("b", {{"n", 2}}));
    CHECK(lines(path).empty());                   // held back
    CHECK(log.value()->record("c", {{"n", 3}}));  // goes out behind them, in one write
    CHECK(lines(path).size() == 3);
    CHECK(log.value()->defer("d", {}));
    CHECK(log.value()->flush());
    CHECK(lines(path).size() == 4);
    CHECK(log.value()->flush());  // nothing held: nothing written
    CHECK(log.value()->defer("e", {}));
    CHECK(log.value()->recordsWritten() == 4);
  }  // closing flushes
  auto all = lines(path);
  REQUIRE(all.size() == 5);
  const char* order[] = {"a", "b", "c", "d", "e"};
  for (size_t i = 0; i < 5; ++i) {
    auto record = nlohmann::json::parse(all[i]);
    CHECK(record["event"] == order[i]);
    CHECK(record["seq"] == i);
  }
  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
}

TEST_CASE(
    "held-back records flush by themselves at the cap, and rotation keeps each segment whole") {
  test::TempDir dir;
  std::string path = dir.path("audit.jsonl");
  {
    auto log = AuditLog::open(path, {2048});
    REQUIRE(log.ok());
    for (size_t i = 0; i + 1 < AuditLog::kMaxDeferred; ++i) REQUIRE(log.value()->defer("r", {}));
    CHECK(lines(path).empty());
    REQUIRE(log.value()->defer("r", {}));  // the cap: written now
    CHECK(log.value()->recordsWritten() >= AuditLog::kMaxDeferred);
    for (int i = 0; i < 40; ++i) REQUIRE(log.value()->defer("s", {{"i", i}}));
    CHECK(log.value()->flush());
  }
  auto scan = scanAuditLog(path);
  REQUIRE(scan.ok());
  INFO(scan.value().problem);
  CHECK(scan.value().defect == AuditDefect::kNone);
  CHECK(scan.value().segments >= 2);
  CHECK(nlohmann::json::parse(lines(path)[0])["event"] == "audit.segment");
}

TEST_CASE("a flush that cannot write fails the log, as a record that cannot") {
  auto log = AuditLog::open("/dev/full");
  REQUIRE(log.ok());
  CHECK(log.value()->defer("one", {}));  // held: the failure is not known yet
  CHECK_FALSE(log.value()->flush());
  REQUIRE(log.value()->failure().has_value());
  CHECK_FALSE(log.value()->defer("two", {}));  // failed for good
  CHECK_FALSE(log.value()->flush());
}

TEST_CASE("records with bytes that are not UTF-8 are written, hashed and verified") {
  test::TempDir dir;
  std::string path = dir.path("audit.jsonl");
  {
    auto log = AuditLog::open(path);
    REQUIRE(log.ok());
    nlohmann::json fields;
    setUntrusted(fields, "text", "bad \xff\xfe bytes");
    CHECK(log.value()->record("untrusted", fields));
    // Raw bytes put in directly are replaced rather than thrown on.
    CHECK(log.value()->record("raw", {{"text", std::string("\xc0\xaf")}}));
  }
  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  auto first = nlohmann::json::parse(lines(path)[0]);
  CHECK(first["text_hex"] == "62616420fffe206279746573");
}

TEST_CASE("a record is the log's fields merged with the caller's, in key order, hashed once") {
  test::TempDir dir;
  std::string path = dir.path("audit.jsonl");
  {
    auto log = AuditLog::open(path);
    REQUIRE(log.ok());
    // Keys before, between and after the ones the log sets; the log's own win over the caller's.
    CHECK(log.value()->record("merged", {{"a", 1},
                                         {"event", "forged"},
                                         {"hash", "forged"},
                                         {"method", "m"},
                                         {"prev", "forged"},
                                         {"run", "r-1"},
                                         {"seq", 99},
                                         {"step", "s"},
                                         {"ts", "forged"},
                                         {"zz", {{"nested", 1.5}}}}));
    CHECK(log.value()->record("empty", nlohmann::json::object()));
    CHECK(log.value()->record("not an object", nlohmann::json::array({1, 2})));
    CHECK(log.value()->record("run not text", {{"run", 7}}));
  }
  auto verified = verifyAuditLog(path);  // recomputes each hash from the parsed record
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  const auto all = lines(path);
  REQUIRE(all.size() == 4);
  for (const std::string& line : all) CHECK(jsonText(nlohmann::json::parse(line)) == line);
  auto merged = nlohmann::json::parse(all[0]);
  CHECK(merged["event"] == "merged");
  CHECK(merged["seq"] == 0);
  CHECK(merged["prev"] == std::string(64, '0'));
  CHECK(merged["run"] == "r-1");
  CHECK(merged["ts"] != "forged");
  CHECK(merged["zz"]["nested"] == 1.5);
  CHECK(nlohmann::json::parse(all[1]).size() == 6);  // ts, run, event, seq, prev, hash
  CHECK(nlohmann::json::parse(all[2])["event"] == "not an object");
  CHECK(nlohmann::json::parse(all[3])["run"] == "");
}

namespace {

// A log rotated by size into several segments: `records` appended, segments of ~1 KiB.
std::string rotatedLog(const test::TempDir& dir, int records) {
  std::string path = dir.path("rotated.jsonl");
  auto log = AuditLog::open(path, {1024});
  REQUIRE(log.ok());
  for (int i = 0; i < records; ++i) REQUIRE(log.value()->record("r", {{"i", i}}));
  return path;
}

uint64_t segmentsOnDisk(const std::string& path) {
  uint64_t n = 0;
  while (std::filesystem::exists(auditSegmentPath(path, n + 1))) ++n;
  return n;
}

AuditScan scanned(const std::string& path) {
  auto scan = scanAuditLog(path);
  REQUIRE_MESSAGE(scan.ok(), (scan.ok() ? "" : scan.error().message));
  return scan.value();
}

}  // namespace

TEST_CASE("a rotated log is one chain through numbered segments") {
  test::TempDir dir;
  const std::string path = rotatedLog(dir, 60);
  const uint64_t closed = segmentsOnDisk(path);
  REQUIRE(closed >= 3);
  AuditScan scan = scanned(path);
  INFO(scan.problem);
  CHECK(scan.defect == AuditDefect::kNone);
  CHECK(scan.segments == closed + 1);
  CHECK(scan.records == 60 + 2 * closed);  // each rotation adds audit.rotated and audit.segment
  // Each closed segment ends with audit.rotated; the next file begins with audit.segment.
  for (uint64_t n = 1; n <= closed; ++n) {
    auto segment = lines(auditSegmentPath(path, n));
    auto last = nlohmann::json::parse(segment.back());
    CHECK(last["event"] == "audit.rotated");
    CHECK(last["segment"] == n);
    auto next = nlohmann::json::parse(lines(n == closed ? path : auditSegmentPath(path, n + 1))[0]);
    CHECK(next["event"] == "audit.segment");
    CHECK(next["prev"] == last["hash"]);
    CHECK(next["seq"] == last["seq"].get<uint64_t>() + 1);
  }
  // Reopened, it goes on in the live file.
  auto log = AuditLog::open(path);
  REQUIRE(log.ok());
  CHECK(log.value()->liveSegment() == closed + 1);
  CHECK(log.value()->record("after", {}));
  CHECK(verifyAuditLog(path).ok());
}

TEST_CASE("removing, cutting, editing or renumbering a closed segment is tampering") {
  test::TempDir dir;
  const std::string path = rotatedLog(dir, 60);
  REQUIRE(segmentsOnDisk(path) >= 3);
  const std::string first = auditSegmentPath(path, 1);
  const std::string second = auditSegmentPath(path, 2);

  SUBCASE("the oldest segment removed") {
    std::filesystem::remove(first);
    AuditScan scan = scanned(path);
    CHECK(scan.defect == AuditDefect::kTampered);
    CHECK(scan.problem.find("segment 1 is missing") != std::string::npos);
  }
  SUBCASE("a middle segment removed") {
    std::filesystem::remove(second);
    AuditScan scan = scanned(path);
    CHECK(scan.defect == AuditDefect::kTampered);
    CHECK(scan.problem.find("segment 2 is missing") != std::string::npos);
  }
  SUBCASE("every closed segment removed: the live file says it continues one") {
    for (uint64_t n = segmentsOnDisk(path); n > 0; --n)
      std::filesystem::remove(auditSegmentPath(path, n));
    AuditScan scan = scanned(path);
    CHECK(scan.defect == AuditDefect::kTampered);
    CHECK(scan.problem.find("earlier segments are missing") != std::string::npos);
  }
  SUBCASE("whole records cut off a closed segment's end") {
    auto all = lines(first);
    all.pop_back();  // audit.rotated
    rewrite(first, all);
    AuditScan scan = scanned(path);
    CHECK(scan.defect == AuditDefect::kTampered);
    CHECK(scan.problem.find(first) != std::string::npos);
  }
  SUBCASE("a record edited in a closed segment, named by its file and line") {
    auto all = lines(second);
    all[1].replace(all[1].find("\"i\":"), 4, "\"i\":9");
    rewrite(second, all);
    AuditScan scan = scanned(path);
    CHECK(scan.defect == AuditDefect::kTampered);
    CHECK(scan.problem.find(second + ":2: field 'hash' does not match") != std::string::npos);
  }
  SUBCASE("two segments swapped") {
    std::filesystem::rename(first, dir.path("swap"));
    std::filesystem::rename(second, first);
    std::filesystem::rename(dir.path("swap"), second);
    CHECK(scanned(path).defect == AuditDefect::kTampered);
  }
  SUBCASE("a torn line at a closed segment's end is not a crash mid-write: it is tampering") {
    std::ofstream(first, std::ios::app) << "{\"seq\":";
    CHECK(scanned(path).defect == AuditDefect::kTampered);
    CHECK_FALSE(recoverAuditLog(path).ok());
  }
}

TEST_CASE("a writer whose log was rotated under it follows into the new live file") {
  test::TempDir dir;
  const std::string path = dir.path("audit.jsonl");
  auto early = AuditLog::open(path);
  REQUIRE(early.ok());
  REQUIRE(early.value()->record("early", {}));
  {
    auto rotator = AuditLog::open(path);
    REQUIRE(rotator.ok());
    REQUIRE(rotator.value()->rotate());
    REQUIRE(rotator.value()->record("rotator", {}));
  }
  // `early` still holds the closed file open; its next record must not land there.
  REQUIRE(early.value()->record("late", {}));
  CHECK(early.value()->liveSegment() == 2);
  auto closed = lines(auditSegmentPath(path, 1));
  CHECK(nlohmann::json::parse(closed.back())["event"] == "audit.rotated");
  auto live = lines(path);
  REQUIRE(live.size() == 3);
  CHECK(nlohmann::json::parse(live[2])["event"] == "late");
  CHECK(scanned(path).defect == AuditDefect::kNone);
}

TEST_CASE("a rotation cut short after audit.rotated is finished by the next writer") {
  test::TempDir dir;
  const std::string path = dir.path("audit.jsonl");
  // What a writer that died right after its closing record leaves: audit.rotated at the end,
  // no segment file, no new live file (a child that exits before its log is closed).
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto log = AuditLog::open(path);
    bool ok =
        log.ok() && log.value()->record("before", {}) &&
        log.value()->record("audit.rotated", {{"segment", 1}, {"file", "audit.jsonl.000001"}});
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  REQUIRE_FALSE(std::filesystem::exists(auditSegmentPath(path, 1)));
  auto log = AuditLog::open(path);
  REQUIRE(log.ok());
  CHECK(log.value()->liveSegment() == 2);
  REQUIRE(log.value()->record("after", {}));
  CHECK(std::filesystem::exists(auditSegmentPath(path, 1)));
  AuditScan scan = scanned(path);
  INFO(scan.problem);
  CHECK(scan.defect == AuditDefect::kNone);
  CHECK(scan.segments == 2);
  CHECK(scan.records == 4);
}

TEST_CASE("eight processes appending while the log rotates under them leave one chain") {
  test::TempDir dir;
  const std::string path = dir.path("audit.jsonl");
  constexpr int kWriters = 8;
  constexpr int kRecords = 100;
  appendConcurrently(path, {4096}, kWriters, kRecords);
  AuditScan scan = scanned(path);
  INFO(scan.problem);
  CHECK(scan.defect == AuditDefect::kNone);
  const uint64_t closed = segmentsOnDisk(path);
  CHECK(closed >= 10);
  CHECK(scan.segments == closed + 1);
  CHECK(scan.records == uint64_t{kWriters} * kRecords + 2 * closed);
  CHECK_FALSE(std::filesystem::exists(path + ".rotating." + std::to_string(getpid())));
}

namespace {

// Whether another open file description of `path` could take the log's lock right now.
bool lockIsFree(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);  // lets it go again
  return free;
}

}  // namespace

TEST_CASE("a writer that keeps its lock between writes holds it until released, then catches up") {
  test::TempDir dir;
  const std::string path = dir.path("audit.jsonl");
  auto mine = AuditLog::open(path);
  auto other = AuditLog::open(path);
  REQUIRE(mine.ok());
  REQUIRE(other.ok());
  AuditLog& log = *mine.value();
  log.keepLockBetweenWrites(true);
  CHECK_FALSE(log.holdsLock());  // taken by the first append, not before
  CHECK(lockIsFree(path));

  REQUIRE(log.record("a1", {}));
  CHECK(log.holdsLock());
  CHECK_FALSE(lockIsFree(path));  // no other writer can append between this one's records
  REQUIRE(log.defer("a2", {}));
  REQUIRE(log.flush());
  CHECK_FALSE(lockIsFree(path));

  log.releaseLock();  // a quiet point
  CHECK_FALSE(log.holdsLock());
  CHECK(lockIsFree(path));
  REQUIRE(other.value()->record("b1", {}));  // another writer appends meanwhile
  REQUIRE(log.record("a3", {}));             // ... and this one continues after it
  CHECK(log.holdsLock());

  log.keepLockBetweenWrites(false);  // the run ends: the lock goes with the lease
  CHECK(lockIsFree(path));
  REQUIRE(log.record("a4", {}));
  CHECK(lockIsFree(path));  // without a lease, each append lets go at once

  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  CHECK(verified.value().records == 5);
  const std::vector<std::string> all = lines(path);
  const char* order[] = {"a1", "a2", "b1", "a3", "a4"};
  REQUIRE(all.size() == 5);
  for (size_t i = 0; i < all.size(); ++i) CHECK(nlohmann::json::parse(all[i])["event"] == order[i]);
}

TEST_CASE("a log that fails lets its lock go, lease or not, and a rotation keeps the lease") {
  SUBCASE("a failed write") {
    auto log = AuditLog::open("/dev/full");
    REQUIRE(log.ok());
    log.value()->keepLockBetweenWrites(true);
    CHECK_FALSE(log.value()->record("one", {}));
    CHECK_FALSE(log.value()->holdsLock());
  }
  SUBCASE("a rotation under a lease") {
    test::TempDir dir;
    const std::string path = dir.path("audit.jsonl");
    {
      auto log = AuditLog::open(path, {1024});
      REQUIRE(log.ok());
      log.value()->keepLockBetweenWrites(true);
      for (int i = 0; i < 20; ++i) REQUIRE(log.value()->record("r", {{"i", i}}));
      CHECK(log.value()->liveSegment() > 1);
      CHECK(log.value()->holdsLock());
      CHECK_FALSE(lockIsFree(path));  // the new live file's lock, held as the old one's was
      CHECK(lockIsFree(auditSegmentPath(path, 1)));
    }
    CHECK(lockIsFree(path));  // closing the log lets it go
    auto scan = scanAuditLog(path);
    REQUIRE(scan.ok());
    INFO(scan.value().problem);
    CHECK(scan.value().defect == AuditDefect::kNone);
    CHECK(scan.value().records > 20);
  }
}
