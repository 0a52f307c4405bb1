#include "audit/audit_query.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "core/untrusted_text.h"

namespace cordon {
namespace {

uint64_t number(const nlohmann::json& record, const char* key) {
  auto found = record.find(key);
  if (found == record.end() || !found->is_number_integer()) return 0;
  return found->is_number_unsigned() || found->get<int64_t>() >= 0 ? found->get<uint64_t>() : 0;
}

// A duration or a CPU time as a reader wants it: 5.1, not 5.095762000000001.
std::string rounded(const nlohmann::json& record, const char* key, const char* format) {
  auto found = record.find(key);
  if (found == record.end() || !found->is_number()) return auditFieldText(record, key);
  char out[32];
  std::snprintf(out, sizeof out, format, found->get<double>());
  return out;
}

std::string errorText(const nlohmann::json& record) {
  auto error = record.find("error");
  if (error == record.end() || !error->is_object()) return "";
  return auditFieldText(*error, "category") + ": " + auditFieldText(*error, "message");
}

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

std::string auditFieldText(const nlohmann::json& record, const char* key) {
  auto found = record.find(key);
  if (found == record.end() || found->is_null()) return "";
  if (found->is_string()) return found->get<std::string>();
  return jsonText(*found);
}

int64_t auditTimeMicroseconds(const std::string& ts) {
  if (ts.size() != 27 || ts[4] != '-' || ts[7] != '-' || ts[10] != 'T' || ts[13] != ':' ||
      ts[16] != ':' || ts[19] != '.' || ts[26] != 'Z')
    return 0;
  bool ok = true;
  auto digits = [&ts, &ok](size_t at, size_t count) {
    int64_t value = 0;
    for (size_t i = at; i < at + count; ++i) {
      ok = ok && std::isdigit(static_cast<unsigned char>(ts[i])) != 0;
      value = value * 10 + (ts[i] - '0');
    }
    return value;
  };
  const int64_t year = digits(0, 4), month = digits(5, 2), day = digits(8, 2);
  const int64_t seconds = digits(11, 2) * 3600 + digits(14, 2) * 60 + digits(17, 2);
  const int64_t micros = digits(20, 6);
  if (!ok || month < 1 || month > 12 || day < 1 || day > 31) return 0;
  const std::chrono::sys_days date{std::chrono::year{static_cast<int>(year)} /
                                   std::chrono::month{static_cast<unsigned>(month)} /
                                   std::chrono::day{static_cast<unsigned>(day)}};
  return (int64_t{date.time_since_epoch().count()} * 86400 + seconds) * 1000000 + micros;
}

namespace {

const std::set<std::string>& socketSyscalls() {
  static const std::set<std::string> kNames = {"socket",  "socketpair", "connect", "bind",
                                               "listen",  "accept",     "accept4", "sendto",
                                               "sendmsg", "recvfrom",   "recvmsg"};
  return kNames;
}

// The records a timeline keeps: what a reader looking at a run's story needs, not every allow.
bool notable(const std::string& event) {
  return event != "gate.allow" && event != "artifact.digest" && event != "audit.segment" &&
         event != "audit.rotated";
}

// One plugin's account, built record by record.
struct Activity {
  nlohmann::json verified = nlohmann::json::array();
  nlohmann::json workers = nlohmann::json::array();
  std::map<std::string, std::pair<uint64_t, uint64_t>> calls;  // method -> allowed, refused
  std::map<std::string, std::pair<uint64_t, uint64_t>> host;   // capability -> allowed, refused
  std::map<std::string, std::set<std::string>> hostReasons;    // capability -> refusals' reasons
  nlohmann::json syscalls = nlohmann::json::array();  // outside the allowlist: refused or logged
  nlohmann::json files = nlohmann::json::array();
  nlohmann::json sockets = nlohmann::json::array();
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json faults = nlohmann::json::array();
};

void noteTarget(Activity& activity, const nlohmann::json& record, const std::string& syscall,
                const std::string& result) {
  const std::string path = auditFieldText(record, "path");
  const std::string address = auditFieldText(record, "address");
  if (!address.empty() || socketSyscalls().count(syscall) != 0) {
    activity.sockets.push_back({{"syscall", syscall}, {"address", address}, {"result", result}});
  }
  if (!path.empty()) {
    activity.files.push_back({{"path", path}, {"by", syscall}, {"result", result}});
  }
}

nlohmann::json counts(const std::map<std::string, std::pair<uint64_t, uint64_t>>& table) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, count] : table)
    out[name] = {{"allowed", count.first}, {"refused", count.second}};
  return out;
}

}  // namespace

