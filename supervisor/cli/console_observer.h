// Progress on stderr: one line as each step starts and ends, and the plugins' log lines.
#pragma once

#include <cstdio>

#include "scheduler/run_observer.h"

namespace cordon {

class ConsoleObserver final : public RunObserver {
 public:
  explicit ConsoleObserver(std::FILE* out = stderr) : out_(out) {}
  void stepStarted(size_t index, size_t total, const std::string& step,
                   const std::string& plugin) override;
  void stepFinished(const std::string& step, const Error* error, double milliseconds) override;
  void stepSkipped(const std::string& step, const std::string& reason) override;
  void pluginLog(const std::string& step, const std::string& level,
                 const std::string& message) override;

 private:
  std::FILE* out_;
  std::string counter_;
};

}  // namespace cordon
