// Workflow files: parsing, errors that name file:line:field, and the graph built from them.
#include <doctest/doctest.h>

#include <map>

#include "workflow/graph.h"
#include "workflow/workflow_parser.h"

using namespace cordon;

namespace {

Workflow parseWorkflow(const std::string& text) {
  return parseWorkflow(YamlDocument::parse(text, "flow.yaml"));
}

std::string workflowParseError(const std::string& text) {
  try {
    parseWorkflow(text);
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL("the workflow was accepted");
  return "";
}

std::string graphError(const std::string& text) {
  Workflow workflow = parseWorkflow(text);
  auto graph = WorkflowGraph::build(workflow);
  REQUIRE_FALSE(graph.ok());
  CHECK(graph.error().category == ErrorCategory::kBadInput);
  return graph.error().message;
}

constexpr char kChain[] = R"(name: chain
inputs:
  text: { value: hello }
steps:
  - name: first
    plugin: text-transform
    config: { mode: upper }
    inputs: { text: inputs.text }
  - name: second
    plugin: word-count
    inputs: { text: first.text }
outputs:
  counted: second.summary
)";

}  // namespace

TEST_CASE("a well-formed workflow parses into steps, config and references") {
  Workflow workflow = parseWorkflow(kChain);
  CHECK(workflow.name == "chain");
  REQUIRE(workflow.steps.size() == 2);
  CHECK(workflow.steps[0].plugin == "text-transform");
  CHECK(workflow.steps[0].config == KeyValues{{"mode", "upper"}});
  CHECK(workflow.steps[0].line == 5);
  REQUIRE(workflow.steps[1].inputs.size() == 1);
  CHECK(workflow.steps[1].inputs[0].from.source == "first");
  CHECK(workflow.steps[1].inputs[0].from.name == "text");
  REQUIRE(workflow.inputs.size() == 1);
  CHECK(workflow.inputs[0].value == std::optional<std::string>("hello"));
  REQUIRE(workflow.outputs.size() == 1);
  CHECK(workflow.outputs[0].from.text() == "second.summary");
}

TEST_CASE("workflow errors name the file, the line and the field") {
  SUBCASE("a step without a plugin") {
    std::string e = workflowParseError("name: x\nsteps:\n  - name: a\n    inputs: {}\n");
    CHECK(e.find("flow.yaml:3") != std::string::npos);
    CHECK(e.find("steps[0].plugin") != std::string::npos);
  }
  SUBCASE("a misspelt key") {
    std::string e =
        workflowParseError("name: x\nsteps:\n  - name: a\n    plugin: p\n    inptus: {}\n");
    CHECK(e.find("flow.yaml:5") != std::string::npos);
    CHECK(e.find("inptus") != std::string::npos);
  }
  SUBCASE("a bad reference") {
    std::string e = workflowParseError(
        "name: x\nsteps:\n  - name: a\n    plugin: p\n    inputs: { text: nodot }\n");
    CHECK(e.find("flow.yaml:5") != std::string::npos);
    CHECK(e.find("steps[0].inputs.text") != std::string::npos);
  }
  SUBCASE("a repeated step name") {
    std::string e = workflowParseError(
        "name: x\nsteps:\n  - name: a\n    plugin: p\n  - name: a\n    plugin: q\n");
    CHECK(e.find("flow.yaml:5") != std::string::npos);
    CHECK(e.find("steps[1].name") != std::string::npos);
  }
  SUBCASE("not YAML at all") {
    std::string e = workflowParseError("name: x\nsteps: [\n");
    CHECK(e.find("flow.yaml:") != std::string::npos);
    CHECK(e.find("not valid YAML") != std::string::npos);
  }
  SUBCASE("no steps") {
    std::string e = workflowParseError("name: x\nsteps: []\n");
    CHECK(e.find("field 'steps'") != std::string::npos);
  }
  SUBCASE("an input with both file and value") {
    std::string e = workflowParseError(
        "name: x\ninputs:\n  t: { file: a, value: b }\nsteps:\n  - name: a\n    plugin: p\n");
    CHECK(e.find("flow.yaml:3") != std::string::npos);
    CHECK(e.find("inputs.t") != std::string::npos);
  }
}

