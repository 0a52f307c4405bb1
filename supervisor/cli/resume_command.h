// `cordon resume RUN_ID`: finishes a run whose supervisor died (docs/state.md, "Resume"). The
// journal says how the run was asked for and what had ended; steps that ended do not run again,
// a step cut short runs again under its retry policy. Refused, with each difference named, when
// the workflow, the policy, a plugin's bytes or an input are not what the run started with.
#pragma once

#include <string>

#include "cli/commands.h"

namespace cordon {

struct ResumeOptions {
  std::string runId;
  TrustOptions trust;  // the plugin search path, trust store and state directory (its journal)
  std::string workerBinary;
  unsigned jobs = 0;  // 0: the run's own --jobs
  bool json = false;
  ObserveOptions observe;
};

// The run's exit code, as cordon run's; 2 when it cannot be resumed.
int resumeCommand(const ResumeOptions& given);

}  // namespace cordon
