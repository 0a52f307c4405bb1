// The audit log's hash chain: it verifies as written and any edit, deletion or reordering is
// caught, with the line that broke it.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

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
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto log = AuditLog::open(path);
      bool ok = log.ok();
      for (int i = 0; ok && i < kRecords; ++i) ok = log.value()->record("w", {{"w", w}, {"i", i}});
      _exit(ok ? 0 : 1);  // never back into doctest
    }
    writers.push_back(pid);
  }
  for (pid_t pid : writers) {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
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
