// What a resumed run takes from its journal (cordon resume, docs/state.md "Resume"): the steps
// that ended before the supervisor died, which do not run again, and the steps it cut short,
// which run again under their retry policy with the cut-short attempt counted as failed.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

#include "core/error.h"
#include "run/artifacts.h"
#include "run/run_report.h"

namespace cordon {

struct EndedStep {
  StepState state = StepState::kSkipped;
  bool continued = false;      // failed, with on_error: continue
  std::optional<Error> error;  // a failed step's
  std::string skipReason;
  ArtifactMap outputs;  // a succeeded step's, read back from the artifact store
  std::map<std::string, std::string> outputDigests;  // output -> sha256:HEX, as checked
  double milliseconds = 0;
  pid_t workerPid = 0;
  unsigned attempts = 0;
};

struct ResumeState {
  std::map<std::string, EndedStep> ended;       // by step name
  std::map<std::string, unsigned> interrupted;  // step -> the attempt that was cut short
};

}  // namespace cordon
