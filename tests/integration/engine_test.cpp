// The engine with real sandboxed workers: independent steps run side by side, a stateful
// plugin's steps take turns on one worker, a stateless one runs in a pool, workers start ahead,
// failures skip only what depends on them, --fail-fast stops new steps, and random graphs give
// the same outputs at any parallelism.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "test_support.h"

using namespace cordon;

namespace {

constexpr char kEnginePolicy[] = R"(version: 1
plugins:
  mix:
    calls: [describe, init, execute, shutdown]
    host:
      read_input: { max_bytes: 16777216 }
    limits: { memory_mb: 128, cpu_seconds: 60 }
    timeout_ms: 20000
    max_workers: MAX_WORKERS
  counter:
    calls: [describe, init, execute, shutdown]
    limits: { memory_mb: 128, cpu_seconds: 60 }
    timeout_ms: 20000
  segfault:
    calls: [describe, init, execute, shutdown]
)";

std::string enginePolicy(const test::TempDir& dir, unsigned maxWorkers = 3) {
  std::string text = kEnginePolicy;
  text.replace(text.find("MAX_WORKERS"), 11, std::to_string(maxWorkers));
  return dir.write("policy.yaml", text);
}

const StepReport& stepOf(const RunReport& report, const std::string& name) {
  for (const auto& step : report.steps)
    if (step.name == name) return step;
  FAIL("no step " << name);
  return report.steps.front();
}

bool overlap(const StepReport& a, const StepReport& b) {
  return a.startedMs < b.endedMs && b.startedMs < a.endedMs;
}

// The most steps that were running at once, from the order of the run's events.
size_t mostAtOnce(const std::vector<RunEvent>& events) {
  size_t running = 0;
  size_t most = 0;
  for (const auto& event : events) {
    if (std::holds_alternative<StepStarted>(event)) most = std::max(most, ++running);
    if (std::holds_alternative<StepFinished>(event)) --running;
  }
  return most;
}

test::RunResult runEngine(const test::TempDir& dir, const std::string& workflow, unsigned jobs,
                          unsigned maxWorkers = 3, bool failFast = false, bool prestart = true) {
  EngineOptions options;
  options.jobs = jobs;
  options.failFast = failFast;
  options.prestart = prestart;
  return test::runWorkflow(dir.write("flow.yaml", workflow), enginePolicy(dir, maxWorkers),
                           dir.path("audit.jsonl"), test::pluginDirectories(), options);
}

}  // namespace

TEST_CASE("a diamond runs its two middle steps side by side and joins them") {
  test::TempDir dir;
  auto run = runEngine(dir, R"(name: diamond
inputs:
  text: { value: "x" }
steps:
  - { name: top, plugin: mix, config: { label: top }, inputs: { a: inputs.text } }
  - { name: left, plugin: mix, config: { label: left, spin_ms: "200" }, inputs: { a: top.out } }
  - { name: right, plugin: mix, config: { label: right, spin_ms: "200" }, inputs: { a: top.out } }
  - { name: bottom, plugin: mix, config: { label: bottom }, inputs: { l: left.out, r: right.out } }
outputs:
  result: bottom.out
)",
                       4);
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) ==
        "bottom(l=left(a=top(a=x)),r=right(a=top(a=x)))");
  CHECK(overlap(stepOf(run.report, "left"), stepOf(run.report, "right")));
  CHECK(stepOf(run.report, "left").workerPid != stepOf(run.report, "right").workerPid);
  CHECK(stepOf(run.report, "bottom").startedMs >= stepOf(run.report, "left").endedMs);
  CHECK(stepOf(run.report, "bottom").startedMs >= stepOf(run.report, "right").endedMs);
  CHECK(verifyAuditLog(dir.path("audit.jsonl")).ok());

  // The event stream tells each call and each worker once, with the worker that served it.
  std::map<std::string, const CallFinished*> executes;
  std::map<pid_t, int> started, stopped;
  for (const RunEvent& event : run.events) {
    if (const auto* call = std::get_if<CallFinished>(&event); call && call->method == "execute") {
      CHECK(executes.count(call->step) == 0);
      executes[call->step] = call;
    }
    if (const auto* worker = std::get_if<WorkerStarted>(&event)) ++started[worker->pid];
    if (const auto* worker = std::get_if<WorkerStopped>(&event)) {
      ++stopped[worker->pid];
      CHECK_FALSE(worker->fault.has_value());
    }
  }
  REQUIRE(executes.size() == 4);
  for (const auto& [step, call] : executes) {
    CHECK(call->workerPid == stepOf(run.report, step).workerPid);
    CHECK_FALSE(call->error.has_value());
  }
  CHECK(executes.at("left")->milliseconds >= 200);
  CHECK(started == stopped);
  for (const auto& [pid, count] : started) CHECK(count == 1);
}

