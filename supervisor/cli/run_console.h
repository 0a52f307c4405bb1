// A run as the operator watches it, on stderr. Each step's start, end or skip is a line, and
// the plugins' log lines are indented under their step. On a terminal a status line at the
// bottom shows the counts of pending, running, done, failed and skipped steps and every running
// step with its elapsed time, redrawn as the run goes; elsewhere (a pipe, a file, CI) there
// are only the plain lines.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "run/run_events.h"

namespace cordon {

class RunConsole final : public RunListener {
 public:
  // live: draw the status line (default: whether `out` is a terminal).
  explicit RunConsole(std::FILE* out = stderr);
  RunConsole(std::FILE* out, bool live);
  ~RunConsole() override;
  void onEvent(const RunEvent& event) override;
  void tick();  // redraws the status line (elapsed times move)
  bool live() const { return live_; }

 private:
  std::string counter(size_t number) const;  // "[N/TOTAL] "
  void line(const std::string& text);        // a permanent line, above the status line
  void drawStatus();
  void clearStatus();

  std::FILE* out_;
  bool live_;
  bool statusShown_ = false;
  size_t total_ = 0;
  size_t started_ = 0;
  size_t done_ = 0;
  size_t failed_ = 0;
  size_t skipped_ = 0;
  struct Running {
    size_t number;  // the step's place in the order steps started: "[2/5]"
    std::chrono::steady_clock::time_point since;
  };
  std::map<std::string, Running> running_;  // by step
};

}  // namespace cordon
