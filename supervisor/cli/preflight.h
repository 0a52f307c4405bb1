// Everything `cordon validate` checks and `cordon run` checks before starting a worker: the
// workflow parses and forms a graph, the policy parses, every plugin resolves to one package on
// the search path, has a policy section that grants everything its manifest asks for, compiles
// to a seccomp filter, and passes signature verification (docs/trust.md).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "core/error.h"
#include "policy/policy.h"
#include "policy/seccomp_compiler.h"
#include "trust/plugin_verifier.h"
#include "trust/trust_store.h"
#include "trust/version_ledger.h"
#include "workflow/graph.h"
#include "workflow/workflow.h"

namespace cordon {

struct TrustOptions {
  std::vector<std::string> pluginPath;
  std::string trustStore;  // directory; empty: none (only unsigned-allowed plugins can run)
  std::string stateDir;    // holds the rollback ledger; empty: no rollback protection
};

struct Preflight {
  std::unique_ptr<Workflow> workflow;  // stable address: the graph points into it
  WorkflowGraph graph;
  Policy policy;
  std::optional<TrustStore> trustStore;
  std::optional<VersionLedger> ledger;
  std::map<std::string, VerifiedPlugin> plugins;  // by plugin name
  // Compiled here once; the run plan puts them in every worker's sandbox spec.
  std::map<std::string, SeccompPrograms> seccomp;  // by plugin name
};

// `audit` may be null (validate writes no log); when set, every verification and refusal is
// recorded there.
Outcome<std::shared_ptr<Preflight>> preflight(const std::string& workflowPath,
                                              const std::string& policyPath,
                                              const TrustOptions& trust, const RunAudit& audit);
// `cordon validate` without a policy: the workflow parses, its graph builds, and every plugin
// it names resolves on the plugin path. Nothing about what the plugins may do is checked.
Outcome<std::unique_ptr<Workflow>> checkWorkflowAlone(const std::string& workflowPath,
                                                      const TrustOptions& trust);

// The same with a policy already in memory (`cordon policy learn` builds its own).
Outcome<std::shared_ptr<Preflight>> preflight(const std::string& workflowPath, Policy policy,
                                              const TrustOptions& trust, const RunAudit& audit);

// The trust store and the ledger the options name (each optional), as preflight loads them.
Outcome<Done> loadTrust(const TrustOptions& options, std::optional<TrustStore>& store,
                        std::optional<VersionLedger>& ledger);

}  // namespace cordon
