#include "journal/journal_reader.h"

#include <functional>
#include <map>

#include "core/untrusted_text.h"

namespace cordon {
namespace {

// Rows as JSON objects with the given column names; NULL stays null, text is made safe.
nlohmann::json rowsAsJson(const std::vector<std::vector<SqlValue>>& rows,
                          const std::vector<std::string>& names) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : rows) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t i = 0; i < names.size() && i < row.size(); ++i) {
      const SqlValue& value = row[i];
      if (std::holds_alternative<std::nullptr_t>(value)) {
        object[names[i]] = nullptr;
      } else if (const auto* text = std::get_if<std::string>(&value)) {
        setUntrusted(object, names[i], *text);
      } else if (const auto* integer = std::get_if<int64_t>(&value)) {
        object[names[i]] = *integer;
      } else {
        object[names[i]] = std::get<double>(value);
      }
    }
    out.push_back(std::move(object));
  }
  return out;
}

// A text's JSON as the journal wrote it, every string in it made safe again (it is read back from
// a file); null when it is not JSON.
nlohmann::json storedJson(const SqlValue& value) {
  nlohmann::json parsed =
      nlohmann::json::parse(sqlText(value), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return nullptr;
  std::function<void(nlohmann::json&)> clean = [&clean](nlohmann::json& node) {
    if (node.is_string()) {
      nlohmann::json holder = nlohmann::json::object();
      setUntrusted(holder, "v", node.get_ref<const std::string&>());
      node = holder["v"];
    } else if (node.is_structured()) {
      for (auto& child : node) clean(child);
    }
  };
  clean(parsed);
  return parsed;
}

// Schema 4 on: the planned graph (an older journal has none: empty, not an error).
nlohmann::json plannedGraph(SqliteDb& db, const std::string& id) {
  if (auto graph = db.query("SELECT graph FROM runs WHERE id = ?1", {id});
      graph.ok() && !graph.value().empty()) {
    nlohmann::json nodes = storedJson(graph.value()[0][0]);
    if (nodes.is_array()) return nodes;
  }
  return nlohmann::json::array();
}

// What changes beside the steps, each part whole: the plugins (every schema has them: a failure
// to read them is an error), and from schema 4 on each step's denials and violations, the workers
// and the inputs (an older journal has none of those: they are empty, not an error).
std::optional<Error> addSideLists(SqliteDb& db, const std::string& id, nlohmann::json& out) {
  auto plugins =
      db.query("SELECT plugin, digest, path FROM plugins WHERE run_id = ?1 ORDER BY plugin", {id});
  if (!plugins.ok()) return plugins.error();
  out["plugins"] = rowsAsJson(plugins.value(), {"plugin", "digest", "path"});
  out["tallies"] = nlohmann::json::array();
  if (auto rows = db.query(
          "SELECT step, kind, count FROM tallies WHERE run_id = ?1 ORDER BY step, kind", {id});
      rows.ok()) {
    out["tallies"] = rowsAsJson(rows.value(), {"step", "kind", "count"});
  }
  out["workers"] = nlohmann::json::array();
  if (auto rows =
          db.query("SELECT plugin, pid, started_at, phases, start_seconds, ended_at, step, exit, "
                   "max_rss_kib, cpu_seconds, fault, cgroup, danger FROM workers WHERE run_id = ?1 "
                   "ORDER BY rowid",
                   {id});
      rows.ok()) {
    nlohmann::json workers = rowsAsJson(
        rows.value(), {"plugin", "pid", "started_at", "phases", "start_seconds", "ended_at", "step",
                       "exit", "max_rss_kib", "cpu_seconds", "fault", "cgroup", "danger"});
    for (size_t i = 0; i < workers.size(); ++i) {
      workers[i]["phases"] = storedJson(rows.value()[i][3]);
      workers[i]["danger"] = storedJson(rows.value()[i][12]);
    }
    out["workers"] = std::move(workers);
  }
  out["inputs"] = nlohmann::json::array();
  if (auto rows =
          db.query("SELECT name, bytes, digest FROM inputs WHERE run_id = ?1 ORDER BY name", {id});
      rows.ok()) {
    out["inputs"] = rowsAsJson(rows.value(), {"name", "bytes", "digest"});
  }
  return std::nullopt;
}

}  // namespace

Outcome<nlohmann::json> journalRuns(SqliteDb& db, size_t limit) {
  auto rows = db.query(
      "SELECT id, workflow_name, state, started_at, ended_at, steps, error_category, error_step "
      "FROM runs ORDER BY started_at DESC, id LIMIT ?1",
      {static_cast<int64_t>(limit)});
  if (!rows.ok()) return rows.error();
  nlohmann::json runs =
      rowsAsJson(rows.value(), {"id", "workflow", "state", "started_at", "ended_at", "steps",
                                "error_category", "error_step"});
  // Schema 4 on: each run's denials and violations (an older journal has no tallies).
  for (auto& run : runs) {
    auto counts = db.query("SELECT kind, sum(count) FROM tallies WHERE run_id = ?1 GROUP BY kind",
                           {run["id"].get<std::string>()});
    run["denials"] = 0;
    run["violations"] = 0;
    if (!counts.ok()) continue;
    for (const auto& row : counts.value()) {
      const std::string kind = sqlText(row[0]);
      if (kind == "denial") run["denials"] = sqlInteger(row[1]);
      if (kind == "violation") run["violations"] = sqlInteger(row[1]);
    }
  }
  return runs;
}

