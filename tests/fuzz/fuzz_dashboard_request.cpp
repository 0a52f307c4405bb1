// libFuzzer: any request line the dashboard can be sent (target, cookie, authorization: the
// input's first three lines), against a journal holding a run whose names are markup. Without
// the token every answer is 401; with it, every JSON answer parses and every reply carries the
// Content-Security-Policy. A throw, a crash or a broken invariant aborts the run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include <unistd.h>

#include "dashboard/dashboard_routes.h"
#include "journal/run_journal.h"

namespace {

constexpr char kToken[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

void require(bool holds) {
  if (!holds) std::abort();
}

std::string journalPath() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("cordon-fuzz-dashboard-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "journal.sqlite").string();
    auto db = cordon::openJournal(file);
    require(db.ok());
    cordon::RunJournal journal(*db.value(), nlohmann::json::object());
    cordon::RunStarted started;
    started.runId = "00aa11bb22cc33dd";
    started.workflowPath = (dir / "w.yaml").string();
    started.workflowName = "<script>w</script>";
    started.policyPath = (dir / "p.yaml").string();
    started.graph = {{"a\"<b>", "mix", {}}, {"c", "mix", {"a\"<b>"}}};
    journal.onEvent(started);
    journal.onEvent(cordon::StepStarted{"a\"<b>", "mix"});
    return file;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::string parts[3];
  size_t at = 0;
  for (std::string& part : parts) {
    const size_t end = bytes.find('\n', at);
    part = bytes.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  static cordon::DashboardRoutes routes(
      cordon::DashboardOptions{journalPath(), cordon::AccessToken(kToken), true});
  const auto refused = routes.answer({"GET", parts[0], parts[1], parts[2], ""});
  const bool offered = parts[0].find(kToken) != std::string::npos ||
                       parts[1].find(kToken) != std::string::npos ||
                       parts[2].find(kToken) != std::string::npos;
  require(refused.has_value());
  if (!offered) require(refused->status == 401);
  // The same request with the token in its cookie: answered, and well-formed.
  const auto reply =
      routes.answer({"GET", parts[0], parts[1] + "; cordon_token=" + kToken, parts[2], ""});
  if (!reply) return 0;  // /metrics or /healthz: the plane's own
  bool policy = false;
  bool json = false;
  for (const auto& [name, value] : reply->headers) {
    if (name == "Content-Security-Policy") policy = value.find("default-src 'none'") == 0;
    if (name == "Content-Type") json = value == "application/json";
  }
  require(policy);
  if (json) {
    require(!nlohmann::json::parse(reply->body, nullptr, false).is_discarded());
  }
  if (reply->nextChunk) {
    for (int i = 0; i < 3; ++i) {
      auto chunk = reply->nextChunk();
      if (!chunk) break;
    }
  }
  return 0;
}
