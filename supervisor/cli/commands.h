// The cordon subcommands. Each returns the process exit code (docs/errors.md):
// 0 success, 1 the workflow failed, 2 bad input (usage, a workflow or policy that does not
// validate, a missing plugin or input), 128 + N a run cancelled by signal N (130, 143).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/run_audit.h"
#include "cli/preflight.h"
#include "engine/run_plan.h"
#include "observe/run_observation.h"
#include "run/artifact_store.h"
#include "run/resume_state.h"

namespace cordon {

inline constexpr int kExitOk = 0;
inline constexpr int kExitWorkflowFailed = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitAuditTornTail = 3;  // audit verify: only the last record is cut short

void printError(const Error& error);  // "cordon: error: <describe()>" on stderr, neutralised

int auditRecoverCommand(const std::string& path);
// Closes the live file of an audit log as its next segment (docs/audit.md, "Rotation").
int auditRotateCommand(const std::string& path);

struct RunOptions {
  std::string workflow;
  std::string policy;
  std::string auditLog;  // empty: STATE_DIR/audit.jsonl
  TrustOptions trust;    // plugin search path, trust store, state directory (cli/host_config.h)
  std::string workerBinary;
  std::map<std::string, std::string> inputFiles;
  std::string outputDir;
  uint64_t maxInputMb = kDefaultMaxInputBytes >> 20;              // --max-input-mb
  uint64_t artifactMemoryMb = kDefaultArtifactMemoryBytes >> 20;  // --artifact-memory-mb
  std::string spillDir;          // --spill-dir; empty: STATE_DIR/artifacts
  uint64_t auditRotateMb = 256;  // --audit-rotate-mb; 0: never
  unsigned jobs = 0;             // --jobs; 0: the number of CPUs
  bool failFast = false;         // --fail-fast
  bool prestart = true;          // --no-prestart turns it off
  bool json = false;
  ObserveOptions observe;  // --listen, --metrics-file, --trace, --otlp-endpoint
  // --receipt-key: the operator's minisign secret key (unencrypted); empty: no receipt.
  std::string receiptKey;
  std::string receipt;  // --receipt FILE; default STATE_DIR/receipts/RUN_ID.json
};

// The --jobs a run gets when none is given: the CPUs this process may run on.
unsigned defaultJobs();

int runCommand(const RunOptions& options);
// What `cordon run` does once preflight accepted the workflow, which `cordon resume` shares:
// journal (with the run's lock), observe, run, publish, report. `resume`: what the journal says
// ended or was cut short (log.runId() names the run); nullptr for a new run.
int runPreflighted(const RunOptions& options, Preflight& preflight, Outcome<ArtifactMap> inputs,
                   const RunAudit& log, const ResumeState* resume);
// An input.rejected record for the refusal, the error on stderr, and exit 2.
int refuseRun(const RunAudit& log, const RunOptions& options, const Error& error,
              nlohmann::json record);
// How the run was asked for, every path absolute: what the journal keeps for cordon resume.
nlohmann::json invocationOf(const RunOptions& options);
// Where the run's outputs are stored: --spill-dir, else STATE_DIR/artifacts ("" without either).
std::string artifactStoreOf(const RunOptions& options);
int validateCommand(const RunOptions& options);
// Prints the workflow's graph as Graphviz dot or Mermaid (format "dot" or "mermaid").
int graphCommand(const std::string& workflowPath, const std::string& format);
int auditVerifyCommand(const std::string& path, bool json);
// 0 no findings, 1 findings (printed as FILE:LINE: field 'F': warning: ...), 2 does not parse.
int policyLintCommand(const std::string& path, bool json);
// Prints the OCI profile as a policy with one profile; what was left out goes in its comments.
int policyImportOciCommand(const std::string& path, const std::string& profileName);

}  // namespace cordon
