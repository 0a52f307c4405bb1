// audit/audit_query: the filters of `cordon audit query` and the run summary of `cordon audit
// summary`, on records as the log holds them (their strings are the plugin's to choose).
#include <doctest/doctest.h>

#include "audit/audit_query.h"
#include "audit/ocsf_export.h"

using namespace cordon;

namespace {

nlohmann::json record(const std::string& event, nlohmann::json fields) {
  fields["event"] = event;
  if (!fields.contains("run")) fields["run"] = "r1";
  if (!fields.contains("ts")) fields["ts"] = "2026-12-03T14:05:06.000000Z";
  return fields;
}

}  // namespace

TEST_CASE("audit query's filters: run, plugin, step with its items, event prefixes, time bounds") {
  const auto item = record("step.end", {{"plugin", "p"}, {"step", "fan[3]"}});
  AuditFilter filter;
  CHECK(filter.matches(item));
  filter.step = "fan";
  CHECK(filter.matches(item));  // an item of the step
  filter.step = "fa";
  CHECK_FALSE(filter.matches(item));  // not a prefix match
  filter = {};
  filter.event = "step.*";
  CHECK(filter.matches(item));
  filter.event = "step.start";
  CHECK_FALSE(filter.matches(item));
  filter = {};
  filter.run = "r2";
  CHECK_FALSE(filter.matches(item));
  filter = {};
  filter.plugin = "q";
  CHECK_FALSE(filter.matches(item));

  filter = {};
  filter.since = "2026-12-03";
  filter.until = "2026-12-03";  // the whole day, inclusive
  CHECK(filter.matches(item));
  filter.since = "2026-12-03T14:05:07";
  CHECK_FALSE(filter.matches(item));
  filter.since = "";
  filter.until = "2026-12-03T14:05:05";
  CHECK_FALSE(filter.matches(item));
  filter.until = "2026-12-03T14:05";
  CHECK(filter.matches(item));

  CHECK(AuditFilter::checkTime("--since", "2026-12-03T14:05").ok());
  CHECK(AuditFilter::checkTime("--since", "2026-12-03T14:05:06.5").ok());
  for (const char* bad :
       {"yesterday", "2026-1-3", "2026-12-03 14:05", "2026-12-03T14:05:06.0000001Z0"}) {
    auto checked = AuditFilter::checkTime("--until", bad);
    INFO(bad);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.error().message.find("--until " + std::string(bad) + ": expected a UTC time") !=
          std::string::npos);
  }
}

TEST_CASE("a run's summary: what each plugin did, tried and how its worker ended") {
  std::vector<nlohmann::json> records = {
      record("plugin.verify", {{"plugin", "evil"},
                               {"version", "1.0.0"},
                               {"result", "verified"},
                               {"key_id", "K"},
                               {"reason", "ok"}}),
      record("run.start", {{"workflow", "w.yaml"}, {"name", "w"}, {"policy", "p.yaml"}}),
      record("plugin.start", {{"plugin", "evil"}, {"pid", 7}, {"cgroup", "none: v1"}}),
      record("gate.allow", {{"plugin", "evil"},
                            {"direction", "supervisor->plugin"},
                            {"method", "execute"},
                            {"step", "s"}}),
      record("gate.allow", {{"plugin", "evil"}, {"direction", "plugin->host"}, {"method", "log"}}),
      record("gate.deny", {{"plugin", "evil"},
                           {"direction", "plugin->host"},
                           {"method", "read_file"},
                           {"reason", "outside the granted paths"},
                           {"path", "/etc/shadow"}}),
      record("gate.deny", {{"plugin", "evil"},
                           {"direction", "plugin->kernel"},
                           {"method", "connect"},
                           {"address", "inet 10.0.0.1:443"},
                           {"category", "sandbox_violation"}}),
      record("sandbox.violation", {{"plugin", "evil"},
                                   {"step", "s"},
                                   {"pid", 7},
                                   {"syscall", "openat"},
                                   {"path", "/etc/passwd"},
                                   {"detail", "the plugin called openat"}}),
      record("plugin.stop", {{"plugin", "evil"},
                             {"pid", 7},
                             {"exit", "signal SIGKILL"},
                             {"max_rss_kib", 100},
                             {"cpu_seconds", 0.0123}}),
      record("step.end", {{"plugin", "evil"},
                          {"step", "s"},
                          {"status", "failed"},
                          {"ms", 5.0957},
                          {"error", {{"category", "sandbox_violation"}, {"message", "m"}}}}),
      record("run.end", {{"status", "failed"}}),
      record("step.end",
             {{"plugin", "other"}, {"step", "t"}, {"status", "succeeded"}, {"ms", 1.0}}),
  };
  const nlohmann::json summary = summarizeRun(records, "evil");
  INFO(summary);
  CHECK(summary["run"] == "r1");
  CHECK(summary["status"] == "failed");
  REQUIRE(summary["plugins"].size() == 1);  // --plugin keeps one
  const nlohmann::json& evil = summary["plugins"][0];
  CHECK(evil["verified"][0]["result"] == "verified");
  CHECK(evil["workers"][0]["exit"] == "signal SIGKILL");
  CHECK(evil["workers"][0]["cpu_seconds"] == "0.012");
  CHECK(evil["calls"]["execute"]["allowed"] == 1);
  CHECK(evil["host"]["log"]["allowed"] == 1);
  CHECK(evil["host"]["read_file"]["refused"] == 1);
  CHECK(evil["host_refusals"]["read_file"][0] == "outside the granted paths");
  REQUIRE(evil["syscalls"].size() == 2);
  CHECK(evil["syscalls"][0]["syscall"] == "connect");
  CHECK(evil["syscalls"][1]["path"] == "/etc/passwd");
  CHECK(evil["syscalls"][1]["result"] == "stopped the worker");
  // Files: the read_file refused at the gate and the openat that stopped the worker.
  REQUIRE(evil["files"].size() == 2);
  CHECK(evil["files"][0]["path"] == "/etc/shadow");
  CHECK(evil["files"][1]["path"] == "/etc/passwd");
  REQUIRE(evil["sockets"].size() == 1);
  CHECK(evil["sockets"][0]["address"] == "inet 10.0.0.1:443");
  CHECK(evil["worker_faults"][0]["event"] == "sandbox.violation");
  CHECK(evil["steps"][0]["ms"] == "5.1");
  // The timeline keeps what matters, not every allow.
  for (const auto& entry : summary["timeline"]) CHECK(entry["event"] != "gate.allow");
  CHECK(summary["timeline"].size() == 9);  // with run.start and run.end
  CHECK(evil["workers"][0]["pid"] == 7);
  CHECK(summarizeRun(records, "")["plugins"].size() == 2);
}