TEST_CASE("a wide fan-out runs at most --jobs steps at once, on at most max_workers workers") {
  test::TempDir dir;
  std::string workflow = "name: wide\ninputs:\n  text: { value: \"x\" }\nsteps:\n";
  for (int i = 0; i < 8; ++i) {
    workflow += "  - { name: s" + std::to_string(i) +
                ", plugin: mix, config: { spin_ms: \"60\" }," + " inputs: { a: inputs.text } }\n";
  }
  auto run = runEngine(dir, workflow, 2, 4);
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(mostAtOnce(run.events) == 2);  // --jobs 2, though the pool may hold 4
  std::set<pid_t> workers;
  for (const auto& step : run.report.steps) workers.insert(step.workerPid);
  CHECK(workers.size() <= 4);
  CHECK(workers.size() >= 2);
  CHECK(test::withEvent(run.audit, "run.start").at(0)["jobs"] == 2);
}

TEST_CASE("a deep chain runs in order and each step reads the one before") {
  test::TempDir dir;
  std::string workflow = "name: chain\ninputs:\n  text: { value: \"x\" }\nsteps:\n";
  std::string expected = "x";
  for (int i = 0; i < 40; ++i) {
    const std::string from = i == 0 ? "inputs.text" : "c" + std::to_string(i - 1) + ".out";
    workflow += "  - { name: c" + std::to_string(i) + ", plugin: mix, config: { label: \"" +
                std::to_string(i) + "\" }, inputs: { a: " + from + " } }\n";
    expected = std::to_string(i) + "(a=" + expected + ")";
  }
  workflow += "outputs:\n  result: c39.out\n";
  auto run = runEngine(dir, workflow, 4);
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  CHECK(test::bytesOf(run.report.outputs.at("result")) == expected);
  CHECK(mostAtOnce(run.events) == 1);
}

TEST_CASE("a failure skips only its own branch; the independent branch runs to the end") {
  test::TempDir dir;
  auto run = runEngine(dir, R"(name: branches
inputs:
  text: { value: "x" }
steps:
  - { name: crash, plugin: segfault, inputs: { text: inputs.text } }
  - { name: after-crash, plugin: mix, inputs: { a: crash.text } }
  - { name: beyond, plugin: mix, inputs: { a: after-crash.out } }
  - { name: ok1, plugin: mix, config: { spin_ms: "100" }, inputs: { a: inputs.text } }
  - { name: ok2, plugin: mix, inputs: { a: ok1.out } }
outputs:
  good: ok2.out
)",
                       4);
  REQUIRE_FALSE(run.report.ok());
  CHECK(run.report.error->category == ErrorCategory::kCrash);
  CHECK(run.report.error->step == "crash");
  CHECK(stepOf(run.report, "after-crash").state == StepState::kSkipped);
  CHECK(stepOf(run.report, "beyond").state == StepState::kSkipped);
  CHECK(stepOf(run.report, "ok2").state == StepState::kSucceeded);
  CHECK(test::bytesOf(run.report.outputs.at("good")) == "mix(a=mix(a=x))");
  auto skipped = test::withEvent(run.audit, "step.skipped");
  REQUIRE(skipped.size() == 2);
  CHECK(skipped[0]["reason"] == "not run: step 'crash' did not succeed");
  CHECK(skipped[1]["reason"] == "not run: step 'after-crash' did not succeed");
  CHECK(test::withEvent(run.audit, "run.end").at(0)["status"] == "failed");
}

