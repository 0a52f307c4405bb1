#include "workflow/condition.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace cordon {
namespace {

using Node = ConditionNode;
using Kind = ConditionNode::Kind;

struct Failed {
  ConditionError error;
};

[[noreturn]] void fail(size_t offset, std::string message) {
  throw Failed{{offset, std::move(message)}};
}

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
}

// Recursive descent over:
//   or      := and ('||' and)*
//   and     := unary ('&&' unary)*
//   unary   := '!' unary | compare
//   compare := primary (('==' | '!=' | '<' | '<=' | '>' | '>=') primary)?
//   primary := '(' or ')' | NUMBER | 'text' | "text" | true | false | NAME '(' args ')' | ref
//   ref     := inputs.NAME | steps.STEP.status | steps.STEP.outputs.NAME
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Node parseAll() {
    Node node = parseOr(0);
    skipSpace();
    if (at_ < text_.size()) fail(at_, "unexpected '" + std::string(1, text_[at_]) + "'");
    return node;
  }

 private:
  void skipSpace() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_])) != 0) ++at_;
  }
  bool take(std::string_view token) {
    skipSpace();
    if (text_.substr(at_, token.size()) != token) return false;
    at_ += token.size();
    return true;
  }
  void deeper(size_t depth) const {
    if (depth > Condition::kMaxDepth)
      fail(at_, "nested deeper than " + std::to_string(Condition::kMaxDepth));
  }

  Node binary(Kind kind, std::string op, size_t offset, Node left, Node right) {
    Node node;
    node.kind = kind;
    node.op = std::move(op);
    node.offset = offset;
    node.args.push_back(std::move(left));
    node.args.push_back(std::move(right));
    return node;
  }

  Node parseOr(size_t depth) {
    deeper(depth);
    Node left = parseAnd(depth + 1);
    for (;;) {
      skipSpace();
      const size_t offset = at_;
      if (!take("||")) return left;
      left = binary(Kind::kOr, "||", offset, std::move(left), parseAnd(depth + 1));
    }
  }

  Node parseAnd(size_t depth) {
    deeper(depth);
    Node left = parseUnary(depth + 1);
    for (;;) {
      skipSpace();
      const size_t offset = at_;
      if (!take("&&")) return left;
      left = binary(Kind::kAnd, "&&", offset, std::move(left), parseUnary(depth + 1));
    }
  }

  Node parseUnary(size_t depth) {
    deeper(depth);
    skipSpace();
    const size_t offset = at_;
    if (text_.substr(at_, 2) != "!=" && take("!")) {
      Node node;
      node.kind = Kind::kNot;
      node.op = "!";
      node.offset = offset;
      node.args.push_back(parseUnary(depth + 1));
      return node;
    }
    return parseCompare(depth + 1);
  }

  Node parseCompare(size_t depth) {
    Node left = parsePrimary(depth + 1);
    skipSpace();
    const size_t offset = at_;
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (take(op))
        return binary(Kind::kCompare, op, offset, std::move(left), parsePrimary(depth + 1));
    }
    if (text_.substr(at_, 1) == "=") fail(at_, "'=' is not an operator; compare with '=='");
    return left;
  }

  std::string name() {
    const size_t start = at_;
    while (at_ < text_.size() && isNameChar(text_[at_])) ++at_;
    if (at_ == start) fail(at_, "a name is expected here");
    return std::string(text_.substr(start, at_ - start));
  }

  Node parsePrimary(size_t depth) {
    deeper(depth);
    skipSpace();
    const size_t offset = at_;
    if (at_ >= text_.size()) fail(at_, "the expression ends where a value is expected");
    const char c = text_[at_];
    if (c == '(') {
      ++at_;
      Node inner = parseOr(depth + 1);
      if (!take(")")) fail(at_, "')' is expected here");
      return inner;
    }
    if (c == '\'' || c == '"') return parseText(c);
    if (std::isdigit(static_cast<unsigned char>(c)) != 0 ||
        (c == '-' && at_ + 1 < text_.size() &&
         std::isdigit(static_cast<unsigned char>(text_[at_ + 1])) != 0)) {
      return parseNumber();
    }
    if (!isNameChar(c)) fail(at_, "unexpected '" + std::string(1, c) + "'");
    const std::string word = name();
    Node node;
    node.offset = offset;
    if (word == "true" || word == "false") {
      node.literal = ConditionValue::ofBool(word == "true");
      return node;
    }
    if (take("(")) {
      node.kind = Kind::kCall;
      node.op = word;
      if (!take(")")) {
        do {
          node.args.push_back(parseOr(depth + 1));
        } while (take(","));
        if (!take(")")) fail(at_, "')' or ',' is expected here");
      }
      return node;
    }
    if (word == "inputs") {
      if (!take(".")) fail(at_, "'inputs' is followed by .NAME");
      node.kind = Kind::kInput;
      node.name = name();
      return node;
    }
    if (word == "steps") {
      if (!take(".")) fail(at_, "'steps' is followed by .STEP.status or .STEP.outputs.NAME");
      node.step = name();
      const size_t fieldAt = at_;
      if (!take(".")) fail(at_, "'.status' or '.outputs.NAME' is expected here");
      const std::string field = name();
      if (field == "status") {
        node.kind = Kind::kStepStatus;
        return node;
      }
      if (field != "outputs" || !take("."))
        fail(fieldAt + 1, "a step has '.status' or '.outputs.NAME', not '." + field + "'");
      node.kind = Kind::kStepOutput;
      node.name = name();
      return node;
    }
    fail(offset, "'" + word +
                     "' names nothing: use inputs.NAME, steps.STEP.status, "
                     "steps.STEP.outputs.NAME or a function");
  }

  Node parseText(char quote) {
    const size_t offset = at_++;
    std::string text;
    while (at_ < text_.size() && text_[at_] != quote) {
      // Only the quote and the backslash are escaped: there is nothing else to say.
      if (text_[at_] == '\\' && at_ + 1 < text_.size() &&
          (text_[at_ + 1] == quote || text_[at_ + 1] == '\\'))
        ++at_;
      text += text_[at_++];
    }
    if (at_ >= text_.size()) fail(offset, "the text is not closed");
    ++at_;
    Node node;
    node.offset = offset;
    node.literal = ConditionValue::ofText(std::move(text));
    return node;
  }

  Node parseNumber() {
    const size_t offset = at_;
    if (text_[at_] == '-') ++at_;
    while (at_ < text_.size() &&
           (std::isdigit(static_cast<unsigned char>(text_[at_])) != 0 || text_[at_] == '.'))
      ++at_;
    const std::string digits(text_.substr(offset, at_ - offset));
    char* end = nullptr;
    const double value = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size() || !std::isfinite(value))
      fail(offset, "'" + digits + "' is not a number");
    Node node;
    node.offset = offset;
    node.literal = ConditionValue::ofNumber(value);
    return node;
  }

  std::string_view text_;
  size_t at_ = 0;
};

