// The dashboard's server side: the token on every request, the headers every reply carries, the
// API over a journal written by the real RunJournal, the Graphviz layout and the event stream.
// The browser's view of the same is tests/dashboard/dashboard_test.mjs.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "dashboard/access_token.h"
#include "dashboard/dashboard_routes.h"
#include "dashboard/graph_layout.h"
#include "dashboard/http_query.h"
#include "journal/journal_reader.h"
#include "journal/run_journal.h"
#include "run/run_report.h"
#include "test_support.h"
#include "trust/plugin_verifier.h"

using namespace cordon;

namespace {

const char kToken[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const char kHostile[] = "<script>alert(1)</script>\"'&<img src=x onerror=alert(2)>";

std::string header(const HttpReply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers)
    if (key == name) return value;
  return "";
}

HttpReply request(DashboardRoutes& routes, const std::string& target,
                  const std::string& cookie = "") {
  auto reply = routes.answer({"GET", target, cookie, "", ""});
  REQUIRE(reply);
  return *reply;
}

std::string cookie() {
  return std::string("cordon_token=") + kToken;  // a request without a Host header's port
}

// A journal holding one run of a diamond graph, one step named with markup, denied calls and a
// sandbox violation, as RunJournal writes them from the run's events.
void writeRun(test::TempDir& dir, const std::string& journalPath, bool finish) {
  auto db = openJournal(journalPath);
  REQUIRE(db.ok());
  RunJournal journal(*db.value(), nlohmann::json{{"audit_log", dir.path("audit.jsonl")}});
  RunStarted started{"00aa11bb22cc33dd",
                     dir.write("w.yaml", "name: w\n"),
                     "w",
                     dir.write("p.yaml", "version: 1\n"),
                     4,
                     2,
                     {{"mix", "sha256:00"}},
                     false,
                     {},
                     {},
                     {{"a", "mix", {}},
                      {kHostile, "mix", {"a"}},
                      {"c", "mix", {"a"}},
                      {"d", "mix", {kHostile, "c"}}}};
  journal.onEvent(started);
  journal.onEvent(WorkerStarted{"mix", "/p/mix.so", "sha256:00", 41, 1 << 20, 5, "none: test", {}});
  journal.onEvent(StepStarted{"a", "mix"});
  journal.onEvent(ArtifactDigested{"a", "out", 2, sha256Digest("hi"),
                                   std::make_shared<const std::string>("hi")});
  journal.onEvent(StepFinished{"a", "mix", 3, 41, std::nullopt, {{"out", 2}}, false});
  journal.onEvent(StepStarted{kHostile, "mix"});
  GateDecided denied;
  denied.verdict = GateDecided::Verdict::kDeny;
  denied.plugin = "mix";
  denied.step = kHostile;
  denied.direction = "plugin->host";
  denied.method = "read_file";
  journal.onEvent(denied);
  journal.onEvent(denied);
  WorkerStopped stopped{"mix", "c[2]", 41,           "killed by signal 31 (SIGSYS)",
                        900,   0.25,   WorkerFault{}};
  stopped.fault->kind = WorkerFault::Kind::kSandboxViolation;
  stopped.fault->error = makeError(ErrorCategory::kSandboxViolation, "socket");
  journal.onEvent(stopped);
  if (finish) {
    RunReport report;
    journal.onEvent(RunFinished{&report});
  }
  REQUIRE_FALSE(journal.failure());
}

}  // namespace

TEST_CASE("the access token: drawn at random, offered three ways, compared whole") {
  auto first = AccessToken::generate();
  auto second = AccessToken::generate();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first.value().text().size() == 64);
  CHECK(first.value().text() != second.value().text());
  const AccessToken token(kToken);
  CHECK(token.matches(kToken));
  CHECK_FALSE(token.matches(""));
  CHECK_FALSE(token.matches(std::string(kToken).substr(0, 63)));
  CHECK_FALSE(token.matches(std::string(kToken) + "0"));
  CHECK(AccessToken::fromQuery("/?a=1&token=abc&b=2") == "abc");
  CHECK(AccessToken::fromQuery("/?xtoken=abc") == "");
  CHECK(AccessToken::fromCookie("a=1; cordon_token=abc; b=2", "cordon_token") == "abc");
  CHECK(AccessToken::fromCookie("cordon_token_80=abc", "cordon_token") == "");
  CHECK(AccessToken::cookieName("127.0.0.1:8080") == "cordon_token_8080");
  CHECK(AccessToken::cookieName("[::1]:9") == "cordon_token_9");
  CHECK(AccessToken::cookieName("[::1]") == "cordon_token");
  CHECK(AccessToken::cookieName("x:8080;a=b") == "cordon_token");
  CHECK(AccessToken::fromAuthorization("Bearer abc") == "abc");
  CHECK(AccessToken::fromAuthorization("Basic abc") == "");
  CHECK(percentDecoded("a%3Cb%3e+c") == "a<b> c");
  CHECK_FALSE(percentDecoded("a%3"));
  CHECK_FALSE(percentDecoded("a%zz"));
  CHECK(queryValue("/x?name=%3Cscript%3E&y=1", "name") == "<script>");
}

