#include "core/yaml_document.h"

#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace cordon {
namespace {

std::string joinKeys(const std::set<std::string>& keys) {
  std::string text;
  for (const auto& key : keys) text += (text.empty() ? "" : ", ") + key;
  return text;
}

}  // namespace

YamlDocument YamlDocument::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot open file");
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

namespace {

std::string lineOf(const YAML::Node& node) {
  return node.Mark().is_null() ? "?" : std::to_string(node.Mark().line + 1);
}

// yaml-cpp keeps both entries of a repeated key and lookups find the first, while a reviewer
// reading the file sees the last: a file with two meanings. Refused, naming both lines.
void rejectDuplicateKeys(const YAML::Node& node, const std::string& name, const std::string& at,
                         int depth) {
  if (depth > 64) throw InputError(name + ":" + lineOf(node) + ": nested too deeply");
  if (node.IsMap()) {
    std::map<std::string, YAML::Node> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "(complex key)";
      const std::string field = at.empty() ? key : at + "." + key;
      auto [first, fresh] = seen.emplace(key, entry.first);
      if (!fresh) {
        throw InputError(name + ":" + lineOf(entry.first) + ": field '" + field +
                         "': duplicate key (first at line " + lineOf(first->second) + ")");
      }
      rejectDuplicateKeys(entry.second, name, field, depth + 1);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      rejectDuplicateKeys(node[i], name, at + "[" + std::to_string(i) + "]", depth + 1);
  }
}

}  // namespace

YamlDocument YamlDocument::parse(const std::string& text, const std::string& name) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    throw InputError(name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  if (documents.size() > 1) {
    throw InputError(name + ":" + lineOf(documents[1]) +
                     ": a second YAML document ('---'); a file holds exactly one");
  }
  YAML::Node root = documents.empty() ? YAML::Node() : documents[0];
  rejectDuplicateKeys(root, name, "", 0);
  return YamlDocument(root, name);
}

void YamlDocument::fail(const YAML::Node& node, const std::string& field,
                        const std::string& message) const {
  std::string where = path_;
  if (node.IsDefined() && !node.Mark().is_null())
    where += ":" + std::to_string(node.Mark().line + 1);
  throw InputError(where + ": field '" + field + "': " + message);
}

// IsDefined() comes first everywhere: on the node of a missing key, yaml-cpp's other queries
// throw InvalidNode (found by tests/fuzz/fuzz_workflow.cpp).
YAML::Node YamlDocument::requireMap(const YAML::Node& node, const std::string& field) const {
  if (!node.IsDefined()) fail(root_, field, "is required");
  if (!node.IsMap()) fail(node, field, "must be a mapping");
  return node;
}

YAML::Node YamlDocument::requireSequence(const YAML::Node& node, const std::string& field) const {
  if (!node.IsDefined()) fail(root_, field, "is required");
  if (!node.IsSequence()) fail(node, field, "must be a list");
  return node;
}

std::string YamlDocument::requireString(const YAML::Node& parent, const std::string& key,
                                        const std::string& field) const {
  const YAML::Node node = parent[key];
  if (!node.IsDefined() || node.IsNull()) fail(parent, field, "is required");
  return scalar(node, field);
}

std::string YamlDocument::scalar(const YAML::Node& node, const std::string& field) const {
  if (!node.IsDefined() || node.IsNull()) fail(root_, field, "is required");
  if (!node.IsScalar()) fail(node, field, "must be a single value");
  return node.Scalar();
}

uint64_t YamlDocument::unsignedInteger(const YAML::Node& node, const std::string& field,
                                       uint64_t min, uint64_t max) const {
  std::string text = scalar(node, field);
  uint64_t value = 0;
  size_t used = 0;
  try {
    if (text.empty() || text[0] == '-') throw std::invalid_argument("negative");
    value = std::stoull(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    fail(node, field, "must be a whole number, got '" + text + "'");
  if (value < min || value > max) {
    fail(
        node, field,
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text);
  }
  return value;
}

std::vector<std::string> YamlDocument::stringList(const YAML::Node& node,
                                                  const std::string& field) const {
  requireSequence(node, field);
  std::vector<std::string> values;
  for (size_t i = 0; i < node.size(); ++i) {
    values.push_back(scalar(node[i], field + "[" + std::to_string(i) + "]"));
  }
  return values;
}

void YamlDocument::rejectUnknownKeys(const YAML::Node& map, const std::string& field,
                                     const std::set<std::string>& known) const {
  for (const auto& entry : map) {
    std::string key = entry.first.Scalar();
    if (known.count(key) == 0) {
      fail(entry.first, field.empty() ? key : field + "." + key,
           "unknown field (expected one of: " + joinKeys(known) + ")");
    }
  }
}

}  // namespace cordon
