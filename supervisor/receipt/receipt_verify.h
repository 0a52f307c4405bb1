// Checking a run receipt (cordon receipt verify, docs/trust.md "Run receipts"): its signature by
// the operator's key, optionally the published outputs against its subjects, and that an audit
// log holds the run up to the run.end record whose hash it names. Everything in the receipt is
// untrusted until the signature holds, and names from it are checked before they touch a path.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/error.h"

namespace cordon {

struct ReceiptVerifyRequest {
  std::string receipt;    // the DSSE envelope's file
  std::string publicKey;  // minisign public key file
  std::string artifacts;  // --artifacts DIR: the run's --output-dir; empty: not checked
  std::string auditLog;   // --audit-log FILE; empty: not checked
};

struct ReceiptVerdict {
  nlohmann::json statement;           // the signed Statement (set once the signature holds)
  std::vector<std::string> verified;  // what held, in words
  std::vector<std::string> failures;  // what did not; empty: the receipt holds
};

// bad_input when the receipt or the key cannot be read, or the key is not a minisign key;
// otherwise the verdict (a signature that does not verify is a failure, nothing else is checked).
Outcome<ReceiptVerdict> verifyReceipt(const ReceiptVerifyRequest& request);

}  // namespace cordon
