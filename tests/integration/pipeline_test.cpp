// Real workflows through real sandboxed workers: the example pipeline, worker reuse, failures
// that stop the run, and the audit trail they leave.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli/preflight.h"
#include "test_support.h"

using namespace cordon;

namespace {

std::string exampleWorkflow() {
  return test::sourcePath("examples/text-pipeline/workflow.yaml");
}
std::string examplePolicy() {
  return test::sourcePath("policies/default.yaml");
}

// Runs a one-step text-transform workflow under a policy whose text-transform section is
// `section` (YAML, indented as a section's body).
test::RunResult runTextTransformUnder(const test::TempDir& dir, const std::string& section) {
  std::string policy =
      dir.write("policy.yaml", "version: 1\nplugins:\n  text-transform:\n" + section);
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("text-transform", "text"));
  return test::runWorkflow(workflow, policy, dir.path("audit.jsonl"));
}

}  // namespace

TEST_CASE("the example pipeline runs through three sandboxed workers") {
  test::TempDir dir;
  auto run = test::runWorkflow(exampleWorkflow(), examplePolicy(), dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());

  REQUIRE(run.report.outputs.count("shouted") == 1);
  CHECK(test::bytesOf(run.report.outputs.at("shouted"))
            .rfind("CORDON RUNS CODE IT DOES NOT TRUST.", 0) == 0);
  CHECK(test::bytesOf(run.report.outputs.at("counts")) == R"({"lines":2,"words":21,"bytes":106})");
  // sha256sum of the upper-cased examples/text-pipeline/input.txt
  CHECK(test::bytesOf(run.report.outputs.at("sha256")) ==
        "3b9efae7055ea7368b03d297be72cfcafcc954c47984c5ccadcd75ebc59deea7");

  auto starts = test::withEvent(run.audit, "plugin.start");
  auto stops = test::withEvent(run.audit, "plugin.stop");
  CHECK(starts.size() == 3);
  CHECK(stops.size() == 3);
  for (const auto& stop : stops) CHECK(stop["exit"] == "exit code 0");
  CHECK(test::withEvent(run.audit, "gate.deny").empty());
  CHECK(test::withEvent(run.audit, "run.end").at(0)["status"] == "succeeded");
  CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());
}

TEST_CASE("steps that use the same plugin share one worker") {
  test::TempDir dir;
  std::string workflow = dir.write("twice.yaml", R"(name: twice
inputs:
  text: { value: "Hello Sandbox" }
steps:
  - name: up
    plugin: text-transform
    config: { mode: upper }
    inputs: { text: inputs.text }
  - name: back
    plugin: text-transform
    config: { mode: reverse }
    inputs: { text: up.text }
outputs:
  result: back.text
)");
  auto run = test::runWorkflow(workflow, examplePolicy(), dir.path("audit.jsonl"));
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "XOBDNAS OLLEH");
  CHECK(test::withEvent(run.audit, "plugin.start").size() == 1);
  CHECK(test::withEvent(run.audit, "step.end").size() == 2);
}

TEST_CASE("a plugin installed under /tmp is visible inside its sandbox") {
  // The worker stages its empty root on a tmpfs over /tmp; a plugin there must still be found.
  test::TempDir dir;
  std::filesystem::create_directories(dir.path("plugins"));
  std::filesystem::copy(test::pluginDirectories()[0] + "/text-transform",
                        dir.path("plugins/text-transform"));
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("text-transform", "text"));
  auto run =
      test::runWorkflow(workflow, examplePolicy(), dir.path("audit.jsonl"), {dir.path("plugins")});
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == "SOME TEXT FOR THE PLUGIN");
}