TEST_CASE("every request needs the token; every reply carries the strict headers") {
  test::TempDir dir;
  DashboardRoutes ui(DashboardOptions{dir.path("journal.sqlite"), AccessToken(kToken), true});
  for (const char* target : {"/", "/assets/app.js", "/api/runs", "/api/runs/00aa", "/metrics",
                             "/healthz", "/?token=wrong", "/nothing"}) {
    CAPTURE(target);
    const HttpReply refused = request(ui, target);
    CHECK(refused.status == 401);
    CHECK(refused.body.find("token") != std::string::npos);
  }
  CHECK(request(ui, "/api/runs", "cordon_token=" + std::string(kToken, 63)).status == 401);
  auto bearer = ui.answer({"GET", "/api/runs", "", std::string("Bearer ") + kToken, ""});
  REQUIRE(bearer);
  CHECK(bearer->status == 200);

  // The printed address: its token becomes an HttpOnly cookie and leaves the address bar.
  const HttpReply moved = request(ui, std::string("/?token=") + kToken);
  CHECK(moved.status == 303);
  CHECK(header(moved, "Location") == "/");
  CHECK(header(moved, "Set-Cookie") ==
        std::string("cordon_token=") + kToken + "; HttpOnly; SameSite=Strict; Path=/");
  // The cookie is named for the port the browser asked: another dashboard's does not count.
  auto onPort = ui.answer({"GET", std::string("/?token=") + kToken, "", "", "127.0.0.1:8080"});
  REQUIRE(onPort);
  CHECK(header(*onPort, "Set-Cookie").rfind(std::string("cordon_token_8080=") + kToken, 0) == 0);
  auto ownPort = ui.answer(
      {"GET", "/api/runs", std::string("cordon_token_8080=") + kToken, "", "127.0.0.1:8080"});
  REQUIRE(ownPort);
  CHECK(ownPort->status == 200);
  auto otherPort = ui.answer(
      {"GET", "/api/runs", std::string("cordon_token_9090=") + kToken, "", "127.0.0.1:8080"});
  REQUIRE(otherPort);
  CHECK(otherPort->status == 401);

  for (const char* target : {"/", "/assets/app.js", "/assets/style.css", "/api/runs"}) {
    CAPTURE(target);
    const HttpReply page = request(ui, target, cookie());
    CHECK(page.status == 200);
    CHECK_FALSE(page.body.empty());
    const std::string policy = header(page, "Content-Security-Policy");
    CHECK(policy.find("default-src 'none'") != std::string::npos);
    CHECK(policy.find("script-src 'self'") != std::string::npos);
    CHECK(policy.find("unsafe-inline") == std::string::npos);
    CHECK(header(page, "X-Content-Type-Options") == "nosniff");
    CHECK(header(page, "Referrer-Policy") == "no-referrer");
  }
  CHECK(header(request(ui, "/", cookie()), "Content-Type") == "text/html; charset=utf-8");
  CHECK(request(ui, "/", cookie()).body.find("<script>") == std::string::npos);  // no inline script
  // cordon ui guards the plane's own routes; with the token, the plane answers them.
  CHECK_FALSE(ui.answer({"GET", "/metrics", cookie(), "", ""}));
  CHECK(request(ui, "/api/runs/zz", cookie()).status == 400);
  CHECK(request(ui, "/api/nothing", cookie()).status == 404);

  // cordon run --listen leaves /metrics and /healthz to scrapers, and guards the rest.
  DashboardRoutes run(DashboardOptions{dir.path("journal.sqlite"), AccessToken(kToken), false});
  CHECK_FALSE(run.answer({"GET", "/metrics", "", "", ""}));
  CHECK_FALSE(run.answer({"GET", "/healthz", "", "", ""}));
  CHECK_FALSE(run.answer({"GET", "/nothing", "", "", ""}));  // the plane's 404
  CHECK(request(run, "/api/nothing").status == 401);
  CHECK(request(run, "/api/runs").status == 401);
  // No journal yet: no runs, not an error.
  CHECK(nlohmann::json::parse(request(run, "/api/runs", cookie()).body)["runs"].empty());
}

