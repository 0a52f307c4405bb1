#include "cli/runs_commands.h"

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/untrusted_text.h"
#include "journal/journal_reader.h"
#include "journal/run_journal.h"

namespace cordon {
namespace {

std::string field(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return "-";
  return found->is_string() ? found->get<std::string>() : jsonText(*found);
}

// At most `width` characters of the value, made safe for the terminal, padded.
std::string cell(const std::string& value, size_t width) {
  std::string shown = forTerminal(value, 4096);
  if (shown.size() > width) shown.replace(width - 1, std::string::npos, "~");
  return shown + std::string(width - shown.size() + 1, ' ');
}

Outcome<std::unique_ptr<SqliteDb>> openForReading(const TrustOptions& options) {
  const std::string path = journalPathIn(options);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return makeError(ErrorCategory::kBadInput,
                     path +
                         ": no journal here yet (cordon run writes it; --state-dir names "
                         "another state directory)");
  }
  return openJournal(path, /*readOnly=*/true);
}

}  // namespace

std::string journalPathIn(const TrustOptions& options) {
  return (std::filesystem::path(options.stateDir) / "journal.sqlite").string();
}

int runsListCommand(const TrustOptions& options, size_t limit, bool json) {
  auto db = openForReading(options);
  if (!db.ok()) {
    printError(db.error());
    return kExitBadInput;
  }
  auto runs = journalRuns(*db.value(), limit);
  if (!runs.ok()) {
    printError(runs.error());
    return kExitBadInput;
  }
  if (json) {
    std::printf("%s\n", jsonText(runs.value(), 2).c_str());
    return kExitOk;
  }
  std::printf("%s%s%s%s%s%s\n", cell("RUN", 16).c_str(), cell("WORKFLOW", 20).c_str(),
              cell("STATE", 10).c_str(), cell("STARTED", 27).c_str(), cell("STEPS", 5).c_str(),
              "ERROR");
  for (const auto& run : runs.value()) {
    std::string error = field(run, "error_category");
    if (error != "-" && field(run, "error_step") != "-")
      error += " (step " + field(run, "error_step") + ")";
    std::printf("%s%s%s%s%s%s\n", cell(field(run, "id"), 16).c_str(),
                cell(field(run, "workflow"), 20).c_str(), cell(field(run, "state"), 10).c_str(),
                cell(field(run, "started_at"), 27).c_str(), cell(field(run, "steps"), 5).c_str(),
                forTerminal(error).c_str());
  }
  return kExitOk;
}

int runsShowCommand(const TrustOptions& options, const std::string& runId, bool json) {
  auto db = openForReading(options);
  if (!db.ok()) {
    printError(db.error());
    return kExitBadInput;
  }
  auto shown = journalRun(*db.value(), runId);
  if (!shown.ok()) {
    printError(shown.error());
    return kExitBadInput;
  }
  const nlohmann::json& run = shown.value();
  if (json) {
    std::printf("%s\n", jsonText(run, 2).c_str());
    return kExitOk;
  }
  const nlohmann::json& head = run["run"];
  std::printf("run %s: '%s' %s\n", forTerminal(field(head, "id")).c_str(),
              forTerminal(field(head, "workflow")).c_str(),
              forTerminal(field(head, "state")).c_str());
  std::printf("  started   %s\n  ended     %s\n", forTerminal(field(head, "started_at")).c_str(),
              forTerminal(field(head, "ended_at")).c_str());
  std::printf("  workflow  %s (%s)\n  policy    %s (%s)\n",
              forTerminal(field(head, "workflow_path")).c_str(),
              forTerminal(field(head, "workflow_digest")).c_str(),
              forTerminal(field(head, "policy_path")).c_str(),
              forTerminal(field(head, "policy_digest")).c_str());
  if (field(head, "error_category") != "-") {
    std::printf("  error     %s: %s\n", forTerminal(field(head, "error_category")).c_str(),
                forTerminal(field(head, "error_message")).c_str());
  }
  std::printf("\n%s%s%s%s%s\n", cell("STEP", 20).c_str(), cell("PLUGIN", 16).c_str(),
              cell("STATE", 10).c_str(), cell("MS", 10).c_str(), "ERROR");
  for (const auto& step : run["steps"]) {
    std::string error = field(step, "error_category");
    if (error != "-")
      error += ": " + field(step, "error_message");
    else if (field(step, "state") == "skipped")
      error = field(step, "error_message");
    std::string ms = field(step, "milliseconds");
    if (step["milliseconds"].is_number()) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", step["milliseconds"].get<double>());
      ms = text;
    }
    std::printf("%s%s%s%s%s\n", cell(field(step, "name"), 20).c_str(),
                cell(field(step, "plugin"), 16).c_str(), cell(field(step, "state"), 10).c_str(),
                cell(ms, 10).c_str(), forTerminal(error).c_str());
  }
  std::printf("\nplugins\n");
  for (const auto& plugin : run["plugins"])
    std::printf("  %s %s\n", cell(field(plugin, "plugin"), 16).c_str(),
                forTerminal(field(plugin, "digest")).c_str());
  std::printf("\noutputs\n");
  for (const auto& artifact : run["artifacts"])
    std::printf("  %s %s bytes %s\n",
                cell(field(artifact, "step") + "." + field(artifact, "name"), 24).c_str(),
                forTerminal(field(artifact, "bytes")).c_str(),
                forTerminal(field(artifact, "digest")).c_str());
  return kExitOk;
}

}  // namespace cordon