namespace {

// The one run `wanted` names: its whole id.
Outcome<std::string> resolveRunId(SqliteDb& db, const std::string& wanted) {
  if (wanted.size() < 4 || wanted.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return makeError(ErrorCategory::kBadInput,
                     "'" + forTerminal(wanted) +
                         "' is not a run id (16 hex digits, or 4 or more of "
                         "its first ones)");
  }
  auto ids = db.query("SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 LIMIT 2", {wanted});
  if (!ids.ok()) return ids.error();
  if (ids.value().empty()) {
    return makeError(ErrorCategory::kBadInput,
                     "no run " + wanted + " in " + db.path() + " (cordon runs list shows them)");
  }
  if (ids.value().size() > 1) {
    return makeError(ErrorCategory::kBadInput,
                     "'" + wanted + "' names more than one run; give more of the id");
  }
  return sqlText(ids.value()[0][0]);
}

// The audit log the run was asked to write (its invocation), JSON null when the journal has none.
nlohmann::json auditLogOf(SqliteDb& db, const std::string& id) {
  if (auto rows = db.query("SELECT invocation FROM runs WHERE id = ?1", {id});
      rows.ok() && !rows.value().empty()) {
    nlohmann::json invocation = storedJson(rows.value()[0][0]);
    if (invocation.is_object() && invocation.contains("audit_log")) return invocation["audit_log"];
  }
  return nullptr;
}

}  // namespace

namespace {

// The labels of what changed after transition ?2 of run ?1: steps, and for_each items (STEP[N]).
constexpr char kChangedLabels[] = "(SELECT step FROM transitions WHERE run_id = ?1 AND seq > ?2)";

// What a read of a run's changes takes of one part of the run.
enum class InChanges {
  kWhole,     // the part as a whole read has it (the run's row)
  kFiltered,  // the rows its filter keeps: those a later transition touched
  kLeftOut,
};

// The run's row, its steps, attempts, transitions and artifacts into `out`. With `afterSeq`,
// only what changed after that transition: the run's row, and the steps, attempts and
// artifacts a later transition touched.
std::optional<Error> readRun(SqliteDb& db, const std::string& id, std::optional<int64_t> afterSeq,
                             RunTransitions transitions, nlohmann::json& out) {
  const std::string changed = kChangedLabels;
  struct Part {
    const char* key;
    std::string select;  // up to and including the run's condition (?1)
    const char* order;
    std::vector<std::string> names;
    InChanges inChanges;
    std::string changedFilter;  // for InChanges::kFiltered, naming ?2
  };
  const Part parts[] = {
      {"run",
       "SELECT id, workflow_name, workflow_path, workflow_digest, policy_path, policy_digest, "
       "steps, jobs, state, started_at, ended_at, error_category, error_message, error_step FROM "
       "runs WHERE id = ?1",
       "",
       {"id", "workflow", "workflow_path", "workflow_digest", "policy_path", "policy_digest",
        "steps", "jobs", "state", "started_at", "ended_at", "error_category", "error_message",
        "error_step"},
       InChanges::kWhole,
       ""},
      {"steps",
       "SELECT name, plugin, state, started_at, ended_at, milliseconds, worker_pid, "
       "error_category, error_message FROM steps WHERE run_id = ?1",
       " ORDER BY started_at, name",
       {"name", "plugin", "state", "started_at", "ended_at", "milliseconds", "worker_pid",
        "error_category", "error_message"},
       InChanges::kFiltered,
       " AND name IN " + changed},
      {"attempts",
       "SELECT label, number, started_at, ended_at, outcome, error_category, error_message FROM "
       "attempts WHERE run_id = ?1",
       " ORDER BY started_at, label, number",
       {"step", "number", "started_at", "ended_at", "outcome", "error_category", "error_message"},
       InChanges::kFiltered,
       // An item's attempts (STEP[N]) change with the item and with its step.
       " AND (label IN " + changed +
           " OR CASE WHEN instr(label, '[') > 0 THEN substr(label, 1, instr(label, '[') - 1) END"
           " IN " +
           changed + ")"},
      {"transitions",
       "SELECT step, state, at FROM transitions WHERE run_id = ?1",
       " ORDER BY seq",
       {"step", "state", "at"},
       InChanges::kLeftOut,
       ""},
      {"artifacts",
       "SELECT step, name, bytes, digest FROM artifacts WHERE run_id = ?1",
       " ORDER BY step, name",
       {"step", "name", "bytes", "digest"},
       InChanges::kFiltered,
       " AND step IN " + changed},
  };
  // A filtered query names ?2 as well; SQLite refuses a value bound to no parameter.
  const std::vector<SqlValue> runOnly = {id};
  std::vector<SqlValue> runAndSeq = {id};
  if (afterSeq) runAndSeq.emplace_back(*afterSeq);
  for (const Part& part : parts) {
    const bool isRun = std::string(part.key) == "run";
    const bool isTransitions = std::string(part.key) == "transitions";
    if (isTransitions && transitions == RunTransitions::kLeaveOut) continue;
    if (afterSeq && part.inChanges == InChanges::kLeftOut) continue;
    const bool filtered = afterSeq && part.inChanges == InChanges::kFiltered;
    auto read = db.query(part.select + (filtered ? part.changedFilter : "") + part.order,
                         filtered ? runAndSeq : runOnly);
    if (!read.ok()) return read.error();
    nlohmann::json list = rowsAsJson(read.value(), part.names);
    if (isRun && list.empty()) return makeError(ErrorCategory::kBadInput, "no such run");
    out[part.key] = isRun ? list.at(0) : list;
  }
  // Schema 3 on: a cached step names the run and step whose outputs it reused (an older journal
  // has no such column, and no cached step).
  const std::string cachedSql =
      std::string(
          "SELECT name, cached_from FROM steps WHERE run_id = ?1 AND cached_from IS NOT "
          "NULL") +
      (afterSeq ? " AND name IN " + changed : "");
  auto cached = db.query(cachedSql, afterSeq ? runAndSeq : runOnly);
  if (cached.ok()) {
    std::map<std::string, std::string> from;
    for (const auto& row : cached.value()) from[sqlText(row[0])] = sqlText(row[1]);
    for (auto& step : out["steps"]) {
      auto found = from.find(step["name"].get<std::string>());
      if (found != from.end()) setUntrusted(step, "cached_from", found->second);
    }
  }
  return std::nullopt;
}

}  // namespace

