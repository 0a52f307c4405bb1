// Plugin versions (MAJOR.MINOR.PATCH, semver precedence without build metadata) and the ranges a
// workflow may ask for: "1.2.3", "^1.2", "~1.2.3", ">=1.0 <2.0", "*" (docs/trust.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cordon {

struct Version {
  unsigned major = 0, minor = 0, patch = 0;
  std::string prerelease;  // "rc.1" in 1.0.0-rc.1; sorts before the release

  static std::optional<Version> parse(const std::string& text);
  std::string text() const;
  int compare(const Version& other) const;
  bool operator<(const Version& other) const { return compare(other) < 0; }
  bool operator==(const Version& other) const { return compare(other) == 0; }
};

class VersionRange {
 public:
  // nullopt when `text` is not a range this grammar knows.
  static std::optional<VersionRange> parse(const std::string& text);
  bool matches(const Version& version) const;
  const std::string& text() const { return text_; }

 private:
  struct Bound {
    enum class Op { kEqual, kLess, kLessEqual, kGreater, kGreaterEqual } op;
    Version version;
  };
  std::vector<Bound> bounds_;  // all must hold; none = any version
  std::string text_;
};

}  // namespace cordon