struct Signature {
  std::vector<ValueType> args;
  ValueType result;
};

const Signature* signatureOf(const std::string& function) {
  static const std::pair<const char*, Signature> kFunctions[] = {
      {"success", {{}, ValueType::kBool}},
      {"failure", {{}, ValueType::kBool}},
      {"always", {{}, ValueType::kBool}},
      {"contains", {{ValueType::kString, ValueType::kString}, ValueType::kBool}},
      {"startsWith", {{ValueType::kString, ValueType::kString}, ValueType::kBool}},
      {"endsWith", {{ValueType::kString, ValueType::kString}, ValueType::kBool}},
      {"number", {{ValueType::kString}, ValueType::kNumber}},
  };
  for (const auto& [name, signature] : kFunctions)
    if (function == name) return &signature;
  return nullptr;
}

bool isStatusFunction(const std::string& name) {
  return name == "success" || name == "failure" || name == "always";
}

ValueType typeOf(const Node& node, const ConditionNames& names, std::vector<std::string>& steps) {
  switch (node.kind) {
    case Kind::kLiteral:
      return node.literal.type;
    case Kind::kInput:
      if (!names.isInput(node.name))
        fail(node.offset, "'inputs." + node.name + "' names no workflow input");
      return ValueType::kString;
    case Kind::kStepOutput:
    case Kind::kStepStatus:
      if (!names.isStep(node.step)) fail(node.offset, "'" + node.step + "' names no step");
      steps.push_back(node.step);
      return ValueType::kString;
    case Kind::kNot:
      if (typeOf(node.args[0], names, steps) != ValueType::kBool)
        fail(node.args[0].offset, "'!' takes a boolean");
      return ValueType::kBool;
    case Kind::kAnd:
    case Kind::kOr:
      for (const Node& arg : node.args) {
        const ValueType type = typeOf(arg, names, steps);
        if (type != ValueType::kBool)
          fail(arg.offset,
               "'" + node.op + "' takes booleans, not a " + std::string(valueTypeName(type)));
      }
      return ValueType::kBool;
    case Kind::kCompare: {
      const ValueType left = typeOf(node.args[0], names, steps);
      const ValueType right = typeOf(node.args[1], names, steps);
      if (left != right)
        fail(node.offset, "'" + node.op + "' compares a " + std::string(valueTypeName(left)) +
                              " with a " + std::string(valueTypeName(right)) +
                              (left == ValueType::kString || right == ValueType::kString
                                   ? "; number(TEXT) reads text as a number"
                                   : ""));
      if (left == ValueType::kBool && node.op != "==" && node.op != "!=")
        fail(node.offset, "'" + node.op + "' does not order booleans");
      return ValueType::kBool;
    }
    case Kind::kCall: {
      const Signature* signature = signatureOf(node.op);
      if (signature == nullptr)
        fail(node.offset, "'" + node.op +
                              "' is not a function (success, failure, always, contains, "
                              "startsWith, endsWith, number)");
      if (signature->args.size() != node.args.size())
        fail(node.offset, "'" + node.op + "' takes " + std::to_string(signature->args.size()) +
                              " argument" + (signature->args.size() == 1 ? "" : "s"));
      for (size_t i = 0; i < node.args.size(); ++i) {
        const ValueType type = typeOf(node.args[i], names, steps);
        if (type != signature->args[i])
          fail(node.args[i].offset, "'" + node.op + "' takes a " +
                                        std::string(valueTypeName(signature->args[i])) +
                                        " here, not a " + std::string(valueTypeName(type)));
      }
      return signature->result;
    }
  }
  return ValueType::kBool;
}

