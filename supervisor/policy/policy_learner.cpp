#include "policy/policy_learner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/untrusted_text.h"
#include "policy/syscall_groups.h"

namespace cordon {
namespace {

std::string list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return "[" + out + "]";
}

// Paths come from the plugin (what it opened or asked to read): quoted, never raw YAML.
std::string quotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const auto& item : items) quoted.push_back(yamlQuoted(item));
  return list(quoted);
}

std::string headroomText(double headroom) {
  char text[32];
  std::snprintf(text, sizeof text, "x%g", headroom);
  return text;
}

std::string counted(uint64_t count, const char* noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

}  // namespace

// What was seen times the headroom, and never below what a plugin of any size needs.
uint64_t PolicyLearner::withHeadroom(uint64_t seen, uint64_t floor) const {
  return std::max(withHeadroom(static_cast<double>(seen)), floor);
}
uint64_t PolicyLearner::withHeadroom(double seen) const {
  const double scaled = std::ceil(seen * std::max(headroom_, 1.0));
  constexpr double kCap = 1ull << 50;  // far past any limit, and room to add to
  return scaled >= kCap ? static_cast<uint64_t>(kCap) : static_cast<uint64_t>(scaled);
}

std::string PolicyLearner::sampleText() const {
  uint64_t steps = 0, calls = 0;
  for (const auto& [name, learned] : plugins_) {
    steps += learned.steps;
    calls += learned.executeCalls;
  }
  return counted(steps, "step") + " and " + counted(calls, "execute call") + ", every budget " +
         headroomText(headroom_) + " (--headroom)";
}

Policy learningPolicy() {
  PluginPolicy section;
  section.name = "default";
  section.calls = {PluginMethod::kDescribe, PluginMethod::kInit, PluginMethod::kExecute,
                   PluginMethod::kShutdown};
  HostGrant unlimited;
  unlimited.maxBytes = 1ull << 40;
  section.host[HostCapability::kLog] = unlimited;
  section.host[HostCapability::kReadInput] = unlimited;
  unlimited.pathPrefixes = {"/"};  // learning admits any plain path and records it
  section.host[HostCapability::kReadFile] = unlimited;
  section.limits.memoryBytes = 4096 * kMiB;
  section.limits.cpuSeconds = 3600;
  section.limits.openFiles = 1024;
  section.callTimeout = std::chrono::minutes(10);
  section.maxOutputBytes = 1ull << 32;
  section.dangerLearning = true;
  Policy policy;
  policy.path = "(learning policy)";
  policy.fallback = section;
  return policy;
}

void PolicyLearner::observeRecord(const nlohmann::json& record) {
  const std::string event = record.value("event", "");
  const std::string plugin = record.value("plugin", "");
  if (plugin.empty()) return;
  LearnedPlugin& learned = plugins_[plugin];
  if (event == "gate.learn" && record.value("kind", "") == "syscall") {
    learned.syscalls.insert(record.value("name", ""));
  } else if (event == "gate.learn" && record.value("kind", "") == "open") {
    (record.value("write", false) ? learned.writeWanted : learned.openedPaths)
        .insert(record.value("path", ""));
  } else if (event == "gate.learn" && record.value("kind", "") == "file") {
    learned.filePaths.insert(record.value("path", ""));
  } else if (event == "gate.learn" && record.value("kind", "") == "host") {
    for (const auto& [name, use] : record.at("usage").items()) {
      auto capability = hostCapabilityFromName(name);
      if (!capability) continue;
      HostUse& seen = learned.host[*capability];
      seen.callsPerCall = std::max(seen.callsPerCall, use.value("calls", uint64_t{0}));
      seen.bytesPerCall = std::max(seen.bytesPerCall, use.value("bytes", uint64_t{0}));
      seen.largestBytes = std::max(seen.largestBytes, use.value("largest_bytes", uint64_t{0}));
    }
  } else if (event == "gate.allow" && record.value("direction", "") == "supervisor->plugin") {
    auto method = pluginMethodFromName(record.value("method", ""));
    if (method) learned.calls.insert(*method);
    if (method == PluginMethod::kExecute) ++learned.executeCalls;
  } else if (event == "plugin.stop") {
    learned.maxRssKib = std::max(learned.maxRssKib, record.value("max_rss_kib", uint64_t{0}));
    learned.cpuSeconds = std::max(learned.cpuSeconds, record.value("cpu_seconds", 0.0));
  } else if (event == "step.end") {
    learned.longestStepMs = std::max(learned.longestStepMs, record.value("ms", 0.0));
    ++learned.steps;
  }
}

void PolicyLearner::observeManifest(const PluginManifest& manifest) {
  LearnedPlugin& learned = plugins_[manifest.name];
  learned.manifestSyscalls = manifest.syscalls;
  learned.readOnlyPaths = manifest.readOnlyPaths;
}

void PolicyLearner::observeOutputs(const std::string& plugin, uint64_t totalBytes) {
  LearnedPlugin& learned = plugins_[plugin];
  learned.largestOutputBytes = std::max(learned.largestOutputBytes, totalBytes);
}