TEST_CASE("a workflow without steps is an error, not a crash (found by fuzz-workflow)") {
  CHECK(workflowParseError("name: x\n") == "flow.yaml:1:1: field 'steps': is required");
  CHECK(workflowParseError("name: x\nsteps: {}\n").find(":2:8: field 'steps': must be a list") !=
        std::string::npos);
}

TEST_CASE("the graph orders steps by their data and rejects what cannot run") {
  SUBCASE("dependencies come first, whatever the written order") {
    Workflow workflow = parseWorkflow(R"(name: reversed
inputs: { t: { value: v } }
steps:
  - name: last
    plugin: p
    inputs: { x: middle.out }
  - name: middle
    plugin: p
    inputs: { x: first.out }
  - name: first
    plugin: p
    inputs: { x: inputs.t }
)");
    auto graph = WorkflowGraph::build(workflow);
    REQUIRE(graph.ok());
    CHECK(graph.value().order == std::vector<size_t>{2, 1, 0});
    CHECK(graph.value().nodes[0].dependsOn == std::vector<size_t>{1});
  }
  SUBCASE("a cycle") {
    std::string e = graphError(R"(name: loop
steps:
  - name: a
    plugin: p
    inputs: { x: b.out }
  - name: b
    plugin: p
    inputs: { x: a.out }
)");
    CHECK(e.find("cycle") != std::string::npos);
    CHECK(e.find("flow.yaml:") != std::string::npos);
  }
  SUBCASE("a reference to a step that does not exist") {
    std::string e =
        graphError("name: x\nsteps:\n  - name: a\n    plugin: p\n    inputs: { x: ghost.out }\n");
    CHECK(e.find("flow.yaml:5") != std::string::npos);
    CHECK(e.find("steps[0].inputs.x") != std::string::npos);
    CHECK(e.find("names no step") != std::string::npos);
  }
  SUBCASE("a workflow input that is not declared") {
    std::string e =
        graphError("name: x\nsteps:\n  - name: a\n    plugin: p\n    inputs: { x: inputs.nope }\n");
    CHECK(e.find("names no workflow input") != std::string::npos);
  }
  SUBCASE("a step that reads its own output") {
    std::string e =
        graphError("name: x\nsteps:\n  - name: a\n    plugin: p\n    inputs: { x: a.out }\n");
    CHECK(e.find("own output") != std::string::npos);
  }
}

namespace {

// A scope with fixed answers, for evaluating conditions without a run.
class FixedScope final : public ConditionScope {
 public:
  std::map<std::string, std::string> inputs, statuses, outputs;
  bool succeeded = true;
  bool failed = false;
  std::string input(const std::string& name) const override { return inputs.at(name); }
  std::string stepStatus(const std::string& step) const override { return statuses.at(step); }
  std::string stepOutput(const std::string& step, const std::string& name) const override {
    auto found = outputs.find(step + "." + name);
    return found == outputs.end() ? "" : found->second;
  }
  bool dependenciesSucceeded() const override { return succeeded; }
  bool anyDependencyFailed() const override { return failed; }
};

Condition condition(const std::string& text) {
  auto parsed = Condition::parse(text);
  if (auto* error = std::get_if<ConditionError>(&parsed)) FAIL(text << ": " << error->message);
  return std::get<Condition>(parsed);
}

bool holds(const std::string& text, const FixedScope& scope) {
  auto value = condition(text).evaluate(scope);
  REQUIRE_MESSAGE(std::holds_alternative<bool>(value), text);
  return std::get<bool>(value);
}

std::string typeError(const std::string& text) {
  ConditionNames names;
  names.isInput = [](const std::string& name) { return name == "mode"; };
  names.isStep = [](const std::string& name) { return name == "a"; };
  auto checked = condition(text).check(names);
  REQUIRE_MESSAGE(std::holds_alternative<ConditionError>(checked), text << " typed");
  return std::get<ConditionError>(checked).message;
}

constexpr char kTwoSteps[] = R"(name: x
inputs:
  mode: { value: fast }
steps:
  - name: a
    plugin: p
  - name: b
    plugin: p
)";

