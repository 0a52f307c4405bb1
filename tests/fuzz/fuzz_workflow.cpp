// libFuzzer: any bytes as a workflow file. The parser and the graph builder must either accept
// them or throw InputError / return an Error; nothing else (no crash, no other exception).
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/yaml_document.h"
#include "workflow/graph.h"
#include "workflow/workflow_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    cordon::Workflow workflow =
        cordon::parseWorkflow(cordon::YamlDocument::parse(text, "fuzz.yaml"));
    auto graph = cordon::WorkflowGraph::build(workflow);
    (void)graph.ok();
  } catch (const cordon::InputError&) {
  }
  return 0;
}
