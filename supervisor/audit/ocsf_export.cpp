#include "audit/ocsf_export.h"

#include <cstdlib>
#include <set>
#include <string>

#include "audit/audit_query.h"
#include "core/untrusted_text.h"

namespace cordon {
namespace {

// OCSF 1.1 classes and their categories.
constexpr int kBaseEvent = 0;            // category 0, uncategorised
constexpr int kProcessActivity = 1007;   // category 1, System Activity
constexpr int kDetectionFinding = 2004;  // category 2, Findings
constexpr int kApplicationLifecycle = 6002;
constexpr int kApiActivity = 6003;  // category 6, Application Activity

constexpr int kSeverityInformational = 1, kSeverityLow = 2, kSeverityMedium = 3, kSeverityHigh = 4;

struct ClassAndActivity {
  int classUid;
  int activityId;
  int severity;
};

ClassAndActivity classify(const std::string& event) {
  static const std::set<std::string> kFindings = {
      "sandbox.violation", "plugin.crash",         "plugin.timeout", "resource.limit",
      "protocol.error",    "sandbox.setup_failed", "plugin.rejected"};
  if (kFindings.count(event) != 0) {
    return {kDetectionFinding, 1,  // Create
            event == "sandbox.violation" ? kSeverityHigh
            : event == "plugin.crash"    ? kSeverityMedium
                                         : kSeverityLow};
  }
  if (event == "plugin.start") return {kProcessActivity, 1, kSeverityInformational};  // Launch
  if (event == "plugin.stop") return {kProcessActivity, 2, kSeverityInformational};   // Terminate
  if (event == "gate.deny") return {kApiActivity, 99, kSeverityMedium};
  if (event.rfind("gate.", 0) == 0) return {kApiActivity, 99, kSeverityInformational};
  if (event == "run.start" || event == "step.start")
    return {kApplicationLifecycle, 3, kSeverityInformational};  // Start
  if (event == "run.end" || event == "step.end")
    return {kApplicationLifecycle, 4, kSeverityInformational};  // Stop
  if (event == "step.retry" || event == "plugin.restart")
    return {kApplicationLifecycle, 5, kSeverityLow};  // Restart
  return {kBaseEvent, 0, kSeverityInformational};
}

// "inet 127.0.0.1:80", "inet6 [::1]:443", "unix /run/x": OCSF's endpoint, where it fits.
nlohmann::json endpoint(const std::string& address) {
  nlohmann::json out = {{"name", address}};
  auto space = address.find(' ');
  if (space == std::string::npos) return out;
  const std::string family = address.substr(0, space), where = address.substr(space + 1);
  auto colon = where.rfind(':');
  if ((family == "inet" || family == "inet6") && colon != std::string::npos) {
    std::string ip = where.substr(0, colon);
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    out["ip"] = ip;
    char* end = nullptr;
    const long port = std::strtol(where.c_str() + colon + 1, &end, 10);
    if (end != nullptr && *end == '\0' && port >= 0 && port <= 65535) out["port"] = port;
  } else if (family == "unix") {
    out["path"] = where;
  }
  return out;
}

}  // namespace

nlohmann::json toOcsf(const nlohmann::json& record) {
  const std::string event = auditFieldText(record, "event");
  const ClassAndActivity kind = classify(event);
  const int category = kind.classUid / 1000;
  nlohmann::json out = {
      {"class_uid", kind.classUid},
      {"category_uid", category},
      {"activity_id", kind.activityId},
      {"type_uid", kind.classUid * 100 + kind.activityId},
      {"severity_id", kind.severity},
      {"time", auditTimeMicroseconds(auditFieldText(record, "ts")) / 1000},  // ms since the epoch
      {"message", recordAccount(record)},
      {"metadata",
       {{"version", "1.1.0"},
        {"product", {{"name", "Cordon"}, {"vendor_name", "Cordon"}}},
        {"log_name", event},
        {"original_time", auditFieldText(record, "ts")},
        {"uid", auditFieldText(record, "hash")},
        {"correlation_uid", auditFieldText(record, "run")}}}};
  if (record.contains("seq")) out["metadata"]["sequence"] = record["seq"];
  std::set<std::string> mapped = {"event", "ts", "hash", "run", "seq"};
  if (record.contains("plugin") || record.contains("pid")) {
    out["actor"]["process"]["name"] = auditFieldText(record, "plugin");
    if (record.contains("pid")) out["actor"]["process"]["pid"] = record["pid"];
    mapped.insert({"plugin", "pid"});
  }
  if (event.rfind("gate.", 0) == 0) {
    out["api"] = {{"operation", auditFieldText(record, "method")},
                  {"service", {{"name", auditFieldText(record, "direction")}}}};
    const bool denied = event == "gate.deny";
    out["status_id"] = denied ? 2 : 1;       // Failure / Success
    out["disposition_id"] = denied ? 2 : 1;  // Blocked / Allowed
    mapped.insert({"method", "direction"});
  }
  if (kind.classUid == kDetectionFinding) {
    out["finding_info"] = {{"title", event},
                           {"desc", auditFieldText(record, "detail")},
                           {"uid", auditFieldText(record, "hash")}};
    mapped.insert("detail");
  }
  if (record.contains("status")) {
    const std::string status = auditFieldText(record, "status");
    out["status"] = status;
    out["status_id"] = status == "succeeded" ? 1 : status == "failed" ? 2 : 99;
    mapped.insert("status");
  }
  if (record.contains("path")) {
    out["file"] = {{"path", auditFieldText(record, "path")}};
    mapped.insert("path");
  }
  if (record.contains("address")) {
    out["dst_endpoint"] = endpoint(auditFieldText(record, "address"));
    mapped.insert("address");
  }
  if (record.contains("syscall")) {
    out["api"]["operation"] = auditFieldText(record, "syscall");
    mapped.insert("syscall");
  }
  nlohmann::json unmapped = nlohmann::json::object();
  for (const auto& [key, value] : record.items())
    if (mapped.count(key) == 0) unmapped[key] = value;
  if (!unmapped.empty()) out["unmapped"] = unmapped;
  return out;
}

}  // namespace cordon