TEST_CASE("a plugin error stops the run, names the step, and skips what depends on it") {
  test::TempDir dir;
  std::string workflow = dir.write("bad-mode.yaml", R"(name: bad-mode
inputs:
  text: { value: "x" }
steps:
  - name: transform
    plugin: text-transform
    config: { mode: sideways }
    inputs: { text: inputs.text }
  - name: count
    plugin: word-count
    inputs: { text: transform.text }
)");
  auto run = test::runWorkflow(workflow, examplePolicy(), dir.path("audit.jsonl"));
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category ==
        ErrorCategory::kBadInput);  // the plugin said CORDON_ERR_BAD_INPUT
  CHECK(run.report.error->step == "transform");
  CHECK(run.report.error->message.find("mode") != std::string::npos);
  REQUIRE(run.report.steps.size() == 2);
  CHECK(run.report.steps[1].state == StepState::kSkipped);
  CHECK(test::withEvent(run.audit, "run.end").at(0)["status"] == "failed");
}

TEST_CASE("a plugin the policy does not know is refused before anything starts") {
  test::TempDir dir;
  std::string policy = dir.write("narrow.yaml",
                                 "version: 1\nplugins:\n  word-count:\n    calls: [describe, init, "
                                 "execute, shutdown]\n    host: { read_input: {} }\n");
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("text-transform", "text"));
  auto checked = preflight(workflow, policy, test::trustOptions(), RunAudit{});
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.error().category == ErrorCategory::kPolicyDenial);
  CHECK(checked.error().step == "attack");
  CHECK(checked.error().message.find(workflow + ":5") != std::string::npos);
}

TEST_CASE("a method the policy does not grant is refused at the gate") {
  test::TempDir dir;
  // Everything but shutdown (preflight refuses a section without describe, init or execute:
  // below): the supervisor's own shutdown call is denied at the gate, with a real worker.
  auto run = runTextTransformUnder(
      dir, "    calls: [describe, init, execute]\n    host: { read_input: {}, log: {} }\n");
  // The step's work is done before the worker is stopped: the run succeeds, with the refusal.
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(run.report.denialTotal() == 1);
  auto denials = test::withEvent(run.audit, "gate.deny");
  REQUIRE(denials.size() == 1);
  CHECK(denials[0]["method"] == "shutdown");
  CHECK(denials[0]["direction"] == "supervisor->plugin");
  CHECK(denials[0]["category"] == "policy_denial");
}

TEST_CASE("a section without a method every run calls is refused before anything runs") {
  test::TempDir dir;
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("text-transform", "text"));
  std::string policy = dir.write("policy.yaml",
                                 "version: 1\nplugins:\n  text-transform:\n"
                                 "    calls: [describe, execute, shutdown]\n"
                                 "    host: { read_input: {} }\n");
  auto checked = preflight(workflow, policy, test::trustOptions(), RunAudit{});
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.error().category == ErrorCategory::kPolicyDenial);
  CHECK(checked.error().step == "attack");
  CHECK(checked.error().message.find(policy + ":4: field 'plugins.text-transform.calls': lacks "
                                              "'init', which every run calls") !=
        std::string::npos);
}

TEST_CASE("a host budget that runs out fails the step as a resource limit") {
  test::TempDir dir;
  auto run = runTextTransformUnder(dir,
                                   "    calls: [describe, init, execute, shutdown]\n"
                                   "    host: { read_input: { max_bytes: 4 } }\n");
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kResourceLimit);
  CHECK(run.report.error->step == "attack");
  auto denials = test::withEvent(run.audit, "gate.deny");
  REQUIRE_FALSE(denials.empty());
  CHECK(denials[0]["method"] == "read_input");
  CHECK(denials[0]["category"] == "resource_limit");
}

TEST_CASE("a call's timeout runs from when the call starts, not from the event loop's last turn") {
  // kj's timer only advances when the loop turns; long synchronous work before a call (a large
  // input read, a large audit log verified) must not eat into that call's budget.
  test::TempDir dir;
  auto warmup = runTextTransformUnder(dir,
                                      "    calls: [describe, init, execute, shutdown]\n"
                                      "    host: { read_input: {} }\n");
  REQUIRE(warmup.report.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the loop does not turn
  auto run = runTextTransformUnder(dir,
                                   "    calls: [describe, init, execute, shutdown]\n"
                                   "    host: { read_input: {} }\n"
                                   "    timeout_ms: 1000\n");
  CHECK_MESSAGE(run.report.ok(), run.report.error->describe());
}
