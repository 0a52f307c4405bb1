#include "cli/run_console.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "core/untrusted_text.h"
#include "run/run_report.h"

namespace cordon {
namespace {

// Plugin text is untrusted: one line, no escapes, always indented under its step.
std::string printable(const std::string& text) {
  return forTerminal(text, 1000);
}

std::string milliseconds(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

size_t terminalColumns(std::FILE* out) {
  struct winsize size {};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

RunConsole::RunConsole(std::FILE* out) : RunConsole(out, isatty(fileno(out)) == 1) {}

RunConsole::RunConsole(std::FILE* out, bool live) : out_(out), live_(live) {}

RunConsole::~RunConsole() {
  clearStatus();
}

void RunConsole::onEvent(const RunEvent& event) {
  std::visit(Overloaded{
                 [this](const RunStarted& e) { total_ = e.steps; },
                 [](const InputsRejected&) {},
                 [this](const StepStarted& e) {
                   ++started_;
                   running_[e.step] = {started_, std::chrono::steady_clock::now()};
                   line(counter(started_) + e.step + " (" + e.plugin + ") ...");
                 },
                 [this](const StepFinished& e) {
                   auto found = running_.find(e.step);
                   const size_t number = found == running_.end() ? 0 : found->second.number;
                   if (found != running_.end()) running_.erase(found);
                   if (e.error) {
                     ++failed_;
                     line(counter(number) + e.step + " FAILED (" + milliseconds(e.milliseconds) +
                          (e.continued ? ", on_error: continue" : "") +
                          "): " + printable(e.error->describe()));
                   } else {
                     ++done_;
                     line(counter(number) + e.step + " ok (" + milliseconds(e.milliseconds) + ")");
                   }
                 },
                 [this](const StepCacheChecked& e) {
                   for (const std::string& reason : e.rejected)
                     line("    " + e.step + " cache: " + printable(reason));
                   if (e.fromRun.empty()) return;
                   line("    " + e.step + " cached: the outputs of step " + printable(e.fromStep) +
                        " of run " + printable(e.fromRun));
                 },
                 [this](const StepSkipped& e) {
                   ++skipped_;
                   line("[-] " + e.step + " skipped (" + printable(e.reason) + ")");
                 },
                 [this](const StepRetrying& e) {
                   if (e.why == StepRetrying::Why::kRetry) {
                     line("    " + e.step + " retrying (attempt " + std::to_string(e.restart + 1) +
                          " of " + std::to_string(e.of + 1) + ", after " +
                          std::to_string(e.backoffMs) + " ms): " + printable(e.error.describe()));
                     return;
                   }
                   line("    " + e.step + " restarting its worker (" + std::to_string(e.restart) +
                        " of " + std::to_string(e.of) + ", after " + std::to_string(e.backoffMs) +
                        " ms): " + printable(e.error.describe()));
                 },
                 [](const RestartsExhausted&) {},
                 [this](const PluginLogged& e) {
                   line("    " + e.step + " " + printable(e.level) + ": " + printable(e.message));
                 },
                 [](const OutputsFailed&) {},
                 [](const ArtifactSpilled&) {},
                 [](const ArtifactDigested&) {},
                 [](const InputDigested&) {},
                 [](const CallFinished&) {},
                 [](const WorkerReady&) {},
                 [](const WorkerStarted&) {},
                 [](const WorkerStartFailed&) {},
                 [](const WorkerStopped&) {},
                 [](const GateDecided&) {},
                 [this](const RunFinished&) { clearStatus(); },
             },
             event);
}

std::string RunConsole::counter(size_t number) const {
  return "[" + std::to_string(number) + "/" + std::to_string(total_) + "] ";
}

void RunConsole::line(const std::string& text) {
  clearStatus();
  std::fprintf(out_, "%s\n", text.c_str());
  if (live_ && !running_.empty()) drawStatus();
  std::fflush(out_);
}

void RunConsole::tick() {
  if (!live_ || running_.empty()) return;
  clearStatus();
  drawStatus();
  std::fflush(out_);
}

void RunConsole::drawStatus() {
  const size_t pending = total_ - started_ - skipped_;
  std::string status = "  " + std::to_string(pending) + " pending, " +
                       std::to_string(running_.size()) + " running, " + std::to_string(done_) +
                       " done, " + std::to_string(failed_) + " failed, " +
                       std::to_string(skipped_) + " skipped |";
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [step, running] : running_) {
    char elapsed[32];
    std::snprintf(elapsed, sizeof elapsed, " %.1fs",
                  std::chrono::duration<double>(now - running.since).count());
    status += " " + step + elapsed;
  }
  const size_t columns = terminalColumns(out_);
  if (status.size() >= columns) status.resize(columns - 1);
  std::fprintf(out_, "%s", status.c_str());
  statusShown_ = true;
}

void RunConsole::clearStatus() {
  if (!statusShown_) return;
  std::fprintf(out_, "\r\033[K");
  statusShown_ = false;
}

}  // namespace cordon