TEST_CASE("the API shows a journaled run whole: graph laid out, states, tallies, workers") {
  test::TempDir dir;
  const std::string journal = dir.path("journal.sqlite");
  writeRun(dir, journal, /*finish=*/true);
  DashboardRoutes routes(DashboardOptions{journal, AccessToken(kToken), true});

  const auto runs = nlohmann::json::parse(request(routes, "/api/runs", cookie()).body)["runs"];
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["id"] == "00aa11bb22cc33dd");
  CHECK(runs[0]["state"] == "succeeded");
  CHECK(runs[0]["denials"] == 2);
  CHECK(runs[0]["violations"] == 1);

  const HttpReply reply = request(routes, "/api/runs/00aa11bb22cc33dd", cookie());
  CHECK(header(reply, "Content-Type") == "application/json");
  const auto run = nlohmann::json::parse(reply.body);
  REQUIRE(run["graph"].size() == 4);
  CHECK(run["graph"][1]["step"] == kHostile);  // the name as it was: text, for textContent
  CHECK(run["graph"][3]["needs"] == nlohmann::json::array({kHostile, "c"}));
  CHECK(run["run"]["audit_log"] == dir.path("audit.jsonl"));
  // No page shows the transition history, which grows with every change of state.
  CHECK_FALSE(run.contains("transitions"));
  CHECK(run["steps"].size() == 2);
  // Tallies: the denials in their step, the for_each item's violation in its step.
  REQUIRE(run["tallies"].size() == 2);
  CHECK(run["tallies"][0]["step"] == kHostile);
  CHECK(run["tallies"][0]["count"] == 2);
  CHECK(run["tallies"][1]["step"] == "c");
  CHECK(run["tallies"][1]["kind"] == "violation");
  REQUIRE(run["workers"].size() == 1);
  CHECK(run["workers"][0]["pid"] == 41);
  CHECK(run["workers"][0]["max_rss_kib"] == 900);
  CHECK(run["workers"][0]["exit"] == "killed by signal 31 (SIGSYS)");

  // The layout: every step placed, dependencies to the left of what needs them, each edge drawn.
  const auto& layout = run["layout"];
  REQUIRE(layout["nodes"].size() == 4);
  std::map<std::string, double> x;
  for (const auto& node : layout["nodes"]) {
    x[node["step"]] = node["x"].get<double>();
    CHECK(node["w"].get<double>() > 0);
    CHECK(node["y"].get<double>() >= 0);
    CHECK(node["y"].get<double>() + node["h"].get<double>() <= layout["height"].get<double>() + 1);
  }
  CHECK(x["a"] < x[kHostile]);
  CHECK(x["a"] < x["c"]);
  CHECK(x["c"] < x["d"]);
  CHECK(layout["edges"].size() == 4);
  for (const auto& edge : layout["edges"]) CHECK(edge["points"].size() >= 4);
}