Outcome<Done> AuditFilter::checkTime(const std::string& option, const std::string& value) {
  // A prefix of YYYY-MM-DDTHH:MM:SS.ffffffZ, at least the date.
  static const std::string kShape = "0000-00-00T00:00:00.000000Z";
  bool ok = value.size() >= 10 && value.size() <= kShape.size();
  for (size_t i = 0; ok && i < value.size(); ++i) {
    ok = kShape[i] == '0' ? std::isdigit(static_cast<unsigned char>(value[i])) != 0
                          : value[i] == kShape[i];
  }
  if (ok) return Done{};
  return makeError(ErrorCategory::kBadInput,
                   option + " " + value +
                       ": expected a UTC time as the log writes it, as long as wanted: "
                       "2026-12-03, 2026-12-03T14:05, 2026-12-03T14:05:06.5");
}

bool AuditFilter::matches(const nlohmann::json& record) const {
  if (!run.empty() && auditFieldText(record, "run") != run) return false;
  if (!plugin.empty() && auditFieldText(record, "plugin") != plugin) return false;
  if (!step.empty()) {
    const std::string recorded = auditFieldText(record, "step");
    if (recorded != step && !startsWith(recorded, step + "[")) return false;
  }
  if (!event.empty()) {
    const std::string recorded = auditFieldText(record, "event");
    const bool prefix = event.back() == '*';
    if (prefix ? !startsWith(recorded, event.substr(0, event.size() - 1)) : recorded != event)
      return false;
  }
  const std::string ts = auditFieldText(record, "ts");
  if (!since.empty() && ts.compare(0, since.size(), since) < 0) return false;
  if (!until.empty() && ts.compare(0, until.size(), until) > 0) return false;
  return true;
}

std::string recordAccount(const nlohmann::json& record) {
  const std::string event = auditFieldText(record, "event");
  std::string account;
  auto add = [&account](const std::string& part) {
    if (!part.empty()) account += (account.empty() ? "" : " ") + part;
  };
  if (startsWith(event, "gate.")) {
    add(auditFieldText(record, "direction"));
    add(auditFieldText(record, "method") + (record.contains("reason") ? ":" : ""));
    add(auditFieldText(record, "reason"));
    if (record.contains("path")) add("path " + auditFieldText(record, "path"));
    if (record.contains("address")) add("address " + auditFieldText(record, "address"));
    if (record.contains("not_granted")) add("not granted " + auditFieldText(record, "not_granted"));
    if (event == "gate.deny_suppressed")
      add(auditFieldText(record, "suppressed") + " more denials suppressed");
  } else if (event == "sandbox.violation" || event == "plugin.crash" || event == "plugin.timeout" ||
             event == "resource.limit" || event == "protocol.error" ||
             event == "sandbox.setup_failed" || event == "plugin.rejected") {
    add(auditFieldText(record, "detail"));
    if (record.contains("path")) add("path " + auditFieldText(record, "path"));
    if (record.contains("address")) add("address " + auditFieldText(record, "address"));
  } else if (event == "plugin.verify") {
    add(auditFieldText(record, "result") + ":");
    add(auditFieldText(record, "reason"));
  } else if (event == "plugin.start") {
    add("pid " + auditFieldText(record, "pid"));
    if (record.contains("danger")) add("danger " + auditFieldText(record, "danger"));
  } else if (event == "plugin.stop") {
    add("pid " + auditFieldText(record, "pid") + ", " + auditFieldText(record, "exit"));
  } else if (event == "step.end" || event == "run.end") {
    add(auditFieldText(record, "status"));
    if (record.contains("ms")) add("in " + rounded(record, "ms", "%.1f") + " ms");
    add(errorText(record));
  } else if (event == "run.start") {
    add(auditFieldText(record, "name") + " (" + auditFieldText(record, "workflow") + ") under " +
        auditFieldText(record, "policy"));
  } else {
    for (const char* key : {"reason", "detail", "status", "result", "output"}) {
      if (record.contains(key)) {
        add(auditFieldText(record, key));
        break;
      }
    }
    add(errorText(record));
  }
  return account;
}

