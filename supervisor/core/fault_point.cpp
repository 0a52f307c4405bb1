#include "core/fault_point.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace cordon {
namespace {

struct KillAt {
  std::string name;  // empty: no fault is injected
  unsigned long at = 1;
  unsigned long seen = 0;
};

KillAt& configured() {
  static KillAt killAt = [] {
    KillAt parsed;
    const char* text = std::getenv("CORDON_TEST_KILL_AT");
    if (text == nullptr || *text == '\0') return parsed;
    std::string spec = text;
    if (auto colon = spec.rfind(':'); colon != std::string::npos) {
      parsed.at = std::strtoul(spec.c_str() + colon + 1, nullptr, 10);
      spec.resize(colon);
    }
    if (parsed.at == 0) parsed.at = 1;
    parsed.name = spec;
    return parsed;
  }();
  return killAt;
}

}  // namespace

bool faultPointDue(std::string_view prefix, std::string_view name) {
  KillAt& killAt = configured();
  if (killAt.name.size() != prefix.size() + name.size() ||
      std::string_view(killAt.name).substr(0, prefix.size()) != prefix ||
      std::string_view(killAt.name).substr(prefix.size()) != name)
    return false;
  return ++killAt.seen == killAt.at;
}

void crashNow() {
  kill(getpid(), SIGKILL);
  std::abort();  // not reached: SIGKILL cannot be caught
}

void faultPoint(std::string_view name) {
  if (faultPointDue("", name)) crashNow();
}

}  // namespace cordon