TEST_CASE("the event stream paces large updates by their size; the run's last one never waits") {
  test::TempDir dir;
  const std::string journal = dir.path("journal.sqlite");
  {
    auto db = openJournal(journal);
    REQUIRE(db.ok());
    RunJournal writer(*db.value(), nlohmann::json::object());
    writer.onEvent(RunStarted{"00aa11bb22cc33dd",
                              dir.write("w.yaml", "name: w\n"),
                              "w",
                              dir.write("p.yaml", "version: 1\n"),
                              6000,
                              2,
                              {},
                              false,
                              {},
                              {},
                              {}});
    // A run of 6,000 steps: each update of it is megabytes.
    for (int i = 0; i < 6000; ++i) {
      const std::string step = "step-" + std::to_string(i);
      writer.onEvent(StepStarted{step, "mix"});
      writer.onEvent(StepFinished{step, "mix", 3, 41, std::nullopt, {{"out", 2}}, false});
    }
    REQUIRE_FALSE(writer.failure());
  }
  DashboardRoutes routes(DashboardOptions{journal, AccessToken(kToken), true});
  const HttpReply stream = request(routes, "/api/runs/00aa11bb22cc33dd/events", cookie());
  REQUIRE(stream.nextChunk);
  const auto first = stream.nextChunk();
  REQUIRE(first);
  REQUIRE(first->rfind("event: update\n", 0) == 0);
  REQUIRE(first->size() > 2 * (1u << 20));  // a pause of two seconds and more follows it

  auto db = openJournal(journal);
  REQUIRE(db.ok());
  REQUIRE_FALSE(db.value()->run(
      "INSERT INTO transitions (run_id, step, state, at) VALUES (?1, 'late', 'running', 'now')",
      {std::string("00aa11bb22cc33dd")}));
  CHECK(stream.nextChunk() == std::string());  // changed, but within the pause: not yet built
  REQUIRE_FALSE(db.value()->run("UPDATE runs SET state = 'succeeded'", {}));
  const auto last = stream.nextChunk();  // the run ended: its last update goes at once
  REQUIRE(last);
  CHECK(last->find("\"succeeded\"") != std::string::npos);
  CHECK_FALSE(stream.nextChunk());
}

TEST_CASE("the step panel reads its one step: plugin, outputs, audit log, not the whole run") {
  test::TempDir dir;
  const std::string journal = dir.path("journal.sqlite");
  writeRun(dir, journal, /*finish=*/true);
  DashboardRoutes routes(DashboardOptions{journal, AccessToken(kToken), true});

  const auto a = nlohmann::json::parse(
      request(routes, "/api/runs/00aa11bb22cc33dd/step?name=a", cookie()).body);
  CHECK(a["step"] == "a");
  CHECK(a["audit_log"] == dir.path("audit.jsonl"));
  REQUIRE(a["outputs"].size() == 1);  // read back from the journal's inline bytes, hash checked
  CHECK(a["outputs"][0]["name"] == "out");
  CHECK(a["outputs"][0]["text"] == "hi");
  // The audit log was never written: the panel says so and shows the rest.
  CHECK(a["error"].get<std::string>().find("audit.jsonl") != std::string::npos);

  // A step that never started has only its graph node: no outputs, and its plugin from there.
  const auto d = nlohmann::json::parse(
      request(routes, "/api/runs/00aa11bb22cc33dd/step?name=d", cookie()).body);
  CHECK(d["step"] == "d");
  CHECK(d["outputs"].empty());
  auto db = openJournal(journal, /*readOnly=*/true);
  REQUIRE(db.ok());
  auto shown = journalRunStep(*db.value(), "00aa", "d");
  REQUIRE(shown.ok());
  CHECK(shown.value()["plugin"] == "mix");
  CHECK(shown.value()["artifacts"].empty());
  CHECK(shown.value()["run"]["id"] == "00aa11bb22cc33dd");
  CHECK_FALSE(shown.value().contains("steps"));

  CHECK(request(routes, "/api/runs/00aa11bb22cc33de/step?name=a", cookie()).status == 404);
  CHECK(request(routes, "/api/runs/00aa11bb22cc33dd/step", cookie()).status == 400);
}

TEST_CASE("a graph past the layout's bound is listed, not laid out") {
  std::vector<LayoutNode> nodes(kMaxLaidOutSteps + 1);
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].step = "s" + std::to_string(i);
  CHECK(layoutGraph(nodes)["too_large"] == kMaxLaidOutSteps + 1);
}