std::string PolicyLearner::policyYaml(const std::string& workflowPath,
                                      const std::string& runId) const {
  std::string out = "# Learned by `cordon policy learn` from " + forTerminal(workflowPath) +
                    " (run " + runId +
                    ").\n"
                    "# Every grant below was used by that run, and nothing else is granted.\n"
                    "# The sample is one run: " +
                    sampleText() +
                    ".\n"
                    "# Each budget is the largest figure that run showed times " +
                    headroomText(headroom_) +
                    ": larger inputs\n"
                    "# or more items may need more. Review it, then enforce it "
                    "(docs/policy.md).\n"
                    "version: 1\nplugins:\n";
  const std::set<std::string> runtime(runtimeSyscalls().begin(), runtimeSyscalls().end());
  for (const auto& [name, learned] : plugins_) {
    out += "  " + name + ":\n";
    out += "    # sampled: " + counted(learned.steps, "step") + ", " +
           counted(learned.executeCalls, "execute call") + "\n";
    std::vector<std::string> calls;
    for (PluginMethod method : learned.calls) calls.emplace_back(pluginMethodName(method));
    out += "    calls: " + list(calls) + "\n";
    if (!learned.host.empty()) {
      out += "    host:\n";
      for (const auto& [capability, use] : learned.host) {
        const bool log = capability == HostCapability::kLog;
        const uint64_t bytes =
            log ? withHeadroom(use.largestBytes, 1024) : withHeadroom(use.bytesPerCall, 4096);
        std::string paths;
        if (capability == HostCapability::kReadFile) {
          paths = "paths: " +
                  quotedList(std::vector<std::string>(learned.filePaths.begin(),
                                                      learned.filePaths.end())) +
                  ", ";
        }
        out += std::string("      ") + hostCapabilityName(capability) + ": { " + paths +
               "max_bytes: " + std::to_string(bytes) +
               ", max_calls: " + std::to_string(withHeadroom(use.callsPerCall, 4)) + " }\n";
      }
    }
    std::vector<std::string> syscalls = learned.manifestSyscalls;
    for (const std::string& syscall : learned.syscalls) {
      if (runtime.count(syscall) == 0 &&
          std::find(syscalls.begin(), syscalls.end(), syscall) == syscalls.end()) {
        syscalls.push_back(syscall);
      }
    }
    if (!syscalls.empty()) out += "    syscalls: " + list(syscalls) + "\n";
    // Opened files become read-only grants; the kernel interfaces map to their own keys.
    std::vector<std::string> readOnly = learned.readOnlyPaths;
    bool proc = false, devices = false;
    std::vector<std::string> notGrantable, notFound;
    for (const std::string& path : learned.openedPaths) {
      if (path == "/dev/null" || path == "/dev/zero" || path == "/dev/urandom") {
        devices = true;
      } else if (path == "/proc" || path.rfind("/proc/", 0) == 0) {
        proc = true;
      } else if (path == "/" || path.rfind("/sys/", 0) == 0 || path.rfind("/dev/", 0) == 0 ||
                 path.rfind("/plugin/", 0) == 0 || path.rfind("/scratch/", 0) == 0 ||
                 path.find("/../") != std::string::npos || path.find("/./") != std::string::npos) {
        notGrantable.push_back(path);
      } else if (!std::filesystem::exists(path)) {
        notFound.push_back(path);
      } else if (std::find(readOnly.begin(), readOnly.end(), path) == readOnly.end()) {
        readOnly.push_back(path);
      }
    }
    std::string filesystem;
    if (!readOnly.empty()) filesystem += "read_only: " + quotedList(readOnly);
    if (proc) filesystem += std::string(filesystem.empty() ? "" : ", ") + "proc: true";
    if (devices) filesystem += std::string(filesystem.empty() ? "" : ", ") + "devices: true";
    if (!filesystem.empty()) out += "    filesystem: { " + filesystem + " }\n";
    for (const std::string& path : notGrantable) {
      out += "    # opened " + forTerminal(path) + ", which no policy can grant\n";
    }
    for (const std::string& path : notFound) {
      out += "    # tried to open " + forTerminal(path) +
             ", which does not exist (nothing to grant)\n";
    }
    for (const std::string& path : learned.writeWanted) {
      out += "    # tried to write " + forTerminal(path) +
             " (refused with EROFS while learning; grant a "
             "read_write path or scratch_mb by hand if it must)\n";
    }
    // memory_mb is RLIMIT_AS: the worker's own mappings (~30 MiB) come on top of what it touched.
    const uint64_t rssMib = (learned.maxRssKib + 1023) / 1024;
    const uint64_t memoryMb = std::max<uint64_t>(64, withHeadroom(rssMib, 0) + 64);
    const uint64_t cpu = withHeadroom(learned.cpuSeconds) + 1;
    out += "    limits: { memory_mb: " + std::to_string(memoryMb) +
           ", cpu_seconds: " + std::to_string(cpu) + ", open_files: 32 }\n";
    const uint64_t timeout = withHeadroom(learned.longestStepMs) + 1000;
    out += "    timeout_ms: " + std::to_string(timeout) + "\n";
    out +=
        "    max_output_bytes: " + std::to_string(withHeadroom(learned.largestOutputBytes, 1024)) +
        "\n";
    out += "    # observed: peak RSS " + std::to_string(learned.maxRssKib) + " KiB, CPU " +
           std::to_string(learned.cpuSeconds) + " s, longest step " +
           std::to_string(static_cast<uint64_t>(learned.longestStepMs)) + " ms\n";
  }
  return out;
}

}  // namespace cordon
