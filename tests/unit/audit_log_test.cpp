// The audit log's hash chain: it verifies as written and any edit, deletion or reordering is
// caught, with the line that broke it.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "audit/audit_log.h"
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
