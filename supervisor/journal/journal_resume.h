// What cordon resume reads of a run in the journal (docs/state.md, "Resume"): how it was asked
// for, the digests it ran with, and its steps as the supervisor left them. A succeeded step's
// outputs are read back from the artifact store and checked against their journaled SHA-256;
// one whose outputs are not all there, intact, is not taken as ended (it runs again).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "journal/sqlite_db.h"
#include "run/resume_state.h"

namespace cordon {

struct JournaledRun {
  std::string id;
  std::string state;  // running, succeeded, failed, cancelled
  std::string workflowPath;
  std::string workflowDigest;
  std::string policyPath;
  std::string policyDigest;
  nlohmann::json invocation;  // null for a run journaled by schema 1
  std::map<std::string, std::set<std::string>> pluginDigests;  // plugin -> digests it ran
  std::map<std::string, std::string> inputDigests;             // input -> sha256:HEX
  size_t stepsStarted = 0;  // steps with a row: started, skipped or ended
};

// The run whose id is (or starts with, 4 or more hex digits) `wanted`.
Outcome<JournaledRun> journaledRun(SqliteDb& db, const std::string& wanted);

// The steps of `run` as the journal has them, outputs read from `storeDirectory`. What could not
// be taken as ended (an output missing or changed in the store) is said in `warnings`.
Outcome<ResumeState> resumeStateOf(SqliteDb& db, const JournaledRun& run,
                                   const std::string& storeDirectory,
                                   std::vector<std::string>& warnings);

}  // namespace cordon
