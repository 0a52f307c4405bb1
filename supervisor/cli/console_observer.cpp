#include "cli/console_observer.h"

#include "core/untrusted_text.h"

namespace cordon {
namespace {

// Plugin text is untrusted: one line, no escapes, always indented under its step.
std::string printable(const std::string& text) {
  return forTerminal(text, 1000);
}

}  // namespace

void ConsoleObserver::stepStarted(size_t index, size_t total, const std::string& step,
                                  const std::string& plugin) {
  char counter[48];
  std::snprintf(counter, sizeof counter, "[%zu/%zu]", index, total);
  counter_ = counter;
  std::fprintf(out_, "%s %s (%s) ...\n", counter_.c_str(), step.c_str(), plugin.c_str());
  std::fflush(out_);
}

void ConsoleObserver::stepFinished(const std::string& step, const Error* error,
                                   double milliseconds) {
  if (error == nullptr) {
    std::fprintf(out_, "%s %s ok (%.1f ms)\n", counter_.c_str(), step.c_str(), milliseconds);
  } else {
    std::fprintf(out_, "%s %s FAILED (%.1f ms): %s\n", counter_.c_str(), step.c_str(), milliseconds,
                 printable(error->describe()).c_str());
  }
  std::fflush(out_);
}

void ConsoleObserver::stepSkipped(const std::string& step, const std::string& reason) {
  std::fprintf(out_, "[-] %s skipped (%s)\n", step.c_str(), printable(reason).c_str());
}

void ConsoleObserver::pluginLog(const std::string& step, const std::string& level,
                                const std::string& message) {
  std::fprintf(out_, "    %s %s: %s\n", step.c_str(), printable(level).c_str(),
               printable(message).c_str());
}

}  // namespace cordon