nlohmann::json summarizeRun(const std::vector<nlohmann::json>& records, const std::string& plugin) {
  nlohmann::json summary = {{"timeline", nlohmann::json::array()}};
  std::string runId;
  std::map<std::string, Activity> plugins;
  int64_t start = 0;
  for (const nlohmann::json& record : records) {
    const std::string event = auditFieldText(record, "event");
    const std::string name = auditFieldText(record, "plugin");
    if (runId.empty()) runId = auditFieldText(record, "run");
    if (start == 0) start = auditTimeMicroseconds(auditFieldText(record, "ts"));
    if (event == "run.start") {
      summary["workflow"] = auditFieldText(record, "workflow");
      summary["name"] = auditFieldText(record, "name");
      summary["policy"] = auditFieldText(record, "policy");
      summary["started"] = auditFieldText(record, "ts");
    } else if (event == "run.end") {
      summary["status"] = auditFieldText(record, "status");
      summary["ended"] = auditFieldText(record, "ts");
      if (record.contains("error")) summary["error"] = errorText(record);
    }
    if (!plugin.empty() && !name.empty() && name != plugin) continue;  // the run's own stay
    if (notable(event)) {
      const int64_t at = auditTimeMicroseconds(auditFieldText(record, "ts"));
      const double ms = at != 0 && start != 0 ? static_cast<double>(at - start) / 1000.0 : 0.0;
      summary["timeline"].push_back({{"ms", ms},
                                     {"event", event},
                                     {"plugin", name},
                                     {"step", auditFieldText(record, "step")},
                                     {"what", recordAccount(record)}});
    }
    if (name.empty()) continue;
    Activity& activity = plugins[name];
    const std::string direction = auditFieldText(record, "direction");
    const std::string method = auditFieldText(record, "method");
    const bool allowed = event == "gate.allow";
    if (event == "plugin.verify") {
      activity.verified.push_back({{"version", auditFieldText(record, "version")},
                                   {"result", auditFieldText(record, "result")},
                                   {"key_id", auditFieldText(record, "key_id")},
                                   {"reason", auditFieldText(record, "reason")}});
    } else if (event == "plugin.start") {
      activity.workers.push_back({{"pid", number(record, "pid")},
                                  {"cgroup", auditFieldText(record, "cgroup")},
                                  {"danger", record.value("danger", nlohmann::json::array())}});
    } else if (event == "plugin.stop") {
      for (auto& worker : activity.workers) {
        if (worker["pid"] != number(record, "pid") || worker.contains("exit")) continue;
        worker["exit"] = auditFieldText(record, "exit");
        worker["max_rss_kib"] = number(record, "max_rss_kib");
        worker["cpu_seconds"] = rounded(record, "cpu_seconds", "%.3f");
      }
    } else if ((allowed || event == "gate.deny") && direction == "supervisor->plugin") {
      auto& count = activity.calls[method];
      (allowed ? count.first : count.second)++;
    } else if ((allowed || event == "gate.deny") && direction == "plugin->host") {
      auto& count = activity.host[method];
      (allowed ? count.first : count.second)++;
      if (!allowed && activity.hostReasons[method].size() < 8)
        activity.hostReasons[method].insert(auditFieldText(record, "reason"));
      if (!allowed && method == "read_file" && record.contains("path"))
        activity.files.push_back(
            {{"path", auditFieldText(record, "path")}, {"by", "read_file"}, {"result", "refused"}});
    } else if ((allowed || event == "gate.deny") && direction == "plugin->kernel") {
      const std::string result = allowed ? "let run (log rule)" : "failed with an errno";
      activity.syscalls.push_back({{"syscall", method},
                                   {"path", auditFieldText(record, "path")},
                                   {"address", auditFieldText(record, "address")},
                                   {"result", result}});
      noteTarget(activity, record, method, result);
    } else if (event == "gate.learn" && auditFieldText(record, "kind") == "open") {
      activity.files.push_back({{"path", auditFieldText(record, "path")},
                                {"by", "openat"},
                                {"result", record.value("write", false) ? "write refused (EROFS)"
                                                                        : "opened (learning)"}});
    } else if (event == "sandbox.violation") {
      const std::string syscall = auditFieldText(record, "syscall");
      if (!syscall.empty()) {
        activity.syscalls.push_back({{"syscall", syscall},
                                     {"path", auditFieldText(record, "path")},
                                     {"address", auditFieldText(record, "address")},
                                     {"args", auditFieldText(record, "args")},
                                     {"result", "stopped the worker"}});
        noteTarget(activity, record, syscall, "stopped the worker");
      }
    } else if (event == "step.end") {
      activity.steps.push_back({{"step", auditFieldText(record, "step")},
                                {"status", auditFieldText(record, "status")},
                                {"ms", rounded(record, "ms", "%.1f")},
                                {"error", errorText(record)}});
    }
    if (event == "sandbox.violation" || event == "plugin.crash" || event == "plugin.timeout" ||
        event == "resource.limit" || event == "protocol.error" || event == "sandbox.setup_failed" ||
        event == "plugin.rejected") {
      activity.faults.push_back({{"pid", number(record, "pid")},
                                 {"event", event},
                                 {"step", auditFieldText(record, "step")},
                                 {"detail", auditFieldText(record, "detail")}});
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& [name, activity] : plugins) {
    nlohmann::json refusals = nlohmann::json::object();
    for (const auto& [capability, reasons] : activity.hostReasons)
      refusals[capability] = std::vector<std::string>(reasons.begin(), reasons.end());
    out.push_back({{"plugin", name},
                   {"verified", activity.verified},
                   {"workers", activity.workers},
                   {"calls", counts(activity.calls)},
                   {"host", counts(activity.host)},
                   {"host_refusals", refusals},
                   {"syscalls", activity.syscalls},
                   {"files", activity.files},
                   {"sockets", activity.sockets},
                   {"worker_faults", activity.faults},
                   {"steps", activity.steps}});
  }
  summary["run"] = runId;
  summary["plugins"] = out;
  return summary;
}

}  // namespace cordon
