// Workflow files: parsing, errors that name file:line:field, and the graph built from them.
#include <doctest/doctest.h>

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
  CHECK(workflowParseError("name: x\n") == "flow.yaml:1: field 'steps': is required");
  CHECK(workflowParseError("name: x\nsteps: {}\n").find(":2: field 'steps': must be a list") !=
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