TEST_CASE("the event stream says when a running run's journal changes, and ends with the run") {
  test::TempDir dir;
  const std::string journal = dir.path("journal.sqlite");
  writeRun(dir, journal, /*finish=*/false);
  DashboardRoutes routes(DashboardOptions{journal, AccessToken(kToken), true});
  const HttpReply stream = request(routes, "/api/runs/00aa11bb22cc33dd/events", cookie());
  CHECK(header(stream, "Content-Type") == "text/event-stream");
  REQUIRE(stream.nextChunk);
  const auto first = stream.nextChunk();
  REQUIRE(first);
  CHECK(first->rfind("event: update\ndata: ", 0) == 0);
  CHECK(first->size() >= 2);
  CHECK(first->substr(first->size() - 2) == "\n\n");
  // One data line holding the run as the journal has it.
  const std::string data = first->substr(20, first->size() - 22);
  CHECK(data.find('\n') == std::string::npos);
  const auto carried = nlohmann::json::parse(data);
  CHECK(carried["run"]["state"] == "running");
  CHECK(carried["graph"].size() == 4);
  CHECK_FALSE(carried.contains("layout"));
  CHECK_FALSE(carried.contains("transitions"));
  CHECK(stream.nextChunk() == std::string());  // nothing changed: nothing sent
  {
    auto db = openJournal(journal);
    REQUIRE(db.ok());
    REQUIRE_FALSE(db.value()->run(
        "INSERT INTO transitions (run_id, step, state, at) VALUES (?1, 'c', 'running', 'now')",
        {std::string("00aa11bb22cc33dd")}));
    REQUIRE_FALSE(db.value()->run("UPDATE runs SET state = 'failed'", {}));
  }
  const auto update = stream.nextChunk();
  REQUIRE(update);
  CHECK(update->find("failed") != std::string::npos);
  CHECK_FALSE(stream.nextChunk());  // the run ended: the stream ends
}