TEST_CASE("--fail-fast starts no new step after a failure and lets running ones finish") {
  const std::string workflow = R"(name: fail-fast
inputs:
  text: { value: "x" }
steps:
  - { name: crash, plugin: segfault, inputs: { text: inputs.text } }
  - { name: long, plugin: mix, config: { spin_ms: "600" }, inputs: { a: inputs.text } }
  - { name: after-long, plugin: mix, inputs: { a: long.out } }
)";
  SUBCASE("with it") {
    test::TempDir dir;
    auto run = runEngine(dir, workflow, 4, 3, true);
    REQUIRE_FALSE(run.report.ok());
    CHECK(stepOf(run.report, "crash").state == StepState::kFailed);
    CHECK(stepOf(run.report, "long").state == StepState::kSucceeded);  // it was running: finished
    CHECK(stepOf(run.report, "after-long").state == StepState::kSkipped);
    auto skipped = test::withEvent(run.audit, "step.skipped");
    REQUIRE(skipped.size() == 1);
    CHECK(skipped[0]["reason"] == "not run: --fail-fast: step 'crash' failed");
  }
  SUBCASE("without it the independent branch goes on") {
    test::TempDir dir;
    auto run = runEngine(dir, workflow, 4);
    REQUIRE_FALSE(run.report.ok());
    CHECK(stepOf(run.report, "after-long").state == StepState::kSucceeded);
  }
}

TEST_CASE("a stateful plugin's steps take turns on one worker, in the graph's order") {
  test::TempDir dir;
  auto run = runEngine(dir, R"(name: turns
inputs:
  text: { value: "x" }
steps:
  - { name: first, plugin: counter, config: { spin_ms: "80" }, inputs: { a: inputs.text } }
  - { name: second, plugin: counter, config: { spin_ms: "80" }, inputs: { a: inputs.text } }
  - { name: third, plugin: counter, config: { spin_ms: "80" }, inputs: { a: inputs.text } }
  - { name: beside, plugin: mix, config: { spin_ms: "80" }, inputs: { a: inputs.text } }
outputs:
  first: first.n
  second: second.n
  third: third.n
)",
                       4);
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  // One worker kept its count across the three steps: they ran on it one after another.
  CHECK(test::bytesOf(run.report.outputs.at("first")) == "1");
  CHECK(test::bytesOf(run.report.outputs.at("second")) == "2");
  CHECK(test::bytesOf(run.report.outputs.at("third")) == "3");
  const auto& first = stepOf(run.report, "first");
  const auto& second = stepOf(run.report, "second");
  const auto& third = stepOf(run.report, "third");
  CHECK(first.workerPid == second.workerPid);
  CHECK(second.workerPid == third.workerPid);
  CHECK_FALSE(overlap(first, second));
  CHECK_FALSE(overlap(second, third));
  CHECK_FALSE(overlap(first, third));
  // The other plugin's step did not wait for the counter's turns.
  CHECK(overlap(stepOf(run.report, "beside"), first));
  size_t counterStarts = 0;
  for (const auto& start : test::withEvent(run.audit, "plugin.start"))
    counterStarts += start["plugin"] == "counter" ? 1 : 0;
  CHECK(counterStarts == 1);
}

TEST_CASE("a stateless plugin runs in a pool of at most max_workers workers") {
  test::TempDir dir;
  std::string workflow = "name: pool\ninputs:\n  text: { value: \"x\" }\nsteps:\n";
  for (int i = 0; i < 6; ++i) {
    workflow += "  - { name: p" + std::to_string(i) +
                ", plugin: mix, config: { spin_ms: \"80\" }," + " inputs: { a: inputs.text } }\n";
  }
  auto run = runEngine(dir, workflow, 6, 2);
  REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
  std::set<pid_t> workers;
  for (const auto& step : run.report.steps) workers.insert(step.workerPid);
  CHECK(workers.size() == 2);
  CHECK(mostAtOnce(run.events) <= 2);  // a step waiting for a worker is not running
  CHECK(test::withEvent(run.audit, "plugin.start").size() == 2);
  CHECK(test::withEvent(run.audit, "plugin.stop").size() == 2);
}

TEST_CASE("max_workers above 1 is refused for a plugin that does not declare itself stateless") {
  test::TempDir dir;
  std::string policy = dir.write("policy.yaml", R"(version: 1
plugins:
  counter:
    calls: [describe, init, execute, shutdown]
    max_workers: 2
)");
  std::string workflow = dir.write("flow.yaml", test::oneStepWorkflow("counter"));
  auto checked = preflight(workflow, policy, test::trustOptions(), nullptr);
  REQUIRE_FALSE(checked.ok());
  CHECK(checked.error().category == ErrorCategory::kBadInput);
  CHECK(checked.error().message.find(policy + ":5: field 'plugins.counter.max_workers'") !=
        std::string::npos);
  CHECK(checked.error().message.find("stateless: true") != std::string::npos);
}

