#include "dashboard/dashboard_routes.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "audit/audit_query.h"
#include "audit/audit_reader.h"
#include "core/untrusted_text.h"
#include "dashboard/dashboard_assets.h"
#include "dashboard/graph_layout.h"
#include "dashboard/http_query.h"
#include "journal/journal_reader.h"
#include "journal/run_journal.h"
#include "journal/stored_outputs.h"
#include "trust/plugin_verifier.h"

namespace cordon {
namespace {

// The page may load only its own script, style and API: no inline script or style, no frames,
// no forms, no other origin. A plugin's text that became markup would still run nothing.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
constexpr size_t kMaxRuns = 500;
constexpr size_t kMaxTrailRecords = 5000;
constexpr size_t kMaxLogLines = 1000;
constexpr auto kHeartbeatEvery = std::chrono::seconds(5);
constexpr auto kMaxStreamLife = std::chrono::hours(1);  // the browser reconnects by itself
// What one event stream sends a second at most. Each update is the run whole (megabytes for a
// run of 10,000 steps), built on the plane's thread beside the run: after a large one the stream
// waits in proportion before it builds the next. The run's last update never waits.
constexpr double kMaxStreamBytesPerSecond = 1 << 20;

HttpReply reply(unsigned status, const char* contentType, std::string body) {
  HttpReply out;
  out.status = status;
  out.headers = {{"Content-Type", contentType},
                 {"Content-Security-Policy", kContentSecurityPolicy},
                 {"X-Content-Type-Options", "nosniff"},
                 {"X-Frame-Options", "DENY"},
                 {"Referrer-Policy", "no-referrer"},
                 {"Cross-Origin-Opener-Policy", "same-origin"},
                 {"Cross-Origin-Resource-Policy", "same-origin"},
                 {"Cache-Control", "no-store"},
                 {"Server", "cordon"}};
  out.body = std::move(body);
  return out;
}

HttpReply jsonReply(unsigned status, const nlohmann::json& body) {
  return reply(status, "application/json", jsonText(body));
}

HttpReply errorReply(unsigned status, const std::string& message) {
  nlohmann::json body = nlohmann::json::object();
  setUntrusted(body, "error", message);
  return jsonReply(status, body);
}

Outcome<std::unique_ptr<SqliteDb>> openDashboardJournal(const std::string& path) {
  return openJournal(path, /*readOnly=*/true);
}

bool isRunId(std::string_view text) {
  return text.size() >= 4 && text.size() <= 64 &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Where an SSE stream stands: what it last sent of the run. Its first update is the run whole;
// each later one the changes since (journalRunChanges), so an update's size follows what changed,
// not the size of the run.
struct StreamPosition {
  bool sentWhole = false;
  int64_t seq = 0;        // the run's newest transition the page has
  std::string state;      // the run's
  std::string sideStamp;  // its tallies, workers, plugins and inputs, as a count each
  std::string stamp() const { return std::to_string(seq) + "/" + state + "/" + sideStamp; }
};

// The run's journal as it stands, read in one transaction: its position, whether it ended, and
// (when it moved from `sent`, and unless `onlyAnEnd` and it has not ended) the update to send:
// the run whole (the stream's first) or its changes since `sent`.
struct JournalSnapshot {
  StreamPosition position;
  bool ended = false;
  nlohmann::json update;  // null: nothing to send
  bool whole = false;
};

std::optional<JournalSnapshot> journalSnapshot(const std::string& journalPath,
                                               const std::string& id, const StreamPosition& sent,
                                               bool onlyAnEnd) {
  auto db = openDashboardJournal(journalPath);
  if (!db.ok()) return std::nullopt;
  SqliteDb& journal = *db.value();
  // One snapshot of the WAL for every read below: the changes after `seq` are the ones it holds.
  if (journal.exec("BEGIN")) return std::nullopt;
  auto rows = journal.query(
      "SELECT (SELECT max(seq) FROM transitions WHERE run_id = ?1), state, (SELECT "
      "total(count) FROM tallies WHERE run_id = ?1), (SELECT count(*) FROM workers WHERE "
      "run_id = ?1), (SELECT count(*) FROM workers WHERE run_id = ?1 AND ended_at IS NOT NULL), "
      "(SELECT count(*) FROM plugins WHERE run_id = ?1), (SELECT count(*) FROM inputs WHERE "
      "run_id = ?1) FROM runs WHERE id = ?1",
      {id});
  if (!rows.ok() || rows.value().empty()) return std::nullopt;
  const auto& row = rows.value()[0];
  JournalSnapshot snapshot;
  snapshot.position.state = sqlText(row[1]);
  snapshot.ended = snapshot.position.state != "running";
  snapshot.position.sentWhole = true;
  snapshot.position.seq = sqlInteger(row[0]);
  snapshot.position.sideStamp = std::to_string(sqlReal(row[2]));
  for (size_t column = 3; column < 7; ++column)
    snapshot.position.sideStamp += "/" + std::to_string(sqlInteger(row[column]));
  const bool moved = !sent.sentWhole || snapshot.position.stamp() != sent.stamp();
  if (!moved || (onlyAnEnd && !snapshot.ended)) return snapshot;
  snapshot.whole = !sent.sentWhole;
  auto update = snapshot.whole ? journalRun(journal, id, RunTransitions::kLeaveOut)
                               : journalRunChanges(journal, id, sent.seq,
                                                   snapshot.position.sideStamp != sent.sideStamp);
  if (!update.ok()) return std::nullopt;
  snapshot.update = std::move(update).value();
  return snapshot;
}

// The largest output the step panel shows as text (the journal itself keeps outputs inline up
// to kInlineArtifactBytes, a different limit).
constexpr uint64_t kShownOutputBytes = 4096;

// The step's small outputs as text, read back from the journal's inline bytes or the artifact
// store beside it (STATE_DIR/artifacts/sha256/HEX) and shown only when their bytes still hash
// to the journal's digest. Bytes that are not UTF-8 are shown with U+FFFD (setUntrusted).
nlohmann::json smallOutputs(SqliteDb& db, const std::string& journalPath,
                            const nlohmann::json& artifacts, const std::string& step) {
  nlohmann::json out = nlohmann::json::array();
  const std::filesystem::path store =
      std::filesystem::path(journalPath).parent_path() / "artifacts";
  for (const auto& artifact : artifacts) {
    if (artifact.value("step", "") != step) continue;
    const std::string digest = artifact.value("digest", "");
    const uint64_t bytes = artifact.value("bytes", uint64_t{0});
    constexpr std::string_view kPrefix = "sha256:";
    if (bytes > kShownOutputBytes || digest.rfind(kPrefix, 0) != 0 ||
        digest.size() != kPrefix.size() + 64 ||
        digest.find_first_not_of("0123456789abcdef", kPrefix.size()) != std::string::npos)
      continue;
    std::string text;
    if (auto inlined = inlineOutput(db, digest)) {
      text = std::move(*inlined);
    } else {
      std::ifstream file(store / "sha256" / digest.substr(kPrefix.size()), std::ios::binary);
      text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
      if (!file.good() && !file.eof()) continue;
    }
    if (text.size() != bytes || sha256Digest(text) != digest) continue;
    nlohmann::json value = nlohmann::json::object();
    setUntrusted(value, "name", artifact.value("name", ""));
    setUntrusted(value, "text", text);
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace

std::optional<HttpReply> DashboardRoutes::answer(const HttpExchange& request) {
  const std::string_view target = request.target;
  const std::string path(target.substr(0, target.find('?')));
  const bool planeRoute = path == "/metrics" || path == "/healthz";
  const bool ours = path == "/" || path == "/index.html" || path == "/favicon.ico" ||
                    path.rfind("/assets/", 0) == 0 || path.rfind("/api/", 0) == 0;
  // Under cordon run the plane keeps its own routes and its 404 (docs/metrics.md); under
  // cordon ui every path needs the token.
  if (!ours && !options_.guardPlaneRoutes) return std::nullopt;

  const std::string fromQuery = AccessToken::fromQuery(target);
  const std::string cookie = AccessToken::cookieName(request.host);
  const bool allowed =
      options_.token.matches(fromQuery) ||
      options_.token.matches(AccessToken::fromCookie(request.cookie, cookie)) ||
      options_.token.matches(AccessToken::fromAuthorization(request.authorization));
  if (!allowed) {
    return reply(401, "text/plain; charset=utf-8",
                 "the dashboard needs its access token: open the address cordon printed\n");
  }
  if (planeRoute) return std::nullopt;
  if (!fromQuery.empty() && path == "/") {
    // The printed address carries the token once: it becomes a cookie and leaves the address.
    HttpReply moved = reply(303, "text/plain; charset=utf-8", "see /\n");
    moved.headers.emplace_back("Location", "/");
    moved.headers.emplace_back(
        "Set-Cookie", cookie + "=" + options_.token.text() + "; HttpOnly; SameSite=Strict; Path=/");
    return moved;
  }
  if (path == "/" || path == "/index.html")
    return reply(200, "text/html; charset=utf-8", std::string(dashboardAsset("index.html")));
  if (path == "/assets/app.js")
    return reply(200, "text/javascript; charset=utf-8", std::string(dashboardAsset("app.js")));
  if (path == "/assets/style.css")
    return reply(200, "text/css; charset=utf-8", std::string(dashboardAsset("style.css")));
  if (path == "/favicon.ico") return reply(204, "image/x-icon", "");  // none: no 404 to log
  if (path == "/api/runs") return runs();
  constexpr std::string_view kRunPrefix = "/api/runs/";
  if (path.rfind(kRunPrefix, 0) == 0) {
    std::string rest = path.substr(kRunPrefix.size());
    std::string tail;
    if (const size_t slash = rest.find('/'); slash != std::string::npos) {
      tail = rest.substr(slash + 1);
      rest.resize(slash);
    }
    if (!isRunId(rest)) return errorReply(400, "not a run id");
    if (tail.empty()) return run(rest);
    if (tail == "step") return step(rest, queryValue(target, "name"));
    if (tail == "events") return events(rest);
  }
  return errorReply(404, "not found");
}

HttpReply DashboardRoutes::runs() const {
  auto db = openDashboardJournal(options_.journalPath);
  if (!db.ok()) return jsonReply(200, {{"runs", nlohmann::json::array()}});  // nothing run yet
  auto listed = journalRuns(*db.value(), kMaxRuns);
  if (!listed.ok()) return errorReply(500, listed.error().message);
  return jsonReply(200, {{"runs", listed.value()}});
}

HttpReply DashboardRoutes::run(const std::string& id) const {
  auto db = openDashboardJournal(options_.journalPath);
  if (!db.ok()) return errorReply(404, db.error().message);
  auto shown = journalRun(*db.value(), id, RunTransitions::kLeaveOut);
  if (!shown.ok()) return errorReply(404, shown.error().message);
  nlohmann::json body = std::move(shown).value();
  std::vector<LayoutNode> nodes;
  for (const auto& node : body["graph"]) {
    LayoutNode laid{node.value("step", ""), {}, 0};
    laid.labelChars = std::max(laid.step.size(), node.value("plugin", std::string()).size());
    if (node.contains("needs") && node["needs"].is_array())
      for (const auto& need : node["needs"])
        if (need.is_string()) laid.needs.push_back(need.get<std::string>());
    nodes.push_back(std::move(laid));
  }
  body["layout"] = layoutGraph(nodes);
  return jsonReply(200, body);
}

HttpReply DashboardRoutes::step(const std::string& id, const std::string& name) const {
  if (name.empty()) return errorReply(400, "which step? (?name=STEP)");
  auto db = openDashboardJournal(options_.journalPath);
  if (!db.ok()) return errorReply(404, db.error().message);
  auto shown = journalRunStep(*db.value(), id, name);
  if (!shown.ok()) return errorReply(404, shown.error().message);
  const nlohmann::json& run = shown.value()["run"];
  const std::string plugin = shown.value().value("plugin", "");
  const std::string auditLog = run.value("audit_log", "");
  nlohmann::json body = {{"trail", nlohmann::json::array()},
                         {"verified", nlohmann::json::array()},
                         {"truncated", false}};
  setUntrusted(body, "step", name);
  setUntrusted(body, "audit_log", auditLog);
  body["outputs"] =
      smallOutputs(*db.value(), options_.journalPath, shown.value()["artifacts"], name);
  body["logs"] = nlohmann::json::array();
  if (auto rows = db.value()->query(
          "SELECT step, level, message, at FROM logs WHERE run_id = ?1 AND (step = ?2 OR "
          "substr(step, 1, length(?2) + 1) = ?2 || '[') ORDER BY rowid LIMIT ?3",
          {run.value("id", ""), name, static_cast<int64_t>(kMaxLogLines)});
      rows.ok()) {
    for (const auto& row : rows.value()) {
      nlohmann::json line = nlohmann::json::object();
      setUntrusted(line, "step", sqlText(row[0]));
      setUntrusted(line, "level", sqlText(row[1]));
      setUntrusted(line, "message", sqlText(row[2]));
      setUntrusted(line, "at", sqlText(row[3]));
      body["logs"].push_back(std::move(line));
    }
  }
  if (auditLog.empty()) return jsonReply(200, body);
  // The records cordon audit query --run ID --step NAME prints, each as the same line.
  AuditFilter trail;
  trail.run = run.value("id", "");
  trail.step = name;
  AuditFilter verified;
  verified.run = trail.run;
  verified.plugin = plugin;
  verified.event = "plugin.verify";
  auto read = forEachAuditRecord(auditLog, [&](const nlohmann::json& record) {
    if (trail.matches(record)) {
      // The section of the policy that governed the step, as the gate recorded it.
      if (!body.contains("policy_section") && record.contains("policy_section"))
        setUntrusted(body, "policy_section", auditFieldText(record, "policy_section"));
      if (body["trail"].size() >= kMaxTrailRecords) {
        body["truncated"] = true;
        return;
      }
      nlohmann::json entry = nlohmann::json::object();
      setUntrusted(entry, "line", jsonText(record));
      setUntrusted(entry, "account", recordAccount(record));
      body["trail"].push_back(std::move(entry));
    }
    if (!plugin.empty() && verified.matches(record)) {
      nlohmann::json check = nlohmann::json::object();
      for (const char* key : {"result", "version", "key_id", "reason", "digest"})
        setUntrusted(check, key, auditFieldText(record, key));
      body["verified"].push_back(std::move(check));
    }
  });
  if (!read.ok()) setUntrusted(body, "error", read.error().message);
  return jsonReply(200, body);
}

HttpReply DashboardRoutes::events(const std::string& id) const {
  HttpReply stream = reply(200, "text/event-stream", "retry: 1000\n\n");
  struct State {
    StreamPosition sent;
    bool sentEnd = false;
    std::chrono::steady_clock::time_point lastSent = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point pausedUntil = began;  // kMaxStreamBytesPerSecond
  };
  auto state = std::make_shared<State>();
  const std::string journal = options_.journalPath;
  stream.nextChunk = [state, journal, id]() -> std::optional<std::string> {
    const auto now = std::chrono::steady_clock::now();
    if (state->sentEnd || now - state->began > kMaxStreamLife) return std::nullopt;
    auto snapshot = journalSnapshot(journal, id, state->sent, now < state->pausedUntil);
    if (snapshot && !snapshot->update.is_null()) {
      state->sent = snapshot->position;
      state->sentEnd = snapshot->ended;
      // The run itself rides on the event: a page needs no second request, which the plane of
      // a run that just ended might no longer answer. jsonText writes no line break.
      snapshot->update["stamp"] = snapshot->position.stamp();
      std::string update = std::string("event: ") + (snapshot->whole ? "update" : "changes") +
                           "\ndata: " + jsonText(snapshot->update) + "\n\n";
      // Both counted from when the update is built: on a slow machine building it takes a while.
      state->lastSent = std::chrono::steady_clock::now();
      state->pausedUntil =
          state->lastSent + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(update.size()) /
                                                              kMaxStreamBytesPerSecond));
      return update;
    }
    if (now - state->lastSent > kHeartbeatEvery) {
      state->lastSent = now;
      return std::string(": still here\n\n");
    }
    return std::string();
  };
  return stream;
}

}  // namespace cordon
