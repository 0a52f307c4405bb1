// Reading YAML documents so that every error names the file, the line and the field at fault.
// Parsers throw InputError; the command that called them turns it into a kBadInput Error.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cordon {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class YamlDocument {
 public:
  // Throws InputError when the file cannot be read or is not YAML.
  static YamlDocument load(const std::string& path);
  static YamlDocument parse(const std::string& text, const std::string& name);

  const YAML::Node& root() const { return root_; }
  const std::string& path() const { return path_; }

  // "FILE:LINE:COLUMN: field 'F': MESSAGE" for a node (where the node itself starts; for an
  // empty value, its key).
  [[noreturn]] void fail(const YAML::Node& node, const std::string& field,
                         const std::string& message) const;

  // "FILE:LINE:COLUMN: field 'F': MESSAGE" for a place `offset` bytes into a scalar's text (an
  // expression): the column of the character at fault.
  [[noreturn]] void failInText(const YAML::Node& node, const std::string& field, size_t offset,
                               const std::string& message) const;

  // Typed accessors: fail with file:line:field when missing or of the wrong type.
  YAML::Node requireMap(const YAML::Node& node, const std::string& field) const;
  YAML::Node requireSequence(const YAML::Node& node, const std::string& field) const;
  std::string requireString(const YAML::Node& parent, const std::string& key,
                            const std::string& field) const;
  std::string scalar(const YAML::Node& node, const std::string& field) const;
  uint64_t unsignedInteger(const YAML::Node& node, const std::string& field, uint64_t min,
                           uint64_t max) const;
  std::vector<std::string> stringList(const YAML::Node& node, const std::string& field) const;
  bool boolean(const YAML::Node& node, const std::string& field) const;  // true or false only

  // Fails on any key of `map` not in `known`: a typo in a policy must not silently grant less or
  // more than the operator meant.
  void rejectUnknownKeys(const YAML::Node& map, const std::string& field,
                         const std::set<std::string>& known) const;

 private:
  YamlDocument(const YAML::Node& root, std::string path) : root_(root), path_(std::move(path)) {}
  YAML::Node root_;
  std::string path_;
  std::vector<std::pair<YAML::Node, YAML::Mark>> emptyValues_;  // each with its key's mark
};

}  // namespace cordon