bool callsStatus(const Node& node) {
  if (node.kind == Kind::kCall && isStatusFunction(node.op)) return true;
  for (const Node& arg : node.args)
    if (callsStatus(arg)) return true;
  return false;
}

ConditionValue evaluateNode(const Node& node, const ConditionScope& scope) {
  switch (node.kind) {
    case Kind::kLiteral:
      return node.literal;
    case Kind::kInput:
      return ConditionValue::ofText(scope.input(node.name));
    case Kind::kStepOutput:
      return ConditionValue::ofText(scope.stepOutput(node.step, node.name));
    case Kind::kStepStatus:
      return ConditionValue::ofText(scope.stepStatus(node.step));
    case Kind::kNot:
      return ConditionValue::ofBool(!evaluateNode(node.args[0], scope).boolean);
    case Kind::kAnd:
      return ConditionValue::ofBool(evaluateNode(node.args[0], scope).boolean &&
                                    evaluateNode(node.args[1], scope).boolean);
    case Kind::kOr:
      return ConditionValue::ofBool(evaluateNode(node.args[0], scope).boolean ||
                                    evaluateNode(node.args[1], scope).boolean);
    case Kind::kCompare: {
      const ConditionValue left = evaluateNode(node.args[0], scope);
      const ConditionValue right = evaluateNode(node.args[1], scope);
      int order = 0;
      if (left.type == ValueType::kNumber) {
        order = left.number < right.number ? -1 : (left.number > right.number ? 1 : 0);
      } else if (left.type == ValueType::kString) {
        order = left.text.compare(right.text);
      } else {
        order = left.boolean == right.boolean ? 0 : 1;
      }
      const std::string& op = node.op;
      return ConditionValue::ofBool(op == "=="   ? order == 0
                                    : op == "!=" ? order != 0
                                    : op == "<"  ? order < 0
                                    : op == "<=" ? order <= 0
                                    : op == ">"  ? order > 0
                                                 : order >= 0);
    }
    case Kind::kCall: {
      if (node.op == "always") return ConditionValue::ofBool(true);
      if (node.op == "success") return ConditionValue::ofBool(scope.dependenciesSucceeded());
      if (node.op == "failure") return ConditionValue::ofBool(scope.anyDependencyFailed());
      if (node.op == "number") {
        const std::string text = evaluateNode(node.args[0], scope).text;
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) ||
            std::isspace(static_cast<unsigned char>(text[0])) != 0)
          fail(node.offset, "number() was given text that is not a number (" +
                                std::to_string(text.size()) + " bytes)");
        return ConditionValue::ofNumber(value);
      }
      const std::string haystack = evaluateNode(node.args[0], scope).text;
      const std::string needle = evaluateNode(node.args[1], scope).text;
      if (node.op == "contains")
        return ConditionValue::ofBool(haystack.find(needle) != std::string::npos);
      if (node.op == "startsWith") return ConditionValue::ofBool(haystack.rfind(needle, 0) == 0);
      return ConditionValue::ofBool(
          haystack.size() >= needle.size() &&
          haystack.compare(haystack.size() - needle.size(), needle.size(), needle) == 0);
    }
  }
  return ConditionValue::ofBool(false);
}

