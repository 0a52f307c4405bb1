// What happens in a run, as typed events. The engine emits them at one place each; the audit
// log (run/audit_subscriber), the console (cli/run_console) and the tests subscribe, and later
// subscribers (metrics, traces, a dashboard) need no new call sites.
//
// Events carry the plugin's words as they came (log messages, error texts): a subscriber that
// prints or records them makes them safe (core/untrusted_text), as every output does.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.h"

namespace cordon {

struct RunReport;

struct RunStarted {
  std::string runId;
  std::string workflowPath;
  std::string workflowName;
  std::string policyPath;
  size_t steps = 0;
  unsigned jobs = 1;
};
struct InputsRejected {
  std::string workflowPath;
  Error error;
};
struct StepStarted {
  std::string step;
  std::string plugin;
};
struct StepFinished {
  std::string step;
  std::string plugin;
  double milliseconds = 0;
  pid_t workerPid = 0;
  std::optional<Error> error;  // empty: it succeeded
  std::map<std::string, uint64_t> outputSizes;
};
struct StepSkipped {
  std::string step;
  std::string plugin;
  std::string reason;
};
// on_failure: the step runs again on a new worker after `backoffMs`.
struct StepRetrying {
  std::string step;
  std::string plugin;
  unsigned restart = 0;
  unsigned of = 0;
  uint64_t backoffMs = 0;
  Error error;
};
struct RestartsExhausted {
  std::string step;
  std::string plugin;
  unsigned restarts = 0;
  Error error;
};
struct PluginLogged {
  std::string step;
  std::string level;
  std::string message;
};
struct OutputsFailed {
  Error error;
};
struct RunFinished {
  const RunReport* report = nullptr;
};

using RunEvent =
    std::variant<RunStarted, InputsRejected, StepStarted, StepFinished, StepSkipped, StepRetrying,
                 RestartsExhausted, PluginLogged, OutputsFailed, RunFinished>;

// Visits a RunEvent with one lambda per alternative: std::visit(Overloaded{...}, event).
template <class... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <class... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

class RunListener {
 public:
  virtual ~RunListener() = default;
  virtual void onEvent(const RunEvent& event) = 0;
};

// The stream one run's events go to: every subscriber, in the order they subscribed.
class RunEvents {
 public:
  void subscribe(RunListener& listener) { listeners_.push_back(&listener); }
  void emit(const RunEvent& event) const {
    for (RunListener* listener : listeners_) listener->onEvent(event);
  }

 private:
  std::vector<RunListener*> listeners_;
};

}  // namespace cordon