Outcome<nlohmann::json> journalRun(SqliteDb& db, const std::string& wanted,
                                   RunTransitions transitions) {
  auto resolved = resolveRunId(db, wanted);
  if (!resolved.ok()) return resolved.error();
  const std::string& id = resolved.value();
  nlohmann::json out = nlohmann::json::object();
  if (auto failed = readRun(db, id, std::nullopt, transitions, out)) return *failed;
  out["graph"] = plannedGraph(db, id);
  if (auto failed = addSideLists(db, id, out)) return *failed;
  if (nlohmann::json auditLog = auditLogOf(db, id); !auditLog.is_null())
    out["run"]["audit_log"] = std::move(auditLog);
  return out;
}

Outcome<nlohmann::json> journalRunChanges(SqliteDb& db, const std::string& id, int64_t afterSeq,
                                          bool withSideLists) {
  nlohmann::json out = nlohmann::json::object();
  if (auto failed = readRun(db, id, afterSeq, RunTransitions::kLeaveOut, out)) return *failed;
  if (withSideLists) {
    if (auto failed = addSideLists(db, id, out)) return *failed;
  }
  if (nlohmann::json auditLog = auditLogOf(db, id); !auditLog.is_null())
    out["run"]["audit_log"] = std::move(auditLog);
  return out;
}

Outcome<nlohmann::json> journalRunStep(SqliteDb& db, const std::string& wanted,
                                       const std::string& step) {
  auto resolved = resolveRunId(db, wanted);
  if (!resolved.ok()) return resolved.error();
  const std::string& id = resolved.value();
  nlohmann::json out = {{"run", {{"id", id}}}, {"plugin", ""}};
  if (nlohmann::json auditLog = auditLogOf(db, id); !auditLog.is_null())
    out["run"]["audit_log"] = std::move(auditLog);
  // The step's plugin from its row; a step that has not started has only its graph node.
  auto plugin = db.query("SELECT plugin FROM steps WHERE run_id = ?1 AND name = ?2", {id, step});
  if (!plugin.ok()) return plugin.error();
  if (!plugin.value().empty()) {
    setUntrusted(out, "plugin", sqlText(plugin.value()[0][0]));
  } else if (auto graph = db.query("SELECT graph FROM runs WHERE id = ?1", {id});
             graph.ok() && !graph.value().empty()) {
    for (const auto& node : storedJson(graph.value()[0][0]))
      if (node.is_object() && node.value("step", "") == step)
        out["plugin"] = node.value("plugin", "");
  }
  auto artifacts = db.query(
      "SELECT step, name, bytes, digest FROM artifacts WHERE run_id = ?1 AND step = ?2 ORDER BY "
      "name",
      {id, step});
  if (!artifacts.ok()) return artifacts.error();
  out["artifacts"] = rowsAsJson(artifacts.value(), {"step", "name", "bytes", "digest"});
  return out;
}

}  // namespace cordon