std::string withSecondStep(const std::string& lines) {
  return kTwoSteps + lines;
}

}  // namespace

TEST_CASE("conditions: comparison, &&, ||, ! and the status functions evaluate as documented") {
  FixedScope scope;
  scope.inputs = {{"mode", "fast"}, {"n", "12"}};
  scope.statuses = {{"a", "failed"}};
  scope.outputs = {{"a.out", "yes please"}};
  CHECK(holds("inputs.mode == 'fast'", scope));
  CHECK_FALSE(holds("inputs.mode != \"fast\"", scope));
  CHECK(holds("number(inputs.n) > 9 && number(inputs.n) <= 12", scope));
  CHECK(holds("!(inputs.mode == 'slow') || false", scope));
  CHECK(holds("steps.a.status == 'failed'", scope));
  CHECK(holds("startsWith(steps.a.outputs.out, 'yes') && contains(steps.a.outputs.out, ' p')",
              scope));
  CHECK(holds("endsWith(steps.a.outputs.out, 'please')", scope));
  CHECK(holds("steps.a.outputs.missing == ''", scope));
  CHECK(holds("'b' > 'a' && 2 >= 2.0 && -1 < 0", scope));
  CHECK(holds("'it\\'s' == \"it's\"", scope));
  // A runtime error is an error, not false.
  auto bad = condition("number(inputs.mode) > 1").evaluate(scope);
  REQUIRE(std::holds_alternative<ConditionError>(bad));
  CHECK(std::get<ConditionError>(bad).message.find("not a number") != std::string::npos);
  // Without success(), failure() or always(), success() && is implied.
  scope.succeeded = false;
  CHECK_FALSE(holds("inputs.mode == 'fast'", scope));
  CHECK(holds("always()", scope));
  CHECK_FALSE(holds("success()", scope));
  scope.failed = true;
  CHECK(holds("failure() && inputs.mode == 'fast'", scope));
}

TEST_CASE("conditions: syntax errors and type errors say where and what") {
  auto syntax = [](const std::string& text) {
    auto parsed = Condition::parse(text);
    REQUIRE_MESSAGE(std::holds_alternative<ConditionError>(parsed), text << " parsed");
    return std::get<ConditionError>(parsed);
  };
  CHECK(syntax("inputs.mode = 'x'").message.find("'=='") != std::string::npos);
  CHECK(syntax("inputs.mode = 'x'").offset == 12);
  CHECK(syntax("(success()").message.find("')'") != std::string::npos);
  CHECK(syntax("'open").message.find("not closed") != std::string::npos);
  CHECK(syntax("mode == 'x'").message.find("names nothing") != std::string::npos);
  CHECK(syntax("steps.a.result").message.find("'.status' or '.outputs.NAME'") != std::string::npos);
  CHECK(syntax(std::string(5000, '(')).message.find("longer than") != std::string::npos);
  CHECK(syntax(std::string(200, '!') + "true").message.find("nested deeper") != std::string::npos);
  CHECK(syntax("success() extra").message.find("unexpected") != std::string::npos);

  CHECK(typeError("inputs.nope == 'x'").find("names no workflow input") != std::string::npos);
  CHECK(typeError("steps.zz.status == 'x'").find("'zz' names no step") != std::string::npos);
  CHECK(typeError("inputs.mode > 3").find("compares a text with a number") != std::string::npos);
  CHECK(typeError("inputs.mode").find("not a boolean") != std::string::npos);
  CHECK(typeError("!inputs.mode").find("'!' takes a boolean") != std::string::npos);
  CHECK(typeError("true && 'x'").find("'&&' takes booleans") != std::string::npos);
  CHECK(typeError("true < false").find("does not order booleans") != std::string::npos);
  CHECK(typeError("contains(inputs.mode)").find("takes 2 arguments") != std::string::npos);
  CHECK(typeError("number(3) > 1").find("takes a text here") != std::string::npos);
  CHECK(typeError("eval('x')").find("is not a function") != std::string::npos);
}

