#include "cli/ui_command.h"

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "cli/runs_commands.h"
#include "core/untrusted_text.h"
#include "dashboard/dashboard_routes.h"
#include "observe/http_plane.h"

namespace cordon {

int uiCommand(const TrustOptions& options, const std::string& listen) {
  auto address = parseListenAddress(listen);
  if (!address.ok()) {
    printError(address.error());
    return kExitBadInput;
  }
  auto token = AccessToken::generate();
  if (!token.ok()) {
    printError(token.error());
    return kExitBadInput;
  }
  const std::string journal = journalPathIn(options);
  DashboardRoutes routes(DashboardOptions{journal, token.value(), /*guardPlaneRoutes=*/true});
  // The signals are waited for, not handled: blocked before the plane's thread starts, so only
  // this thread takes them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  MetricsQueue unused;
  auto plane = HttpPlane::start(address.value(), unused, &routes);
  if (!plane.ok()) {
    printError(plane.error());
    return kExitBadInput;
  }
  std::error_code error;
  if (!std::filesystem::exists(journal, error)) {
    std::fprintf(stderr, "cordon: no journal at %s yet; runs appear as cordon run writes them\n",
                 forTerminal(journal).c_str());
  }
  const bool v6 = address.value().host.find(':') != std::string::npos;
  std::printf("cordon ui: http://%s%s%s:%u/?token=%s\n", v6 ? "[" : "",
              address.value().host.c_str(), v6 ? "]" : "", plane.value()->port(),
              token.value().text().c_str());
  std::fflush(stdout);
  if (!address.value().loopback) {
    std::fprintf(stderr,
                 "cordon: warning: %s is not a loopback address: anyone who reaches it and has "
                 "the token can read every run in this journal\n",
                 address.value().host.c_str());
  }
  int signal = 0;
  sigwait(&stop, &signal);
  plane.value()->stop();
  std::fprintf(stderr, "cordon ui: stopped\n");
  return kExitOk;
}

}  // namespace cordon
