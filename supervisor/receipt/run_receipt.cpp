#include "receipt/run_receipt.h"

#include <chrono>
#include <ctime>

#include "core/untrusted_text.h"
#include "trust/plugin_verifier.h"

namespace cordon {
namespace {

std::string utcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// {"sha256": HEX} of "sha256:HEX", as in-toto writes digests; {} when it is not one.
nlohmann::json digestSet(const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0) return nlohmann::json::object();
  return {{"sha256", digest.substr(7)}};
}

}  // namespace

void ReceiptRecorder::onEvent(const RunEvent& event) {
  std::visit(Overloaded{
                 [this](const RunStarted& e) {
                   started_ = e;
                   startedAt_ = utcNow();
                   // The bytes the run was planned from, as the journal digests them.
                   workflowDigest_ = sha256FileDigest(e.workflowPath);
                   policyDigest_ = sha256FileDigest(e.policyPath);
                 },
                 [this](const InputDigested& e) {
                   inputs_[e.name] = {e.bytes, e.digest};
                 },
                 [this](const ArtifactDigested& e) {
                   stepOutputs_[e.step][e.name] = {e.bytes, e.digest};
                 },
                 [this](const StepFinished& e) {
                   steps_[e.step] = {e.plugin, !e.error      ? "succeeded"
                                               : e.continued ? "continued"
                                                             : "failed"};
                 },
                 [this](const StepSkipped& e) {
                   steps_[e.step] = {e.plugin, "skipped"};
                 },
                 [this](const StepCacheChecked& e) {
                   if (!e.fromRun.empty()) cachedFrom_[e.step] = e.fromRun + "/" + e.fromStep;
                 },
                 [this](const RunFinished& e) {
                   endedAt_ = utcNow();
                   if (e.report == nullptr) return;
                   status_ = e.report->status();
                   if (e.report->error) {
                     nlohmann::json error = {{"category", categoryName(e.report->error->category)},
                                             {"step", e.report->error->step}};
                     setUntrusted(error, "message", e.report->error->message);
                     error_ = std::move(error);
                   }
                 },
                 [](const auto&) {},
             },
             event);
}

nlohmann::json ReceiptRecorder::statement(const std::string& auditLog,
                                          const std::string& runEndHash) const {
  nlohmann::json subjects = nlohmann::json::array();
  for (const auto& [name, source] : workflowOutputs_) {
    const auto dot = source.find('.');
    auto step = stepOutputs_.find(source.substr(0, dot));
    if (step == stepOutputs_.end()) continue;
    auto output = step->second.find(source.substr(dot + 1));
    if (output == step->second.end()) continue;
    subjects.push_back({{"name", name}, {"digest", digestSet(output->second.digest)}});
  }
  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& [name, digest] : started_.pluginDigests) {
    auto signer = signers_.find(name);
    plugins.push_back({{"name", name},
                       {"digest", digest},
                       {"signer_key_id", signer == signers_.end() ? "" : signer->second}});
  }
  nlohmann::json inputs = nlohmann::json::array();
  // A digest that could not be made says why, with a path: text from outside, made safe.
  auto digestEntry = [](const std::string& name, const Digest& digest) {
    nlohmann::json item = {{"name", name}, {"bytes", digest.bytes}};
    setUntrusted(item, "digest", digest.digest);
    return item;
  };
  for (const auto& [name, digest] : inputs_) inputs.push_back(digestEntry(name, digest));
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& [name, entry] : steps_) {
    nlohmann::json outputs = nlohmann::json::array();
    if (auto produced = stepOutputs_.find(name); produced != stepOutputs_.end()) {
      for (const auto& [output, digest] : produced->second)
        outputs.push_back(digestEntry(output, digest));
    }
    nlohmann::json step = {
        {"name", name}, {"plugin", entry.first}, {"status", entry.second}, {"outputs", outputs}};
    if (auto cached = cachedFrom_.find(name); cached != cachedFrom_.end())
      step["cached_from"] = cached->second;
    steps.push_back(std::move(step));
  }
  nlohmann::json predicate = {
      {"run_id", started_.runId},
      {"workflow", {{"name", started_.workflowName}, {"digest", workflowDigest_}}},
      {"policy", {{"digest", policyDigest_}}},
      {"plugins", plugins},
      {"inputs", inputs},
      {"steps", steps},
      {"outcome", {{"status", status_}}},
      {"audit", {{"run_end_hash", runEndHash}}},
      {"started_at", startedAt_},
      {"ended_at", endedAt_},
  };
  setUntrusted(predicate["workflow"], "path", started_.workflowPath);
  setUntrusted(predicate["policy"], "path", started_.policyPath);
  setUntrusted(predicate["audit"], "log", auditLog);
  if (!error_.is_null()) predicate["outcome"]["error"] = error_;
  return {{"_type", kInTotoStatementType},
          {"subject", subjects},
          {"predicateType", kReceiptPredicateType},
          {"predicate", predicate}};
}

}  // namespace cordon