TEST_CASE("the next step's worker starts while the step before it runs, unless prestart is off") {
  const std::string workflow = R"(name: prestart
inputs:
  text: { value: "x" }
steps:
  - { name: early, plugin: mix, config: { spin_ms: "300" }, inputs: { a: inputs.text } }
  - { name: late, plugin: counter, inputs: { a: early.out } }
)";
  auto indexOf = [](const std::vector<nlohmann::json>& audit, const std::string& event,
                    const std::string& key, const std::string& value) {
    for (size_t i = 0; i < audit.size(); ++i) {
      if (audit[i].value("event", "") == event && audit[i].value(key, "") == value) return i;
    }
    FAIL("no " << event << " with " << key << " " << value);
    return size_t{0};
  };
  SUBCASE("on") {
    test::TempDir dir;
    auto run = runEngine(dir, workflow, 2);
    REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
    CHECK(indexOf(run.audit, "plugin.start", "plugin", "counter") <
          indexOf(run.audit, "step.end", "step", "early"));
  }
  SUBCASE("off") {
    test::TempDir dir;
    auto run = runEngine(dir, workflow, 2, 3, false, false);
    REQUIRE_MESSAGE(run.report.ok(), run.report.error->describe());
    CHECK(indexOf(run.audit, "plugin.start", "plugin", "counter") >
          indexOf(run.audit, "step.start", "step", "late"));
  }
}

TEST_CASE("random graphs give the same outputs at --jobs 1 and --jobs 4") {
  // A fixed seed: a failure names the graph it found, and the next run finds it again.
  std::mt19937 random(20261202);  // NOLINT(cert-msc51-cpp)
  for (int graph = 0; graph < 4; ++graph) {
    const int nodes = 10 + graph * 3;
    std::string workflow =
        "name: random\ninputs:\n  seed: { value: \"g" + std::to_string(graph) + "\" }\nsteps:\n";
    std::map<int, std::string> expected;
    std::string outputs = "outputs:\n";
    for (int node = 0; node < nodes; ++node) {
      std::map<std::string, std::string> inputs;  // input name -> reference (name order)
      std::map<std::string, std::string> values;
      for (int dependency = 0; dependency < node; ++dependency) {
        if (random() % 4 == 0) {
          inputs["i" + std::to_string(dependency)] = "n" + std::to_string(dependency) + ".out";
          values["i" + std::to_string(dependency)] = expected[dependency];
        }
      }
      if (inputs.empty()) {
        inputs["seed"] = "inputs.seed";
        values["seed"] = "g" + std::to_string(graph);
      }
      std::string references;
      std::string value = "n" + std::to_string(node) + "(";
      for (const auto& [name, reference] : inputs) {
        references += (references.empty() ? "" : ", ") + name + ": " + reference;
        value += (value.back() == '(' ? "" : ",") + name + "=" + values[name];
      }
      expected[node] = value + ")";
      workflow += "  - { name: n" + std::to_string(node) + ", plugin: mix, config: { label: n" +
                  std::to_string(node) + ", spin_ms: \"" + std::to_string(random() % 20) +
                  "\" }, inputs: { " + references + " } }\n";
      outputs += "  o" + std::to_string(node) + ": n" + std::to_string(node) + ".out\n";
    }
    workflow += outputs;
    INFO("graph " << graph << ":\n" << workflow);
    test::TempDir serialDir, parallelDir;
    auto serial = runEngine(serialDir, workflow, 1);
    auto parallel = runEngine(parallelDir, workflow, 4);
    REQUIRE_MESSAGE(serial.report.ok(), serial.report.error->describe());
    REQUIRE_MESSAGE(parallel.report.ok(), parallel.report.error->describe());
    CHECK(mostAtOnce(serial.events) == 1);
    for (int node = 0; node < nodes; ++node) {
      const std::string name = "o" + std::to_string(node);
      CHECK(test::bytesOf(serial.report.outputs.at(name)) == expected[node]);
      CHECK(test::bytesOf(parallel.report.outputs.at(name)) == expected[node]);
    }
  }
}
