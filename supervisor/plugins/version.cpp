#include "plugins/version.h"

#include <cctype>
#include <sstream>

namespace cordon {
namespace {

bool parseNumber(const std::string& text, size_t& at, unsigned& out) {
  size_t start = at;
  unsigned long value = 0;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
    value = value * 10 + static_cast<unsigned long>(text[at] - '0');
    if (value > 1000000000UL) return false;
    ++at;
  }
  if (at == start || (at - start > 1 && text[start] == '0')) return false;  // no leading zeros
  out = static_cast<unsigned>(value);
  return true;
}

// "1", "1.2" or "1.2.3"; how many parts were written goes to `parts`.
std::optional<Version> parsePartial(const std::string& text, int& parts) {
  Version version;
  size_t at = 0;
  unsigned* fields[] = {&version.major, &version.minor, &version.patch};
  parts = 0;
  for (unsigned* field : fields) {
    if (!parseNumber(text, at, *field)) return std::nullopt;
    ++parts;
    if (at == text.size()) return version;
    if (text[at] == '-' && parts == 3) break;
    if (text[at] != '.') return std::nullopt;
    ++at;
  }
  if (at < text.size() && text[at] == '-') {
    version.prerelease = text.substr(at + 1);
    if (version.prerelease.empty()) return std::nullopt;
    for (char c : version.prerelease) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return std::nullopt;
    }
    return version;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Version> Version::parse(const std::string& text) {
  int parts = 0;
  auto version = parsePartial(text, parts);
  if (!version || parts != 3) return std::nullopt;
  return version;
}

std::string Version::text() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (!prerelease.empty()) out += "-" + prerelease;
  return out;
}

int Version::compare(const Version& other) const {
  if (major != other.major) return major < other.major ? -1 : 1;
  if (minor != other.minor) return minor < other.minor ? -1 : 1;
  if (patch != other.patch) return patch < other.patch ? -1 : 1;
  if (prerelease == other.prerelease) return 0;
  if (prerelease.empty()) return 1;  // a release outranks its pre-releases
  if (other.prerelease.empty()) return -1;
  return prerelease < other.prerelease ? -1 : 1;
}

std::optional<VersionRange> VersionRange::parse(const std::string& text) {
  VersionRange range;
  range.text_ = text;
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    if (word == "*") continue;
    using Op = Bound::Op;
    char kind = word[0];
    size_t skip = 0;
    Op op = Op::kEqual;
    if (word.rfind(">=", 0) == 0) {
      op = Op::kGreaterEqual, skip = 2;
    } else if (word.rfind("<=", 0) == 0) {
      op = Op::kLessEqual, skip = 2;
    } else if (kind == '>') {
      op = Op::kGreater, skip = 1;
    } else if (kind == '<') {
      op = Op::kLess, skip = 1;
    } else if (kind == '=' || kind == '^' || kind == '~') {
      skip = 1;
    }
    int parts = 0;
    auto version = parsePartial(word.substr(skip), parts);
    if (!version) return std::nullopt;
    if (kind == '^' || kind == '~' || (kind != '>' && kind != '<' && parts < 3)) {
      // ^1.2.3 := >=1.2.3 <2.0.0 (or <0.(m+1).0 when major is 0); ~1.2.3 and 1.2 := same minor.
      Version upper;
      if (parts == 1 || (kind == '^' && version->major > 0)) {
        upper.major = version->major + 1;
      } else if (kind == '^' && (version->minor > 0 || parts == 2)) {
        upper.minor = version->minor + 1;
      } else if (parts == 2 || kind == '~' || kind == '^') {
        upper.major = version->major;
        upper.minor = version->minor + (kind == '^' ? 0 : 1);
        upper.patch = kind == '^' ? version->patch + 1 : 0;
      }
      range.bounds_.push_back({Op::kGreaterEqual, *version});
      range.bounds_.push_back({Op::kLess, upper});
    } else {
      range.bounds_.push_back({op, *version});
    }
  }
  if (text.find_first_not_of(" \t") == std::string::npos) return std::nullopt;
  return range;
}

bool VersionRange::matches(const Version& version) const {
  for (const Bound& bound : bounds_) {
    int c = version.compare(bound.version);
    bool holds = false;
    switch (bound.op) {
      case Bound::Op::kEqual:
        holds = c == 0;
        break;
      case Bound::Op::kLess:
        holds = c < 0;
        break;
      case Bound::Op::kLessEqual:
        holds = c <= 0;
        break;
      case Bound::Op::kGreater:
        holds = c > 0;
        break;
      case Bound::Op::kGreaterEqual:
        holds = c >= 0;
        break;
    }
    if (!holds) return false;
  }
  return true;
}

}  // namespace cordon