TEST_CASE("the new step keys parse: needs, if, retry, timeout_ms, on_error, for_each") {
  Workflow workflow = parseWorkflow(withSecondStep(R"Y(    needs: [a]
    if: "steps.a.status == 'failed' || always()"
    retry: { attempts: 4, backoff_ms: 50, on: [crash, timeout] }
    timeout_ms: 2500
    on_error: continue
    for_each: { items: [x, y, z], as: word, max_parallel: 2 }
)Y"));
  const Step& b = workflow.steps[1];
  REQUIRE(b.needs.size() == 1);
  CHECK(b.needs[0].source == "a");
  REQUIRE(b.condition != nullptr);
  CHECK(b.condition->namesStatus());
  CHECK(b.retry.attempts == 4);
  CHECK(b.retry.backoff.count() == 50);
  CHECK(b.retry.maxBackoff.count() == 5000);  // 100 times the first wait
  CHECK(b.retry.retries(ErrorCategory::kCrash));
  CHECK_FALSE(b.retry.retries(ErrorCategory::kPluginError));
  CHECK(b.timeout == std::optional<std::chrono::milliseconds>(2500));
  CHECK(b.onError == OnError::kContinue);
  REQUIRE(b.forEach.has_value());
  CHECK(b.forEach->literalItems == std::vector<std::string>{"x", "y", "z"});
  CHECK(b.forEach->as == "word");
  CHECK(b.forEach->maxParallel == 2);

  SUBCASE("Temporal's defaults: 1 s, doubling, capped at 100 s") {
    Workflow defaults = parseWorkflow(withSecondStep("    retry: {}\n"));
    const RetryPolicy& retry = defaults.steps[1].retry;
    CHECK(retry.attempts == 3);
    CHECK(retry.delayBefore(2).count() == 1000);
    CHECK(retry.delayBefore(3).count() == 2000);
    CHECK(retry.delayBefore(9).count() == 100000);
    CHECK(retry.delayBefore(60).count() == 100000);
    CHECK(retry.retries(ErrorCategory::kPluginError));
    for (ErrorCategory never : {ErrorCategory::kSandboxViolation, ErrorCategory::kPolicyDenial,
                                ErrorCategory::kProtocolError})
      CHECK_FALSE(retry.retries(never));
  }
}

TEST_CASE("new step keys refuse what they cannot mean, with file:line(:column) and field") {
  CHECK(workflowParseError(withSecondStep("    retry: { on: [sandbox_violation] }\n"))
            .find("flow.yaml:9:19: field 'steps[1].retry.on[0]': 'sandbox_violation' cannot be "
                  "retried") == 0);
  CHECK(workflowParseError(withSecondStep("    retry: { on: [policy_denial] }\n"))
            .find("never retried") != std::string::npos);
  CHECK(workflowParseError(withSecondStep("    retry: { attempts: 0 }\n"))
            .find("steps[1].retry.attempts") != std::string::npos);
  CHECK(workflowParseError(withSecondStep("    on_error: ignore\n"))
            .find("'ignore' must be fail or continue") != std::string::npos);
  CHECK(workflowParseError(withSecondStep("    timeout_ms: 0\n")).find("steps[1].timeout_ms") !=
        std::string::npos);
  CHECK(workflowParseError(withSecondStep("    for_each: { as: x }\n"))
            .find("steps[1].for_each.items': is required") != std::string::npos);
  CHECK(workflowParseError(withSecondStep("    for_each: { items: inputs.mode, format: csv }\n"))
            .find("'csv' must be json or lines") != std::string::npos);
  // The column points at the character at fault inside the expression.
  CHECK(workflowParseError(withSecondStep("    if: inputs.mode = 'x'\n")) ==
        "flow.yaml:9:21: field 'steps[1].if': '=' is not an operator; compare with '=='");
  CHECK(workflowParseError(withSecondStep("    if: \"inputs.mode = 'x'\"\n")) ==
        "flow.yaml:9:22: field 'steps[1].if': '=' is not an operator; compare with '=='");
}

TEST_CASE("validation: cycles are named, references resolve, conditions type, all is reachable") {
  SUBCASE("a cycle through needs is named in the direction the steps run") {
    std::string e = graphError(R"(name: x
steps:
  - { name: a, plugin: p, needs: [c] }
  - { name: b, plugin: p, needs: [a] }
  - { name: c, plugin: p, needs: [b] }
  - { name: d, plugin: p, needs: [c] }
)");
    CHECK(e == "flow.yaml:3:5: field 'steps[0]': the steps form a cycle: a -> b -> c -> a");
  }
  SUBCASE("a cycle through data and a condition") {
    std::string e = graphError(R"(name: x
steps:
  - { name: a, plugin: p, inputs: { x: b.out } }
  - { name: b, plugin: p, if: "steps.a.status == 'succeeded'" }
)");
    CHECK(e.find("the steps form a cycle: a -> b -> a") != std::string::npos);
  }
  SUBCASE("needs names an unknown step, or the step itself") {
    CHECK(graphError(withSecondStep("    needs: [zz]\n")) ==
          "flow.yaml:9:13: field 'steps[1].needs[0]': 'zz' names no step");
    CHECK(graphError(withSecondStep("    needs: [b]\n")).find("cannot need itself") !=
          std::string::npos);
  }
  SUBCASE("an expression that references nothing or has a type error, with its column") {
    CHECK(graphError(withSecondStep("    if: steps.zz.status == 'failed'\n")) ==
          "flow.yaml:9:9: field 'steps[1].if': 'zz' names no step");
    CHECK(graphError(withSecondStep("    if: inputs.mode == 3\n")) ==
          "flow.yaml:9:21: field 'steps[1].if': '==' compares a text with a number; "
          "number(TEXT) reads text as a number");
    CHECK(graphError(withSecondStep("    if: steps.b.status == 'x'\n"))
              .find("cannot read the step itself") != std::string::npos);
  }
  SUBCASE("for_each.items names an unknown artifact") {
    CHECK(graphError(withSecondStep("    for_each: { items: zz.list }\n"))
              .find("'zz.list' names no step") != std::string::npos);
  }
  SUBCASE("a step that can never run") {
    CHECK(graphError(withSecondStep("    if: false && always()\n")) ==
          "flow.yaml:9:9: field 'steps[1].if': step 'b' can never run: 'false && always()' is "
          "never true (the step depends on no step)");
    CHECK(graphError(withSecondStep("    if: failure()\n")).find("can never run") !=
          std::string::npos);
    CHECK(graphError(withSecondStep("    if: \"1 == 2 || !always()\"\n")).find("can never run") !=
          std::string::npos);
  }
  SUBCASE("what depends on a condition's steps is ordered after them") {
    Workflow workflow = parseWorkflow(R"(name: x
steps:
  - { name: late, plugin: p, if: "steps.early.status == 'failed'" }
  - { name: early, plugin: p }
)");
    auto graph = WorkflowGraph::build(workflow);
    REQUIRE(graph.ok());
    CHECK(graph.value().nodes[0].dependsOn == std::vector<size_t>{1});
    CHECK(graph.value().nodes[0].dataFrom.empty());
    CHECK(graph.value().order == std::vector<size_t>{1, 0});
  }
  SUBCASE("failure() in a step with dependencies can hold") {
    Workflow workflow = parseWorkflow(withSecondStep("    needs: [a]\n    if: failure()\n"));
    CHECK(WorkflowGraph::build(workflow).ok());
  }
}
