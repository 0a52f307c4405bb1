// The dashboard (docs/dashboard.md): pages and a read-only JSON API over the run journal and the
// audit log, served on the HTTP plane. Every request needs the access token; every reply carries
// a strict Content-Security-Policy; the page's script sets every text a plugin or a file chose
// as text (textContent), never as markup, and the API hands it out only as JSON made by jsonText.
//
//   /                         the page (runs list, a run's graph, a node's panel)
//   /assets/app.js, style.css its script and style, served from the binary (nothing from the net)
//   /api/runs                 every run, newest first, with its denials and violations
//   /api/runs/ID              one run: the journal's rows, its graph laid out by Graphviz
//   /api/runs/ID/step?name=S  one step: its audit trail (as cordon audit query prints it) and
//                             its plugin's signature checks
//   /api/runs/ID/events       Server-Sent Events: "update" whenever the run's journal changes
#pragma once

#include <optional>
#include <string>

#include "dashboard/access_token.h"
#include "observe/http_routes.h"

namespace cordon {

struct DashboardOptions {
  std::string journalPath;  // STATE_DIR/journal.sqlite (it may not exist yet)
  AccessToken token;
  // cordon ui: /metrics and /healthz need the token too. cordon run --listen keeps them open to
  // scrapers, as docs/metrics.md documents.
  bool guardPlaneRoutes = true;
};

class DashboardRoutes final : public HttpRoutes {
 public:
  explicit DashboardRoutes(DashboardOptions options) : options_(std::move(options)) {}
  std::optional<HttpReply> answer(const HttpExchange& request) override;
  const std::string& token() const { return options_.token.text(); }

 private:
  HttpReply runs() const;
  HttpReply run(const std::string& id) const;
  HttpReply step(const std::string& id, const std::string& name) const;
  HttpReply events(const std::string& id) const;

  DashboardOptions options_;
};

}  // namespace cordon
