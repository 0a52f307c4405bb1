#include "cli/plugin_commands.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/untrusted_text.h"
#include "core/yaml_document.h"
#include "gate/gate.h"
#include "plugins/elf_audit.h"
#include "plugins/plugin_catalog.h"
#include "policy/policy_parser.h"
#include "trust/minisign.h"
#include "trust/plugin_verifier.h"

namespace cordon {
namespace {

int failBadInput(const Error& error) {
  printError(error);
  return kExitBadInput;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "-" : out;
}

// "read_input,log sys:sleep ro:/usr/share/dict" — the manifest's requests in one column.
std::string asksFor(const PluginManifest& m) {
  std::string out = joined(m.hostCapabilities);
  if (!m.syscalls.empty()) out += " sys:" + joined(m.syscalls);
  if (!m.readOnlyPaths.empty()) out += " ro:" + joined(m.readOnlyPaths);
  return out;
}

struct TrustStatus {
  std::string keyId = "-";
  std::string status;  // "trusted", "unsigned", or "refused: REASON"
  std::string digest;
};

// What verification would say under the default rules (signature required, no legacy, no
// rollback), without recording anything.
TrustStatus trustStatusOf(const PluginPackage& package, const TrustContext& context) {
  TrustStatus status;
  auto verified = verifyPlugin(package, SignatureRules{}, context, RunAudit{});
  if (verified.ok()) {
    status.keyId = verified.value().keyId;
    status.digest = verified.value().digest;
    status.status = "trusted";
    return status;
  }
  const std::string& message = verified.error().message;
  auto at = message.find(" refused: ");
  status.status = "refused: " + (at == std::string::npos ? message : message.substr(at + 10));
  if (message.find("unsigned:") != std::string::npos) status.status = "unsigned";
  return status;
}

struct LoadedTrust {
  std::optional<TrustStore> store;
  std::optional<VersionLedger> ledger;
  TrustContext context() const { return {store ? &*store : nullptr, ledger ? &*ledger : nullptr}; }
};

Outcome<Policy> maybePolicy(const std::string& path) {
  if (path.empty()) return Policy{};
  try {
    return loadPolicy(path);
  } catch (const InputError& e) {
    return makeError(ErrorCategory::kBadInput, e.what());
  }
}

}  // namespace

int pluginsListCommand(const TrustOptions& trust, bool json) {
  LoadedTrust loaded;
  if (auto ok = loadTrust(trust, loaded.store, loaded.ledger); !ok.ok())
    return failBadInput(ok.error());
  const PluginCatalog catalog = PluginCatalog::scan(trust.pluginPath);
  nlohmann::json rows = nlohmann::json::array();
  if (!json) {
    std::printf("%-22s %-9s %-3s %-16s %-30s %s\n", "NAME", "VERSION", "ABI", "SIGNER", "ASKS FOR",
                "TRUST");
  }
  for (const PluginPackage& package : catalog.packages()) {
    const PluginManifest& m = package.manifest;
    TrustStatus status = trustStatusOf(package, loaded.context());
    if (json) {
      rows.push_back({{"name", m.name},
                      {"version", m.version.text()},
                      {"abi", m.abi},
                      {"key_id", status.keyId},
                      {"trust", status.status},
                      {"directory", package.directory},
                      {"requests",
                       {{"host", m.hostCapabilities},
                        {"syscalls", m.syscalls},
                        {"read_only", m.readOnlyPaths}}}});
    } else {
      std::printf("%-22s %-9s %-3u %-16s %-30s %s\n", forTerminal(m.name).c_str(),
                  forTerminal(m.version.text()).c_str(), m.abi, forTerminal(status.keyId).c_str(),
                  forTerminal(asksFor(m)).c_str(), forTerminal(status.status).c_str());
    }
  }
  for (const std::string& broken : catalog.brokenManifests()) {
    if (json) {
      rows.push_back({{"error", broken}});
    } else {
      std::printf("broken package: %s\n", forTerminal(broken).c_str());
    }
  }
  if (json) std::printf("%s\n", jsonText(rows, 2).c_str());
  if (!json && catalog.packages().empty() && catalog.brokenManifests().empty()) {
    std::fprintf(stderr, "cordon: no plugin packages on the search path (%s)\n",
                 forTerminal(joined(trust.pluginPath)).c_str());
  }
  return catalog.brokenManifests().empty() ? kExitOk : kExitWorkflowFailed;
}

int pluginsInspectCommand(const TrustOptions& trust, const std::string& reference,
                          const std::string& policyPath, bool json) {
  LoadedTrust loaded;
  if (auto ok = loadTrust(trust, loaded.store, loaded.ledger); !ok.ok())
    return failBadInput(ok.error());
  auto [name, range] = splitPluginReference(reference);
  auto package = PluginCatalog::scan(trust.pluginPath).resolve(name, range);
  if (!package.ok()) return failBadInput(package.error());
  auto policy = maybePolicy(policyPath);
  if (!policy.ok()) return failBadInput(policy.error());
  const PluginManifest& m = package.value().manifest;
  TrustStatus status = trustStatusOf(package.value(), loaded.context());
  std::string comment = "-";
  if (FILE* file = std::fopen(package.value().signaturePath().c_str(), "r")) {
    std::string text(8192, '\0');
    text.resize(std::fread(text.data(), 1, text.size(), file));
    std::fclose(file);
    if (auto signature = minisign::parseSignature(text); signature.ok())
      comment = signature.value().trustedComment;
  }
  auto object = SealedFile::readOnce(package.value().objectPath(), kMaxPluginBytes);
  std::string digest = status.digest;
  if (digest.empty()) {  // refused or unsigned: still show what the bytes are
    digest = object.ok() ? sha256Digest(object.value()->bytes()) : "unreadable";
  }
  std::string policyVerdict = "no --policy given";
  const PluginPolicy* section = policyPath.empty() ? nullptr : policy.value().forPlugin(m.name);
  // What the object shows against the section (`plugins audit`): the manifest can be silent on
  // what the code does, so a manifest the policy admits is not the whole verdict.
  std::vector<ElfFinding> findings;
  if (section != nullptr && object.ok()) {
    auto report = auditElf(std::string(object.value()->bytes()), section);
    if (report.ok()) findings = report.value().findings;
  }
  size_t high = 0;
  for (const ElfFinding& finding : findings) high += finding.severity == Severity::kHigh ? 1 : 0;
  if (!policyPath.empty()) {
    if (section == nullptr) {
      policyVerdict = "refused: the policy has no section for '" + m.name + "'";
    } else {
      auto admitted = admitManifest(m, *section, "", nullptr);
      policyVerdict =
          !admitted.ok() ? "refused: " + admitted.error().message
          : high > 0 ? "the manifest is admitted, but the object shows " + std::to_string(high) +
                           " high finding(s) the policy would stop (below; cordon plugins "
                           "audit)"
                     : "the policy grants everything the manifest asks for" +
                           std::string(findings.empty() ? "" : " (findings below)");
    }
  }
  if (json) {
    nlohmann::json out = {
        {"name", m.name},
        {"version", m.version.text()},
        {"abi", m.abi},
        {"entry", m.entry},
        {"description", m.description},
        {"directory", package.value().directory},
        {"digest", digest},
        {"key_id", status.keyId},
        {"trusted_comment", comment},
        {"trust", status.status},
        {"requests",
         {{"host", m.hostCapabilities}, {"syscalls", m.syscalls}, {"read_only", m.readOnlyPaths}}},
        {"policy", policyVerdict}};
    nlohmann::json shown = nlohmann::json::array();
    for (const ElfFinding& finding : findings) {
      shown.push_back({{"severity", severityName(finding.severity)},
                       {"kind", finding.kind},
                       {"detail", finding.detail}});
    }
    out["findings"] = shown;
    if (section != nullptr) {
      std::vector<std::string> host;
      for (const auto& [capability, grant] : section->host)
        host.emplace_back(hostCapabilityName(capability));
      out["granted"] = {{"host", host},
                        {"syscalls", section->syscallGroups},
                        {"read_only", section->readOnlyPaths}};
    }
    std::printf("%s\n", jsonText(out, 2).c_str());
    return kExitOk;
  }
  std::printf("name:            %s\nversion:         %s\nabi:             %u\n",
              forTerminal(m.name).c_str(), forTerminal(m.version.text()).c_str(), m.abi);
  std::printf("description:     %s\npackage:         %s\nentry:           %s\n",
              forTerminal(m.description).c_str(), forTerminal(package.value().directory).c_str(),
              forTerminal(m.entry).c_str());
  std::printf(
      "digest:          %s\nsigner key id:   %s\ntrusted comment: %s\ntrust:           %s\n",
      forTerminal(digest).c_str(), forTerminal(status.keyId).c_str(), forTerminal(comment).c_str(),
      forTerminal(status.status).c_str());
  std::printf("asks for:        host %s; syscalls %s; read-only %s\n",
              forTerminal(joined(m.hostCapabilities)).c_str(),
              forTerminal(joined(m.syscalls)).c_str(),
              forTerminal(joined(m.readOnlyPaths)).c_str());
  if (section != nullptr) {
    std::vector<std::string> host;
    for (const auto& [capability, grant] : section->host)
      host.emplace_back(hostCapabilityName(capability));
    std::printf(
        "policy grants:   host %s; syscalls %s; read-only %s (section '%s')\n",
        forTerminal(joined(host)).c_str(), forTerminal(joined(section->syscallGroups)).c_str(),
        forTerminal(joined(section->readOnlyPaths)).c_str(), forTerminal(section->name).c_str());
  }
  std::printf("verdict:         %s\n", forTerminal(policyVerdict).c_str());
  for (const ElfFinding& finding : findings) {
    std::printf("finding:         %s: %s: %s\n", severityName(finding.severity),
                forTerminal(finding.kind).c_str(), forTerminal(finding.detail).c_str());
  }
  return kExitOk;
}

int pluginsAuditCommand(const TrustOptions& trust, const std::string& target,
                        const std::string& policyPath, const std::string& failOn, bool json) {
  std::optional<Severity> threshold;
  if (failOn == "low") threshold = Severity::kLow;
  if (failOn == "medium") threshold = Severity::kMedium;
  if (failOn == "high") threshold = Severity::kHigh;
  if (!threshold) {
    return failBadInput(makeError(ErrorCategory::kBadInput,
                                  "--fail-on " + failOn + ": expected low, medium or high"));
  }
  std::error_code error;
  Outcome<PluginPackage> package = makeError(ErrorCategory::kBadInput, "");
  if (std::filesystem::is_directory(target, error)) {
    const PluginCatalog catalog = PluginCatalog::scan({target});
    if (catalog.packages().size() != 1) {
      return failBadInput(makeError(
          ErrorCategory::kBadInput,
          target + ": not a plugin package (no valid plugin.yaml)" +
              (catalog.brokenManifests().empty() ? "" : ": " + catalog.brokenManifests().front())));
    }
    package = catalog.packages().front();
  } else {
    auto [name, range] = splitPluginReference(target);
    package = PluginCatalog::scan(trust.pluginPath).resolve(name, range);
  }
  if (!package.ok()) return failBadInput(package.error());
  auto policy = maybePolicy(policyPath);
  if (!policy.ok()) return failBadInput(policy.error());
  const PluginManifest& m = package.value().manifest;
  const PluginPolicy* section = policyPath.empty() ? nullptr : policy.value().forPlugin(m.name);
  if (!policyPath.empty() && section == nullptr) {
    return failBadInput(
        makeError(ErrorCategory::kPolicyDenial,
                  "the policy " + policyPath + " has no section for '" + m.name + "'"));
  }
  auto object = SealedFile::readOnce(package.value().objectPath(), kMaxPluginBytes);
  if (!object.ok()) return failBadInput(object.error());
  auto report = auditElf(std::string(object.value()->bytes()), section);
  if (!report.ok()) {
    return failBadInput(makeError(ErrorCategory::kBadInput,
                                  package.value().objectPath() + ": " + report.error().message));
  }
  size_t failing = 0;
  nlohmann::json findings = nlohmann::json::array();
  for (const ElfFinding& finding : report.value().findings) {
    if (finding.severity >= *threshold) ++failing;
    findings.push_back({{"severity", severityName(finding.severity)},
                        {"kind", finding.kind},
                        {"detail", finding.detail}});
    if (!json) {
      std::printf("%s: %s: %s: %s\n", forTerminal(package.value().objectPath()).c_str(),
                  severityName(finding.severity), forTerminal(finding.kind).c_str(),
                  forTerminal(finding.detail).c_str());
    }
  }
  if (json) {
    std::printf("%s\n", jsonText(nlohmann::json({{"plugin", m.name},
                                                 {"version", m.version.text()},
                                                 {"object", package.value().objectPath()},
                                                 {"imports", report.value().imports},
                                                 {"findings", findings},
                                                 {"fail_on", failOn},
                                                 {"failing", failing}}),
                                 2)
                            .c_str());
  } else {
    std::printf("%s %s: %zu import(s), %zu finding(s), %zu at or above %s\n",
                forTerminal(m.name).c_str(), forTerminal(m.version.text()).c_str(),
                report.value().imports.size(), report.value().findings.size(), failing,
                forTerminal(failOn).c_str());
  }
  return failing == 0 ? kExitOk : kExitWorkflowFailed;
}

}  // namespace cordon
