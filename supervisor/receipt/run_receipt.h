// A run's receipt (docs/trust.md, "Run receipts"): an in-toto Statement v1 whose subjects are
// the workflow's outputs and whose predicate binds the workflow's and the policy's digests, each
// plugin's digest and signer, every input and step output digest, the run's outcome and the hash
// of its run.end audit record; signed in a DSSE envelope with the operator's key.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run/run_events.h"
#include "run/run_report.h"

namespace cordon {

inline constexpr char kReceiptPayloadType[] = "application/vnd.in-toto+json";
inline constexpr char kInTotoStatementType[] = "https://in-toto.io/Statement/v1";
inline constexpr char kReceiptPredicateType[] = "https://cordon.dev/receipt/run/v1";

// Collects what the receipt states from the run's events: it never asks the engine.
class ReceiptRecorder final : public RunListener {
 public:
  // `signers`: plugin -> key id of the signature preflight verified ("" unsigned); `outputs`:
  // workflow output -> "STEP.OUTPUT" it publishes.
  ReceiptRecorder(std::map<std::string, std::string> signers,
                  std::map<std::string, std::string> outputs)
      : signers_(std::move(signers)), workflowOutputs_(std::move(outputs)) {}

  void onEvent(const RunEvent& event) override;

  // The Statement, once the run ended; `auditLog` and `runEndHash` say where its record is.
  nlohmann::json statement(const std::string& auditLog, const std::string& runEndHash) const;

 private:
  struct Digest {
    uint64_t bytes = 0;
    std::string digest;
  };
  std::map<std::string, std::string> signers_;
  std::map<std::string, std::string> workflowOutputs_;
  RunStarted started_;
  std::string startedAt_;
  std::string workflowDigest_;
  std::string policyDigest_;
  std::string endedAt_;
  std::map<std::string, Digest> inputs_;
  std::map<std::string, std::map<std::string, Digest>> stepOutputs_;  // step -> output -> digest
  std::map<std::string, std::pair<std::string, std::string>> steps_;  // step -> plugin, status
  std::map<std::string, std::string> cachedFrom_;
  std::string status_ = "failed";
  nlohmann::json error_;
};

}  // namespace cordon
