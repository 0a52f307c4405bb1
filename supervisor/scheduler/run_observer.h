// What a run tells the person watching it: progress and plugin log lines. The CLI prints them;
// tests collect them. Security events go to the audit log, not here.
#pragma once

#include <string>

#include "core/error.h"

namespace cordon {

class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void stepStarted(size_t index, size_t total, const std::string& step,
                           const std::string& plugin) = 0;
  virtual void stepFinished(const std::string& step, const Error* error, double milliseconds) = 0;
  virtual void stepSkipped(const std::string& step, const std::string& reason) = 0;
  virtual void pluginLog(const std::string& step, const std::string& level,
                         const std::string& message) = 0;
};

class SilentObserver final : public RunObserver {
 public:
  void stepStarted(size_t, size_t, const std::string&, const std::string&) override {}
  void stepFinished(const std::string&, const Error*, double) override {}
  void stepSkipped(const std::string&, const std::string&) override {}
  void pluginLog(const std::string&, const std::string&, const std::string&) override {}
};

}  // namespace cordon
