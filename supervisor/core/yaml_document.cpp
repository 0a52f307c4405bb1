#include "core/yaml_document.h"

#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

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

std::string positionOf(const YAML::Node& node) {
  if (node.Mark().is_null()) return "?";
  return std::to_string(node.Mark().line + 1) + ":" + std::to_string(node.Mark().column + 1);
}

// yaml-cpp keeps both entries of a repeated key and lookups find the first, while a reviewer
// reading the file sees the last: a file with two meanings. Refused, naming both lines.
// Also collects every empty value with its key, since yaml-cpp marks an empty value at the token
// after it (the next line), and an error must name the key's line.
// `visited`: containers already walked, by source position; an alias shares its anchor's node,
// so walking it again would only repeat the work (exponentially, for nested aliases).
void rejectDuplicateKeys(const YAML::Node& node, const std::string& name, const std::string& at,
                         int depth, std::vector<std::pair<YAML::Node, YAML::Mark>>& emptyValues,
                         std::set<std::pair<int, bool>>& visited) {
  if (depth > 64) throw InputError(name + ":" + lineOf(node) + ": nested too deeply");
  if ((node.IsMap() || node.IsSequence()) &&
      !visited.emplace(node.Mark().pos, node.IsMap()).second) {
    return;
  }
  if (node.IsMap()) {
    std::map<std::string, YAML::Node> seen;
    for (const auto& entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "(complex key)";
      const std::string field = at.empty() ? key : at + "." + key;
      auto [first, fresh] = seen.emplace(key, entry.first);
      if (!fresh) {
        throw InputError(name + ":" + positionOf(entry.first) + ": field '" + field +
                         "': duplicate key (first at line " + lineOf(first->second) + ")");
      }
      if (entry.second.IsNull()) emptyValues.emplace_back(entry.second, entry.first.Mark());
      rejectDuplicateKeys(entry.second, name, field, depth + 1, emptyValues, visited);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i)
      rejectDuplicateKeys(node[i], name, at + "[" + std::to_string(i) + "]", depth + 1, emptyValues,
                          visited);
  }
}

bool isMarker(std::string_view line, std::string_view marker) {
  return line.substr(0, 3) == marker &&
         (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
}

// The line where a second document starts, or 0. Document markers ('---', '...') are only ever
// markers at the start of a line (YAML 1.2, c-forbidden), so a lexical scan finds them.
size_t secondDocumentLine(std::string_view text) {
  bool started = false;  // a '---' or content has been seen
  bool ended = false;    // a '...' has been seen
  size_t number = 0;
  for (size_t at = 0; at <= text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    ++number;
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') continue;  // blank or comment
    if (isMarker(line, "---")) {
      if (started || ended) return number;
      started = true;
    } else if (isMarker(line, "...")) {
      ended = true;
    } else if (line[0] == '%' && !started) {
      continue;  // a directive
    } else if (ended) {
      return number;  // content after the end of the document
    } else {
      started = true;
    }
    if (end == text.size()) break;
  }
  return 0;
}

}  // namespace

YamlDocument YamlDocument::parse(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);  // the first document only (YAML::LoadAll of yaml-cpp 0.7 can hang)
  } catch (const YAML::Exception& e) {
    throw InputError(name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
  if (size_t line = secondDocumentLine(text)) {
    throw InputError(name + ":" + std::to_string(line) +
                     ": a second YAML document ('---' or '...'); a file holds exactly one");
  }
  YamlDocument document(root, name);
  std::set<std::pair<int, bool>> visited;
  rejectDuplicateKeys(root, name, "", 0, document.emptyValues_, visited);
  return document;
}

void YamlDocument::fail(const YAML::Node& node, const std::string& field,
                        const std::string& message) const {
  std::string where = path_;
  YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  if (node.IsDefined() && node.IsNull()) {
    for (const auto& [value, keyMark] : emptyValues_) {
      if (value.is(node)) mark = keyMark;
    }
  }
  if (!mark.is_null())
    where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  throw InputError(where + ": field '" + field + "': " + message);
}

void YamlDocument::failInText(const YAML::Node& node, const std::string& field, size_t offset,
                              const std::string& message) const {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) fail(node, field, message);
  // yaml-cpp tags a quoted scalar "!": its text starts one column after the mark.
  const size_t quote = node.Tag() == "!" ? 1 : 0;
  throw InputError(path_ + ":" + std::to_string(mark.line + 1) + ":" +
                   std::to_string(static_cast<size_t>(mark.column) + 1 + quote + offset) +
                   ": field '" + field + "': " + message);
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
  if (!node.IsDefined()) fail(parent, field, "is required");
  if (node.IsNull()) fail(node, field, "is required (the value is empty)");  // the key's line
  return scalar(node, field);
}

std::string YamlDocument::scalar(const YAML::Node& node, const std::string& field) const {
  if (!node.IsDefined()) fail(root_, field, "is required");
  if (node.IsNull()) fail(node, field, "is required (the value is empty)");
  if (!node.IsScalar()) fail(node, field, "must be a single value");
  return node.Scalar();
}

bool YamlDocument::boolean(const YAML::Node& node, const std::string& field) const {
  const std::string text = scalar(node, field);
  if (text != "true" && text != "false") fail(node, field, "must be true or false");
  return text == "true";
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
