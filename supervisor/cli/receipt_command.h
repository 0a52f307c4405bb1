// Run receipts at the command line (docs/trust.md, "Run receipts"): the operator's key for
// `cordon run --receipt-key`, writing the signed envelope, and `cordon receipt verify`.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "receipt/receipt_verify.h"
#include "trust/minisign.h"

namespace cordon {

// An unencrypted minisign secret key (cordon-sign keygen, minisign -G -W); bad_input naming the
// file otherwise.
Outcome<minisign::SecretKey> loadReceiptKey(const std::string& path);

// Signs the Statement into a DSSE envelope and writes it to `path` whole (a temporary file,
// fsynced, renamed; the directory made); its "sha256:HEX", or why not.
Outcome<std::string> writeReceipt(const nlohmann::json& statement, const minisign::SecretKey& key,
                                  const std::string& path);

// 0 when the receipt holds, 1 when it does not (each failure named), 2 on bad input.
int receiptVerifyCommand(const ReceiptVerifyRequest& request, bool json);

}  // namespace cordon