TEST_CASE("a record's account tolerates any field types a hostile log holds") {
  // Wrong types, missing fields, control bytes: an account, never an exception.
  for (const nlohmann::json& odd :
       {record("gate.deny", {{"method", 7}, {"reason", nlohmann::json::array({1, 2})}}),
        record("step.end", {{"ms", "slow"}, {"error", "not an object"}}),
        record("plugin.stop", {{"pid", -1}}), record("x.y", {{"detail", "\x1b[31mred"}}),
        nlohmann::json::object()}) {
    CHECK_NOTHROW(recordAccount(odd));
    CHECK_NOTHROW(summarizeRun({odd}, ""));
  }
  CHECK(recordAccount(record("gate.deny", {{"direction", "plugin->host"},
                                           {"method", "read_file"},
                                           {"reason", "outside"},
                                           {"path", "/x"}})) ==
        "plugin->host read_file: outside path /x");
}

TEST_CASE("a record as an OCSF 1.1 event: class, activity, where each field goes, the rest kept") {
  const auto violation = record("sandbox.violation", {{"plugin", "evil"},
                                                      {"pid", 7},
                                                      {"syscall", "connect"},
                                                      {"address", "inet6 [::1]:443"},
                                                      {"detail", "stopped"},
                                                      {"hash", "h"},
                                                      {"seq", 3},
                                                      {"step", "s"}});
  const nlohmann::json finding = toOcsf(violation);
  INFO(finding);
  CHECK(finding["class_uid"] == 2004);  // Detection Finding
  CHECK(finding["category_uid"] == 2);
  CHECK(finding["type_uid"] == 200401);
  CHECK(finding["severity_id"] == 4);
  CHECK(finding["time"] == 1796306706000);  // 2026-12-03T14:05:06Z in ms
  CHECK(finding["metadata"]["correlation_uid"] == "r1");
  CHECK(finding["metadata"]["uid"] == "h");
  CHECK(finding["metadata"]["sequence"] == 3);
  CHECK(finding["actor"]["process"]["name"] == "evil");
  CHECK(finding["actor"]["process"]["pid"] == 7);
  CHECK(finding["api"]["operation"] == "connect");
  CHECK(finding["dst_endpoint"]["ip"] == "::1");
  CHECK(finding["dst_endpoint"]["port"] == 443);
  CHECK(finding["finding_info"]["desc"] == "stopped");
  CHECK(finding["unmapped"]["step"] == "s");  // nothing is dropped

  const nlohmann::json denied = toOcsf(record("gate.deny", {{"plugin", "p"},
                                                            {"direction", "plugin->host"},
                                                            {"method", "read_file"},
                                                            {"path", "/etc/shadow"},
                                                            {"reason", "outside"}}));
  CHECK(denied["class_uid"] == 6003);    // API Activity
  CHECK(denied["disposition_id"] == 2);  // Blocked
  CHECK(denied["status_id"] == 2);
  CHECK(denied["api"]["service"]["name"] == "plugin->host");
  CHECK(denied["file"]["path"] == "/etc/shadow");
  CHECK(denied["unmapped"]["reason"] == "outside");

  CHECK(toOcsf(record("plugin.start", {{"plugin", "p"}, {"pid", 9}}))["type_uid"] == 100701);
  CHECK(toOcsf(record("plugin.stop", {{"plugin", "p"}, {"pid", 9}}))["type_uid"] == 100702);
  const nlohmann::json ended = toOcsf(record("run.end", {{"status", "failed"}}));
  CHECK(ended["type_uid"] == 600204);
  CHECK(ended["status_id"] == 2);
  CHECK(toOcsf(record("artifact.digest", {}))["class_uid"] == 0);  // no better class: Base Event
  CHECK_NOTHROW(toOcsf(nlohmann::json::object()));
  CHECK(
      toOcsf(record("gate.deny", {{"address", "inet 1.2.3.4:notaport"}}))["dst_endpoint"].contains(
          "port") == false);
}
