// Decides whether a plugin package's bytes may run (docs/trust.md): reads the shared object once
// into a sealed memfd, then checks, on those bytes, the digest against the revocation list, the
// minisign signature and its trusted comment against the trust store and the manifest, and the
// version against the rollback ledger. Every decision is audited as plugin.verify.
#pragma once

#include <memory>
#include <string>

#include "audit/run_audit.h"
#include "core/error.h"
#include "plugins/plugin_catalog.h"
#include "policy/policy.h"
#include "trust/sealed_file.h"
#include "trust/trust_store.h"
#include "trust/version_ledger.h"

namespace cordon {

struct VerifiedPlugin {
  PluginPackage package;
  std::shared_ptr<SealedFile> object;  // the bytes that were verified and will run
  std::string digest;                  // "sha256:HEX" of those bytes
  std::string keyId;                   // empty when unsigned and the policy allows that
};

struct TrustContext {
  const TrustStore* store = nullptr;      // none configured: every signature check fails
  const VersionLedger* ledger = nullptr;  // none: no rollback protection (said in the audit)
};

inline constexpr size_t kMaxPluginBytes = 256u << 20;

Outcome<VerifiedPlugin> verifyPlugin(const PluginPackage& package, const SignatureRules& rules,
                                     const TrustContext& trust, const RunAudit& audit);

std::string sha256Digest(std::string_view bytes);  // "sha256:HEX"
// "sha256:HEX" of a file's bytes, or "unavailable: cannot read PATH".
std::string sha256FileDigest(const std::string& path);

}  // namespace cordon