// Folding evaluates only literals: a scope it never asks.
class NoScope final : public ConditionScope {
 public:
  std::string input(const std::string&) const override { return ""; }
  std::string stepStatus(const std::string&) const override { return ""; }
  std::string stepOutput(const std::string&, const std::string&) const override { return ""; }
  bool dependenciesSucceeded() const override { return false; }
  bool anyDependencyFailed() const override { return false; }
};

// Folding: what a node's value is before the run, or nullopt when the run decides it.
std::optional<ConditionValue> fold(const Node& node, const ConditionNames& names) {
  switch (node.kind) {
    case Kind::kLiteral:
      return node.literal;
    case Kind::kInput:  // --input may replace any input
    case Kind::kStepOutput:
    case Kind::kStepStatus:
      return std::nullopt;
    case Kind::kNot: {
      auto value = fold(node.args[0], names);
      if (!value) return std::nullopt;
      return ConditionValue::ofBool(!value->boolean);
    }
    case Kind::kAnd:
    case Kind::kOr: {
      const bool isAnd = node.kind == Kind::kAnd;
      auto left = fold(node.args[0], names);
      auto right = fold(node.args[1], names);
      // false && x and true || x are known whatever x is.
      if ((left && left->boolean != isAnd) || (right && right->boolean != isAnd))
        return ConditionValue::ofBool(!isAnd);
      if (left && right) return ConditionValue::ofBool(isAnd);
      return std::nullopt;
    }
    case Kind::kCompare:
    case Kind::kCall: {
      if (node.kind == Kind::kCall && node.op == "always") return ConditionValue::ofBool(true);
      // Without dependencies, success() holds and failure() never does.
      if (node.kind == Kind::kCall && node.op == "success")
        return names.hasDependencies ? std::nullopt : std::optional(ConditionValue::ofBool(true));
      if (node.kind == Kind::kCall && node.op == "failure")
        return names.hasDependencies ? std::nullopt : std::optional(ConditionValue::ofBool(false));
      // An operator over known values is known: evaluate it over their literals.
      Node known = node;
      for (Node& arg : known.args) {
        auto value = fold(arg, names);
        if (!value) return std::nullopt;
        arg = Node{};
        arg.literal = *value;
      }
      try {
        return evaluateNode(known, NoScope());
      } catch (const Failed&) {
        return std::nullopt;  // number('x'): an error at run time, not a constant
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::string_view valueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kBool:
      return "boolean";
    case ValueType::kString:
      return "text";
    case ValueType::kNumber:
      return "number";
  }
  return "value";
}

std::variant<Condition, ConditionError> Condition::parse(std::string_view text) {
  if (text.size() > kMaxText)
    return ConditionError{0, "longer than " + std::to_string(kMaxText) + " bytes"};
  try {
    Condition condition;
    condition.text_ = std::string(text);
    condition.root_ = Parser(text).parseAll();
    condition.namesStatus_ = callsStatus(condition.root_);
    return condition;
  } catch (const Failed& failed) {
    return failed.error;
  }
}

std::variant<std::vector<std::string>, ConditionError> Condition::check(
    const ConditionNames& names) const {
  try {
    std::vector<std::string> steps;
    const ValueType type = typeOf(root_, names, steps);
    if (type != ValueType::kBool)
      fail(root_.offset,
           "is a " + std::string(valueTypeName(type)) + ", not a boolean (compare it: == 'yes')");
    return steps;
  } catch (const Failed& failed) {
    return failed.error;
  }
}

bool Condition::canHold(const ConditionNames& names) const {
  auto value = fold(root_, names);
  return !value || value->boolean;
}

std::variant<bool, ConditionError> Condition::evaluate(const ConditionScope& scope) const {
  try {
    if (!namesStatus_ && !scope.dependenciesSucceeded()) return false;
    return evaluateNode(root_, scope).boolean;
  } catch (const Failed& failed) {
    return failed.error;
  }
}

}  // namespace cordon
