#include "cli/runs_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "cli/commands.h"
#include "cli/run_lock.h"
#include "core/untrusted_text.h"
#include "journal/journal_gc.h"
#include "journal/journal_reader.h"
#include "journal/run_journal.h"

namespace cordon {
namespace {

std::string field(const nlohmann::json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return "-";
  return found->is_string() ? found->get<std::string>() : jsonText(*found);
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
  std::printf("%s%s%s%s%s%s\n", terminalCell("RUN", 16).c_str(),
              terminalCell("WORKFLOW", 20).c_str(), terminalCell("STATE", 10).c_str(),
              terminalCell("STARTED", 27).c_str(), terminalCell("STEPS", 5).c_str(), "ERROR");
  for (const auto& run : runs.value()) {
    std::string error = field(run, "error_category");
    if (error != "-" && field(run, "error_step") != "-")
      error += " (step " + field(run, "error_step") + ")";
    std::printf("%s%s%s%s%s%s\n", terminalCell(field(run, "id"), 16).c_str(),
                terminalCell(field(run, "workflow"), 20).c_str(),
                terminalCell(field(run, "state"), 10).c_str(),
                terminalCell(field(run, "started_at"), 27).c_str(),
                terminalCell(field(run, "steps"), 5).c_str(), forTerminal(error).c_str());
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
  std::printf("\n%s%s%s%s%s\n", terminalCell("STEP", 20).c_str(),
              terminalCell("PLUGIN", 16).c_str(), terminalCell("STATE", 10).c_str(),
              terminalCell("MS", 10).c_str(), "DETAIL");
  for (const auto& step : run["steps"]) {
    std::string error = field(step, "error_category");
    if (error != "-")
      error += ": " + field(step, "error_message");
    else if (field(step, "state") == "skipped")
      error = field(step, "error_message");
    else if (step.contains("cached_from"))
      error = "cached: the outputs of " + field(step, "cached_from");
    std::string ms = field(step, "milliseconds");
    if (step["milliseconds"].is_number()) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", step["milliseconds"].get<double>());
      ms = text;
    }
    std::printf("%s%s%s%s%s\n", terminalCell(field(step, "name"), 20).c_str(),
                terminalCell(field(step, "plugin"), 16).c_str(),
                terminalCell(field(step, "state"), 10).c_str(), terminalCell(ms, 10).c_str(),
                forTerminal(error).c_str());
  }
  std::printf("\nplugins\n");
  for (const auto& plugin : run["plugins"])
    std::printf("  %s %s\n", terminalCell(field(plugin, "plugin"), 16).c_str(),
                forTerminal(field(plugin, "digest")).c_str());
  std::printf("\noutputs\n");
  for (const auto& artifact : run["artifacts"])
    std::printf("  %s %s bytes %s\n",
                terminalCell(field(artifact, "step") + "." + field(artifact, "name"), 24).c_str(),
                forTerminal(field(artifact, "bytes")).c_str(),
                forTerminal(field(artifact, "digest")).c_str());
  return kExitOk;
}

namespace {

// "30s", "15m", "12h", "7d" as a duration; nullopt for anything else.
std::optional<std::chrono::seconds> parseAge(const std::string& text) {
  static const std::regex kAge("([0-9]{1,9})([smhd])");
  std::smatch match;
  if (!std::regex_match(text, match, kAge)) return std::nullopt;
  const long long count = std::stoll(match[1].str());
  const char unit = match[2].str()[0];
  const long long scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
  return std::chrono::seconds(count * scale);
}

}  // namespace

int runsGcCommand(const TrustOptions& options, const RunsGcOptions& gc) {
  if (!gc.keep && !gc.olderThan) {
    printError(
        makeError(ErrorCategory::kBadInput, "runs gc: give --keep N, --older-than D or both"));
    return kExitBadInput;
  }
  GcChoice choice;
  choice.keep = gc.keep;
  if (gc.olderThan) {
    auto age = parseAge(*gc.olderThan);
    if (!age) {
      printError(makeError(ErrorCategory::kBadInput,
                           "--older-than '" + forTerminal(*gc.olderThan) +
                               "': expected a number and a unit, s, m, h or d (e.g. 7d)"));
      return kExitBadInput;
    }
    choice.startedBefore = journalTime(std::chrono::system_clock::now() - *age);
  }
  const std::string path = journalPathIn(options);
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) {
    printError(makeError(ErrorCategory::kBadInput, path + ": no journal here yet"));
    return kExitBadInput;
  }
  auto opened = openJournal(path);
  if (!opened.ok()) {
    printError(opened.error());
    return kExitBadInput;
  }
  SqliteDb& db = *opened.value();
  auto doomed = runsToRemove(db, choice);
  if (!doomed.ok()) {
    printError(doomed.error());
    return kExitBadInput;
  }
  auto inlineGoing = inlineOutputsLeaving(db, doomed.value());
  if (!inlineGoing.ok()) {
    printError(inlineGoing.error());
    return kExitBadInput;
  }
  if (!gc.dryRun) {
    if (auto failed = removeRuns(db, doomed.value())) {
      printError(*failed);
      return kExitBadInput;
    }
  }
  // A live run may have written a file whose row is not committed yet: its store waits.
  std::string live;
  auto running = runningRuns(db);
  if (!running.ok()) {
    printError(running.error());
    return kExitBadInput;
  }
  for (const std::string& id : running.value()) {
    if (!RunLock::take(options.stateDir, id).ok() && live.empty()) live = id;
  }
  auto referenced = referencedDigests(db, doomed.value());
  if (!referenced.ok()) {
    printError(referenced.error());
    return kExitBadInput;
  }
  namespace fs = std::filesystem;
  const fs::path store =
      gc.store.empty() ? fs::path(options.stateDir) / "artifacts" : fs::path(gc.store);
  uint64_t removedFiles = 0;
  uint64_t removedBytes = 0;
  std::error_code error;
  const bool sweep = live.empty() && fs::is_directory(store, error);
  if (sweep) {
    auto sweepOne = [&](const fs::path& file) {
      std::error_code ignored;
      const uint64_t size = fs::file_size(file, ignored);
      if (!gc.dryRun && !fs::remove(file, ignored)) return;
      ++removedFiles;
      removedBytes += ignored ? 0 : size;
    };
    for (const auto& entry : fs::directory_iterator(store, error)) {
      if (entry.is_regular_file() && entry.path().filename().string().rfind("incoming-", 0) == 0)
        sweepOne(entry.path());  // a write a crash cut short
    }
    for (const auto& entry : fs::directory_iterator(store / "sha256", error)) {
      if (!entry.is_regular_file()) continue;
      if (referenced.value().count("sha256:" + entry.path().filename().string()) == 0)
        sweepOne(entry.path());
    }
  }
  if (gc.json) {
    nlohmann::json removed = nlohmann::json::array();
    for (const std::string& id : doomed.value()) {
      nlohmann::json item;
      setUntrusted(item, "id", id);
      removed.push_back(item["id"]);
    }
    nlohmann::json out = {{"removed_runs", removed},
                          {"removed_files", removedFiles},
                          {"removed_bytes", removedBytes},
                          {"removed_inline_outputs", inlineGoing.value().count},
                          {"removed_inline_bytes", inlineGoing.value().bytes},
                          {"store_swept", sweep},
                          {"dry_run", gc.dryRun}};
    setUntrusted(out, "store", store.string());
    if (!live.empty()) setUntrusted(out, "store_held_by", live);
    std::printf("%s\n", jsonText(out, 2).c_str());
    return kExitOk;
  }
  const char* verb = gc.dryRun ? "would remove" : "removed";
  std::printf("%s %zu run%s from %s\n", verb, doomed.value().size(),
              doomed.value().size() == 1 ? "" : "s", forTerminal(path).c_str());
  if (sweep) {
    std::printf("%s %llu file%s (%llu bytes) no remaining run names from %s\n", verb,
                static_cast<unsigned long long>(removedFiles), removedFiles == 1 ? "" : "s",
                static_cast<unsigned long long>(removedBytes), forTerminal(store.string()).c_str());
  } else if (!live.empty()) {
    std::printf("left %s alone: run %s is still going\n", forTerminal(store.string()).c_str(),
                forTerminal(live).c_str());
  }
  std::printf("%s %llu inline output%s (%llu bytes) no remaining run names from the journal\n",
              verb, static_cast<unsigned long long>(inlineGoing.value().count),
              inlineGoing.value().count == 1 ? "" : "s",
              static_cast<unsigned long long>(inlineGoing.value().bytes));
  return kExitOk;
}

}  // namespace cordon
