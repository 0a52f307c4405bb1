// The C++ SDK (plugins/sdk/include/cordon/plugin.hpp) as a plugin author meets it, through the
// real worker: config, input names, whole inputs, outputs, logs from init, and the rule that no
// exception crosses the C ABI (each becomes a status with a message). The plugin is
// tests/security/plugins/sdk_probe.cpp; its `mode` config picks what it does.
#include <doctest/doctest.h>

#include <string>

#include "test_support.h"

using namespace cordon;

namespace {

// One sdk-probe step named `probe` under the hostile-plugin policy's default section (log,
// read_input), with inputs `first` and `second` and, when `mode` is not empty, that config.
test::RunResult runProbe(const test::TempDir& dir, const std::string& mode,
                         const std::string& output = "") {
  std::string yaml =
      "name: sdk-probe\n"
      "inputs:\n  a: { value: \"alpha \" }\n  b: { value: \"beta\" }\n"
      "steps:\n  - name: probe\n    plugin: sdk-probe\n" +
      (mode.empty() ? std::string() : "    config: { mode: " + mode + " }\n") +
      "    inputs: { first: inputs.a, second: inputs.b }\n" +
      (output.empty() ? std::string() : "outputs:\n  result: probe." + output + "\n");
  return test::runWorkflow(dir.write("probe.yaml", yaml),
                           test::sourcePath("tests/security/hostile-policy.yaml"),
                           dir.path("audit.jsonl"));
}

const Error& failure(const test::RunResult& run) {
  REQUIRE_FALSE(run.report.ok());
  const Error& error = *run.report.error;
  CHECK(error.step == "probe");
  return error;
}

}  // namespace

TEST_CASE("sdk: Host::inputNames lists the step's inputs; setOutput returns them") {
  test::TempDir dir;
  auto run = runProbe(dir, "names", "names");
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "first,second");
}

TEST_CASE("sdk: Host::readInput reads each input whole; init's log reaches the supervisor") {
  test::TempDir dir;
  auto run = runProbe(dir, "concat", "all");
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "alpha beta");
  // init runs once per worker, before any step: its lines belong to no step.
  bool logged = false;
  for (const std::string& line : run.logs) logged |= line == " info: sdk-probe ready";
  CHECK_MESSAGE(logged, "init's log line did not arrive");
}

TEST_CASE("sdk: Host::config of a key the step does not set is empty; fail carries the message") {
  test::TempDir dir;
  auto run = runProbe(dir, "");
  const Error& error = failure(run);
  CHECK(error.category == ErrorCategory::kBadInput);
  CHECK(error.message.find("sdk-probe needs config 'mode'") != std::string::npos);
}

TEST_CASE("sdk: a host call's status passed straight back keeps its cause") {
  test::TempDir dir;
  auto run = runProbe(dir, "missing-input");
  const Error& error = failure(run);
  CHECK(error.category == ErrorCategory::kBadInput);
  CHECK(error.message.find("CORDON_ERR_NOT_FOUND after a failed host call") != std::string::npos);
  CHECK(error.message.find("no input named 'no-such-input'") != std::string::npos);
}

TEST_CASE("sdk: a std::exception out of execute is a plugin error with its what()") {
  test::TempDir dir;
  auto run = runProbe(dir, "throw");
  const Error& error = failure(run);
  CHECK(error.category == ErrorCategory::kPluginError);
  CHECK(error.message.find("sdk-probe threw on purpose") != std::string::npos);
}

TEST_CASE("sdk: std::bad_alloc out of execute is a resource limit, 'out of memory'") {
  test::TempDir dir;
  auto run = runProbe(dir, "bad-alloc");
  const Error& error = failure(run);
  CHECK(error.category == ErrorCategory::kResourceLimit);
  CHECK(error.message.find("out of memory") != std::string::npos);
}

TEST_CASE("sdk: any other exception out of execute is a plugin error, 'unknown exception'") {
  test::TempDir dir;
  auto run = runProbe(dir, "throw-int");
  const Error& error = failure(run);
  CHECK(error.category == ErrorCategory::kPluginError);
  CHECK(error.message.find("unknown exception") != std::string::npos);
}
