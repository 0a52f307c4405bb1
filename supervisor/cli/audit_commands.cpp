#include "cli/audit_commands.h"

#include <cstdio>
#include <vector>

#include "audit/audit_reader.h"
#include "audit/ocsf_export.h"
#include "cli/commands.h"
#include "core/untrusted_text.h"

namespace cordon {
namespace {

// Lines that were not records are not silently dropped: they are counted and pointed to.
void warnUnreadable(const AuditReadStats& stats, const std::string& path) {
  if (stats.unreadable == 0) return;
  std::fprintf(stderr,
               "cordon: warning: %llu line(s) of %s are not records (first: %s); cordon audit "
               "verify says why\n",
               static_cast<unsigned long long>(stats.unreadable), forTerminal(path).c_str(),
               forTerminal(stats.firstUnreadable).c_str());
}

std::string joinedList(const nlohmann::json& list) {
  std::string out;
  for (const auto& item : list)
    out +=
        (out.empty() ? "" : ", ") + (item.is_string() ? item.get<std::string>() : jsonText(item));
  return out;
}

void printCounts(const char* label, const nlohmann::json& counts, const nlohmann::json* reasons) {
  if (counts.empty()) {
    std::printf("  %-22s none\n", label);
    return;
  }
  std::string line;
  for (const auto& [name, count] : counts.items()) {
    line += (line.empty() ? "" : ", ") + name + " " + jsonText(count["allowed"]);
    if (count["refused"] != 0) line += " (" + jsonText(count["refused"]) + " refused)";
  }
  std::printf("  %-22s %s\n", label, forTerminal(line).c_str());
  if (reasons == nullptr) return;
  for (const auto& [name, list] : reasons->items()) {
    for (const auto& reason : list)
      std::printf("  %-22s   refused %s: %s\n", "", forTerminal(name).c_str(),
                  forTerminal(reason.get<std::string>()).c_str());
  }
}

void printSummary(const nlohmann::json& summary) {
  std::printf("run %s: '%s' (%s) under %s\n", forTerminal(auditFieldText(summary, "run")).c_str(),
              forTerminal(auditFieldText(summary, "name")).c_str(),
              forTerminal(auditFieldText(summary, "workflow")).c_str(),
              forTerminal(auditFieldText(summary, "policy")).c_str());
  std::printf(
      "  %s to %s: %s%s%s\n", forTerminal(auditFieldText(summary, "started")).c_str(),
      forTerminal(auditFieldText(summary, "ended")).c_str(),
      summary.contains("status") ? forTerminal(auditFieldText(summary, "status")).c_str()
                                 : "no run.end (still running, or refused before it started)",
      summary.contains("error") ? ": " : "", forTerminal(auditFieldText(summary, "error")).c_str());
  for (const auto& plugin : summary["plugins"]) {
    std::printf("\nplugin %s\n", forTerminal(auditFieldText(plugin, "plugin")).c_str());
    for (const auto& check : plugin["verified"]) {
      std::printf("  %-22s %s %s, key %s: %s\n", "signature",
                  forTerminal(auditFieldText(check, "result")).c_str(),
                  forTerminal(auditFieldText(check, "version")).c_str(),
                  forTerminal(auditFieldText(check, "key_id")).c_str(),
                  forTerminal(auditFieldText(check, "reason")).c_str());
    }
    for (const auto& worker : plugin["workers"]) {
      std::string danger = joinedList(worker["danger"]);
      std::printf("  %-22s pid %s, %s, cgroup %s%s%s\n", "worker",
                  forTerminal(auditFieldText(worker, "pid")).c_str(),
                  worker.contains("exit")
                      ? ("ended " + forTerminal(auditFieldText(worker, "exit")) + ", max RSS " +
                         auditFieldText(worker, "max_rss_kib") + " KiB, CPU " +
                         forTerminal(auditFieldText(worker, "cpu_seconds")) + " s")
                            .c_str()
                      : "still running at the log's end",
                  forTerminal(auditFieldText(worker, "cgroup")).c_str(),
                  danger.empty() ? "" : ", DANGER ", forTerminal(danger).c_str());
    }
    printCounts("calls it was made", plugin["calls"], nullptr);
    printCounts("host capabilities", plugin["host"], &plugin["host_refusals"]);
    if (plugin["syscalls"].empty()) std::printf("  %-22s none\n", "syscalls outside policy");
    for (const auto& call : plugin["syscalls"]) {
      std::string target = auditFieldText(call, "path").empty() ? auditFieldText(call, "address")
                                                                : auditFieldText(call, "path");
      std::printf("  %-22s %s%s%s: %s%s%s\n", "syscall outside policy",
                  forTerminal(auditFieldText(call, "syscall")).c_str(), target.empty() ? "" : " ",
                  forTerminal(target).c_str(), forTerminal(auditFieldText(call, "result")).c_str(),
                  auditFieldText(call, "args").empty() ? "" : "; args ",
                  forTerminal(auditFieldText(call, "args")).c_str());
    }
    if (plugin["files"].empty()) std::printf("  %-22s none named\n", "files");
    for (const auto& file : plugin["files"]) {
      std::printf("  %-22s %s (%s): %s\n", "file",
                  forTerminal(auditFieldText(file, "path")).c_str(),
                  forTerminal(auditFieldText(file, "by")).c_str(),
                  forTerminal(auditFieldText(file, "result")).c_str());
    }
    if (plugin["sockets"].empty()) std::printf("  %-22s none attempted\n", "sockets");
    for (const auto& socket : plugin["sockets"]) {
      std::printf("  %-22s %s %s: %s\n", "socket",
                  forTerminal(auditFieldText(socket, "syscall")).c_str(),
                  auditFieldText(socket, "address").empty()
                      ? "(no address)"
                      : forTerminal(auditFieldText(socket, "address")).c_str(),
                  forTerminal(auditFieldText(socket, "result")).c_str());
    }
    for (const auto& fault : plugin["worker_faults"]) {
      std::printf("  %-22s pid %s in step '%s': %s: %s\n", "worker stopped",
                  forTerminal(auditFieldText(fault, "pid")).c_str(),
                  forTerminal(auditFieldText(fault, "step")).c_str(),
                  forTerminal(auditFieldText(fault, "event")).c_str(),
                  forTerminal(auditFieldText(fault, "detail")).c_str());
    }
    for (const auto& step : plugin["steps"]) {
      std::printf("  %-22s %s %s in %s ms%s%s\n", "step",
                  forTerminal(auditFieldText(step, "step")).c_str(),
                  forTerminal(auditFieldText(step, "status")).c_str(),
                  forTerminal(auditFieldText(step, "ms")).c_str(),
                  auditFieldText(step, "error").empty() ? "" : ": ",
                  forTerminal(auditFieldText(step, "error")).c_str());
    }
  }
  std::printf("\ntimeline\n");
  for (const auto& entry : summary["timeline"]) {
    char at[32];
    std::snprintf(at, sizeof at, "+%.3f s", entry["ms"].get<double>() / 1000.0);
    std::string who = auditFieldText(entry, "plugin");
    if (!auditFieldText(entry, "step").empty())
      who += (who.empty() ? "step " : ", step ") + auditFieldText(entry, "step");
    std::printf("  %-11s %-18s %s%s%s\n", at, forTerminal(auditFieldText(entry, "event")).c_str(),
                forTerminal(who).c_str(), who.empty() ? "" : ": ",
                forTerminal(auditFieldText(entry, "what")).c_str());
  }
}

}  // namespace

int auditQueryCommand(const std::string& path, const AuditFilter& filter,
                      const std::string& format) {
  const bool table = format == "table";
  for (const auto& [option, value] :
       {std::pair{"--since", &filter.since}, std::pair{"--until", &filter.until}}) {
    if (value->empty()) continue;
    if (auto checked = AuditFilter::checkTime(option, *value); !checked.ok()) {
      printError(checked.error());
      return kExitBadInput;
    }
  }
  if (table) {
    std::printf("%s%s%s%s%s%s%s\n", terminalCell("seq", 6).c_str(), terminalCell("ts", 27).c_str(),
                terminalCell("run", 16).c_str(), terminalCell("event", 20).c_str(),
                terminalCell("plugin", 16).c_str(), terminalCell("step", 12).c_str(), "what");
  }
  uint64_t matched = 0;
  auto read = forEachAuditRecord(path, [&](const nlohmann::json& record) {
    if (!filter.matches(record)) return;
    ++matched;
    if (!table) {
      std::printf("%s\n", jsonText(format == "ocsf" ? toOcsf(record) : record).c_str());
      return;
    }
    std::printf("%s%s%s%s%s%s%s\n", terminalCell(auditFieldText(record, "seq"), 6).c_str(),
                terminalCell(auditFieldText(record, "ts"), 27).c_str(),
                terminalCell(auditFieldText(record, "run"), 16).c_str(),
                terminalCell(auditFieldText(record, "event"), 20).c_str(),
                terminalCell(auditFieldText(record, "plugin"), 16).c_str(),
                terminalCell(auditFieldText(record, "step"), 12).c_str(),
                forTerminal(recordAccount(record)).c_str());
  });
  if (!read.ok()) {
    printError(read.error());
    return kExitBadInput;
  }
  std::fflush(stdout);  // the count comes after the records it counts
  warnUnreadable(read.value(), path);
  std::fprintf(stderr, "cordon: %llu of %llu record(s) matched\n",
               static_cast<unsigned long long>(matched),
               static_cast<unsigned long long>(read.value().records));
  return kExitOk;
}

int auditSummaryCommand(const std::string& path, const std::string& runId,
                        const std::string& plugin, bool json) {
  std::vector<nlohmann::json> records;
  AuditFilter filter;
  filter.run = runId;
  auto read = forEachAuditRecord(path, [&](const nlohmann::json& record) {
    if (filter.matches(record)) records.push_back(record);
  });
  if (!read.ok()) {
    printError(read.error());
    return kExitBadInput;
  }
  warnUnreadable(read.value(), path);
  if (records.empty()) {
    printError(makeError(ErrorCategory::kBadInput, path + ": no record of run '" + runId +
                                                       "' (cordon audit query " + path +
                                                       " --event run.start lists the runs)"));
    return kExitBadInput;
  }
  const nlohmann::json summary = summarizeRun(records, plugin);
  if (json) {
    std::printf("%s\n", jsonText(summary, 2).c_str());
  } else {
    printSummary(summary);
  }
  return kExitOk;
}

}  // namespace cordon
