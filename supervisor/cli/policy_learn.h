// `cordon policy learn -- WORKFLOW`: runs the workflow with every call and syscall allowed but
// recorded (policy/policy_learner.h), then writes the smallest policy that lets that run pass.
#pragma once

#include <map>
#include <string>

#include "cli/preflight.h"
#include "policy/policy_learner.h"

namespace cordon {

struct LearnOptions {
  std::string workflow;
  std::string output = "-";  // "-": standard output
  std::string auditLog;      // empty: STATE_DIR/learn-audit.jsonl
  TrustOptions trust;
  std::string workerBinary;
  std::map<std::string, std::string> inputFiles;
  double headroom = PolicyLearner::kDefaultHeadroom;  // --headroom
};

// 0: the run passed and the policy was written; 1: the run failed (nothing written); 2: bad
// input. Signatures are verified as for `cordon run`: learning does not run untrusted bytes
// that a real run would refuse.
int policyLearnCommand(const LearnOptions& options);

}  // namespace cordon
