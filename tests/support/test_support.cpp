#include "test_support.h"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "cli/preflight.h"

namespace cordon::test {

std::string sourcePath(const std::string& relative) {
  return std::string(CORDON_TEST_SOURCE_DIR) + "/" + relative;
}
std::string workerBinary() {
  return CORDON_TEST_WORKER;
}
std::string cordonBinary() {
  return CORDON_TEST_CORDON;
}
std::string signBinary() {
  return CORDON_TEST_SIGN;
}
std::vector<std::string> pluginDirectories() {
  return {CORDON_TEST_PLUGIN_DIR, CORDON_TEST_HOSTILE_PLUGIN_DIR, CORDON_TEST_ENGINE_PLUGIN_DIR};
}
std::string trustStoreDirectory() {
  return sourcePath("tests/fixtures/trust");
}
std::string devSecretKey() {
  return sourcePath("tests/fixtures/keys/cordon-dev.key");
}
TrustOptions trustOptions(const std::vector<std::string>& pluginDirs) {
  return {pluginDirs, trustStoreDirectory(), ""};
}

TempDir::TempDir()
    : root_(std::filesystem::temp_directory_path() /
            ("cordon-test-" + std::to_string(getpid()) + "-" +
             std::to_string(std::random_device()()))) {
  std::filesystem::create_directories(root_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(root_, ignored);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  std::string file = path(name);
  std::ofstream(file, std::ios::binary) << text;
  return file;
}

CordonHost& host() {
  static CordonHost host({workerBinary(), false, false});
  return host;
}

kj::AsyncIoContext& eventLoop() {
  return host().io();
}

void RecordingListener::onEvent(const RunEvent& event) {
  events.push_back(event);
  if (const auto* log = std::get_if<PluginLogged>(&event))
    logs.push_back(log->step + " " + log->level + ": " + log->message);
  if (const auto* skip = std::get_if<StepSkipped>(&event)) skipped.push_back(skip->step);
}

EngineOptions testEngineOptions() {
  EngineOptions options;
  options.jobs = 4;
  return options;
}

RunResult runPreflighted(Preflight& preflight, AuditLog& audit, const EngineOptions& options) {
  RecordingListener listener;
  RunRequest request;
  request.preflight = &preflight;
  request.inputs = loadWorkflowInputs(*preflight.workflow, {});
  request.audit = &audit;
  request.listeners = {&listener};
  request.options = options;
  return {host().run(std::move(request)), {}, listener.logs, listener.events};
}

std::string bytesOf(const Artifact& artifact) {
  auto bytes = artifact->head(static_cast<size_t>(artifact->size()));
  REQUIRE_MESSAGE(bytes.ok(), (bytes.ok() ? "" : bytes.error().message));
  return bytes.value();
}

RunResult runWorkflow(const std::string& workflowPath, const std::string& policyPath,
                      const std::string& auditPath, const std::vector<std::string>& pluginDirs,
                      const EngineOptions& options) {
  auto opened = AuditLog::open(auditPath);
  if (!opened.ok()) FAIL("cannot open the audit log: " << opened.error().describe());
  size_t before = readAudit(auditPath).size();
  EngineOptions withRunId = options;
  if (withRunId.runId.empty()) withRunId.runId = newRunId();
  auto checked = preflight(workflowPath, policyPath, trustOptions(pluginDirs),
                           RunAudit(opened.value().get(), withRunId.runId));
  if (!checked.ok()) FAIL("preflight rejected the workflow: " << checked.error().describe());

  // The ledger is the test's business (trust_test); these runs do not raise it.
  checked.value()->ledger.reset();
  RunResult result = runPreflighted(*checked.value(), *opened.value(), withRunId);
  opened.value().reset();
  auto all = readAudit(auditPath);
  result.audit.assign(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
  return result;
}

const StepReport& stepOf(const RunReport& report, const std::string& name) {
  for (const auto& step : report.steps)
    if (step.name == name) return step;
  FAIL("no step " << name);
  return report.steps.front();
}

std::vector<nlohmann::json> readAudit(const std::string& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) records.push_back(nlohmann::json::parse(line));
  }
  return records;
}

std::vector<nlohmann::json> withEvent(const std::vector<nlohmann::json>& records,
                                      const std::string& event) {
  std::vector<nlohmann::json> matching;
  for (const auto& record : records) {
    if (record.value("event", "") == event) matching.push_back(record);
  }
  return matching;
}

std::string oneStepWorkflow(const std::string& plugin, const std::string& output) {
  std::ostringstream yaml;
  yaml << "name: one-" << plugin << "\n"
       << "inputs:\n  text: { value: \"some text for the plugin\" }\n"
       << "steps:\n  - name: attack\n    plugin: " << plugin << "\n"
       << "    inputs: { text: inputs.text }\n";
  if (!output.empty()) yaml << "outputs:\n  result: attack." << output << "\n";
  return yaml.str();
}

std::string attackWithSibling(const std::string& plugin) {
  return "name: attack-" + plugin + "\n" +
         "inputs:\n  text: { value: \"some text for the plugin\" }\n"
         "steps:\n"
         "  - name: attack\n    plugin: " +
         plugin +
         "\n    inputs: { text: inputs.text }\n"
         "  - name: sibling\n    plugin: text-transform\n    config: { mode: upper }\n"
         "    inputs: { text: inputs.text }\n"
         "outputs:\n  sibling: sibling.text\n";
}

namespace {

Command runPipe(const std::string& line) {
  // The command line is the test's own: running cordon as a user would is the point.
  FILE* pipe = popen(line.c_str(), "r");  // NOLINT(cert-env33-c)
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 4096> buffer;
  for (size_t n; (n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
    output.append(buffer.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

}  // namespace

std::string cordonCommandLine(const std::string& args) {
  // A state directory of this process's own: the rollback ledger must not leak between runs
  // of the suite or into the user's home.
  static const TempDir state;
  return "CORDON_PLUGIN_PATH=" + pluginDirectories()[0] + ":" + pluginDirectories()[1] + ":" +
         pluginDirectories()[2] + " CORDON_WORKER=" + workerBinary() +
         " CORDON_TRUST_STORE=" + trustStoreDirectory() +
         " CORDON_STATE_DIR=" + state.path("state") + " " + cordonBinary() + " " + args;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

std::map<std::string, int> ledgerCounts(const std::string& path) {
  std::map<std::string, int> counts;
  std::istringstream lines(readFile(path));
  for (std::string line; std::getline(lines, line);) ++counts[line];
  return counts;
}

Command runShell(const std::string& line) {
  return runPipe(line + " 2>&1");
}

Command runCordon(const std::string& args) {
  return runShell(cordonCommandLine(args));
}

pid_t startCordon(const std::string& args, const std::string& outputPath) {
  const std::string line = "exec env " + cordonCommandLine(args) + " >" + outputPath + " 2>&1";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

nlohmann::json waitForRunningStep(const std::string& auditPath, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!std::filesystem::exists(auditPath)) continue;
    auto records = readAudit(auditPath);
    auto starts = withEvent(records, "plugin.start");
    if (!starts.empty() && !withEvent(records, "step.start").empty()) return starts[0];
  }
  return nullptr;
}

Command runCordonStdout(const std::string& args, const std::string& stderrPath) {
  return runPipe(cordonCommandLine(args) + " 2>" + stderrPath);
}

}  // namespace cordon::test