namespace {

// What the page does with a `changes` event (app.js, mergeChanges): the changed rows in place of
// their old ones, new ones added, each list in the journal's order; the whole lists replaced.
void mergeChanges(nlohmann::json& run, const nlohmann::json& changes) {
  run["run"] = changes["run"];
  const auto merge = [&](const char* key, const std::vector<std::string>& identity,
                         const std::vector<std::string>& order) {
    // nlohmann::json orders null before any text, as SQLite does.
    auto keyOf = [](const nlohmann::json& row, const std::vector<std::string>& fields) {
      std::vector<nlohmann::json> out;
      out.reserve(fields.size());
      for (const auto& field : fields) out.push_back(row.value(field, nlohmann::json()));
      return out;
    };
    std::map<std::vector<nlohmann::json>, nlohmann::json> rows;
    for (const auto& row : run[key]) rows[keyOf(row, identity)] = row;
    for (const auto& row : changes[key]) rows[keyOf(row, identity)] = row;
    std::vector<nlohmann::json> list;
    list.reserve(rows.size());
    for (auto& [_, row] : rows) list.push_back(row);
    std::stable_sort(list.begin(), list.end(), [&](const auto& a, const auto& b) {
      return keyOf(a, order) < keyOf(b, order);
    });
    run[key] = list;
  };
  merge("steps", {"name"}, {"started_at", "name"});
  merge("attempts", {"step", "number"}, {"started_at", "step", "number"});
  merge("artifacts", {"step", "name"}, {"step", "name"});
  for (const char* key : {"plugins", "tallies", "workers", "inputs"})
    if (changes.contains(key)) run[key] = changes[key];
}

nlohmann::json eventData(const std::string& chunk, const std::string& event) {
  const std::string head = "event: " + event + "\ndata: ";
  INFO("the chunk: ", chunk.substr(0, 300));
  REQUIRE(chunk.rfind(head, 0) == 0);
  return nlohmann::json::parse(chunk.substr(head.size(), chunk.size() - head.size() - 2));
}

// Past the pause an event of a few kilobytes sets (kMaxStreamBytesPerSecond: milliseconds).
void waitOutThePause() {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

std::vector<std::string> column(const nlohmann::json& rows, const char* name) {
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(row[name].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("after the run whole, the event stream sends what changed: merged, it is the run") {
  test::TempDir dir;
  const std::string journalPath = dir.path("journal.sqlite");
  auto db = openJournal(journalPath);
  REQUIRE(db.ok());
  RunJournal writer(*db.value(), nlohmann::json{{"audit_log", dir.path("audit.jsonl")}});
  writer.onEvent(RunStarted{"00aa11bb22cc33dd",
                            dir.write("w.yaml", "name: w\n"),
                            "w",
                            dir.write("p.yaml", "version: 1\n"),
                            4,
                            2,
                            {{"mix", "sha256:00"}},
                            false,
                            {},
                            {},
                            {{"a", "mix", {}}, {"b", "mix", {}}, {"c", "mix", {"a"}}}});
  writer.onEvent(WorkerStarted{"mix", "/p/mix.so", "sha256:00", 41, 1 << 20, 5, "none", {}});
  writer.onEvent(StepStarted{"a", "mix"});
  writer.onEvent(ArtifactDigested{"a", "out", 2, sha256Digest("hi"),
                                  std::make_shared<const std::string>("hi")});
  writer.onEvent(StepFinished{"a", "mix", 3, 41, std::nullopt, {{"out", 2}}, false});
  writer.onEvent(StepStarted{"b", "mix"});
  writer.onQuiet();

  DashboardRoutes routes(DashboardOptions{journalPath, AccessToken(kToken), true});
  const HttpReply stream = request(routes, "/api/runs/00aa11bb22cc33dd/events", cookie());
  REQUIRE(stream.nextChunk);
  auto first = stream.nextChunk();
  REQUIRE(first);
  nlohmann::json page = eventData(*first, "update");  // the run whole, as the page first holds it
  CHECK(column(page["steps"], "name") == std::vector<std::string>{"a", "b"});

  // An output's digest lands before its step's end, in a commit of its own: nothing to send yet;
  // it goes with the step's end.
  writer.onEvent(ArtifactDigested{"b", "out", 3, sha256Digest("hey"),
                                  std::make_shared<const std::string>("hey")});
  writer.onQuiet();
  waitOutThePause();
  CHECK(stream.nextChunk() == std::string());
  writer.onEvent(StepFinished{"b", "mix", 3, 41, std::nullopt, {{"out", 3}}, false});
  writer.onEvent(StepStarted{"c", "mix"});
  StepRetrying retry;
  retry.step = "c";
  retry.plugin = "mix";
  retry.error = makeError(ErrorCategory::kPluginError, "try again");
  retry.why = StepRetrying::Why::kRetry;
  writer.onEvent(retry);
  StepRetrying itemRetry = retry;  // a for_each item's attempts go by its label, STEP[N]
  itemRetry.step = "c[1]";
  writer.onEvent(itemRetry);
  GateDecided denied;
  denied.verdict = GateDecided::Verdict::kDeny;
  denied.plugin = "mix";
  denied.step = "c";
  denied.direction = "plugin->host";
  denied.method = "read_file";
  writer.onEvent(denied);
  writer.onQuiet();
  waitOutThePause();
  auto second = stream.nextChunk();
  REQUIRE(second);
  const nlohmann::json changes = eventData(*second, "changes");
  // Only the steps a transition touched since, with their attempts and outputs; the lists that
  // change whole (a denial was added), whole; never the graph.
  CHECK(column(changes["steps"], "name") == std::vector<std::string>{"b", "c"});
  CHECK(column(changes["attempts"], "step") ==
        std::vector<std::string>{"b", "c", "c", "c[1]", "c[1]"});
  CHECK(column(changes["artifacts"], "step") == std::vector<std::string>{"b"});
  CHECK(changes["tallies"].size() == 1);
  CHECK(changes.contains("workers"));
  CHECK_FALSE(changes.contains("graph"));
  mergeChanges(page, changes);

  RunReport report;
  writer.onEvent(StepFinished{"c", "mix", 3, 41, std::nullopt, {}, false});
  writer.onEvent(RunFinished{&report});
  auto last = stream.nextChunk();
  REQUIRE(last);
  const nlohmann::json ending = eventData(*last, "changes");
  CHECK(ending["run"]["state"] == "succeeded");
  CHECK(column(ending["steps"], "name") == std::vector<std::string>{"c"});
  // The step's end reads its items' attempts again too.
  CHECK(column(ending["attempts"], "step") == std::vector<std::string>{"c", "c", "c[1]", "c[1]"});
  CHECK_FALSE(ending.contains("tallies"));  // they did not change
  mergeChanges(page, ending);
  CHECK_FALSE(stream.nextChunk());  // the run ended: so does the stream

  // What the page holds now is what it would read whole.
  auto reader = openJournal(journalPath, /*readOnly=*/true);
  REQUIRE(reader.ok());
  auto whole = journalRun(*reader.value(), "00aa11bb22cc33dd", RunTransitions::kLeaveOut);
  REQUIRE(whole.ok());
  page.erase("stamp");
  CHECK(page.dump() == whole.value().dump());
}
