// The one function family that makes untrusted bytes safe for JSON, terminals and printed YAML.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/untrusted_text.h"

using namespace cordon;

TEST_CASE("UTF-8 validation follows Unicode's well-formed byte sequences") {
  CHECK(isValidUtf8(""));
  CHECK(isValidUtf8("plain ascii"));
  CHECK(isValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
  CHECK_FALSE(isValidUtf8("\x80"));                            // lone continuation
  CHECK_FALSE(isValidUtf8("\xc0\xaf"));                        // overlong '/'
  CHECK_FALSE(isValidUtf8("\xed\xa0\x80"));                    // surrogate
  CHECK_FALSE(isValidUtf8("\xf4\x90\x80\x80"));                // above U+10FFFF
  CHECK_FALSE(isValidUtf8("\xe2\x82"));                        // cut short
  CHECK_FALSE(isValidUtf8("\xff"));
}

TEST_CASE("ill-formed sequences become one U+FFFD per maximal subpart") {
  CHECK(toValidUtf8("a\x80z") == "a\xef\xbf\xbdz");
  CHECK(toValidUtf8("\xe2\x82z") == "\xef\xbf\xbdz");            // one subpart, one U+FFFD
  CHECK(toValidUtf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");  // C0 is never a lead
  CHECK(toValidUtf8("\xc3\xa9") == "\xc3\xa9");                  // valid text unchanged
}

TEST_CASE("setUntrusted keeps valid text as is and adds the raw bytes as hex otherwise") {
  nlohmann::json record = nlohmann::json::object();
  setUntrusted(record, "ok", "fine");
  setUntrusted(record, "bad", "x\xff");
  CHECK(record["ok"] == "fine");
  CHECK_FALSE(record.contains("ok_hex"));
  CHECK(record["bad"] == "x\xef\xbf\xbd");
  CHECK(record["bad_hex"] == "78ff");
}

TEST_CASE("jsonText never throws on bytes a JSON library would refuse") {
  nlohmann::json value = {{"raw", std::string("\xff\xfe\xc0")}};
  std::string text;
  CHECK_NOTHROW(text = jsonText(value));
  CHECK(isValidUtf8(text));
  CHECK(text == jsonText(value));  // the same bytes every time: hashes agree
}

TEST_CASE("forTerminal shows controls, C1, bidi and ill-formed bytes as escapes, on one line") {
  CHECK(forTerminal("ok text") == "ok text");
  CHECK(forTerminal("a\nb\rc\td") == "a\\nb\\rc\\td");
  CHECK(forTerminal("\x1b[31m") == "\\x1b[31m");
  CHECK(forTerminal("\x7f") == "\\x7f");
  CHECK(forTerminal("\x9b") == "\\x9b");                 // C1 as a raw byte
  CHECK(forTerminal("\xc2\x9b") == "\\u009b");           // C1 as a code point
  CHECK(forTerminal("\xe2\x80\xae") == "\\u202e");       // right-to-left override
  CHECK(forTerminal("\xe2\x81\xa6") == "\\u2066");       // left-to-right isolate
  CHECK(forTerminal("\xe2\x80\xa8") == "\\u2028");       // line separator
  CHECK(forTerminal("back\\slash") == "back\\\\slash");  // unambiguous
  CHECK(forTerminal("\xc3\xa9") == "\xc3\xa9");          // printable text stays
  CHECK(forTerminal("abcdef", 3) == "abc...");
}

TEST_CASE("terminalCell escapes, cuts with ~ and pads to its column") {
  CHECK(terminalCell("ab", 4) == "ab   ");
  CHECK(terminalCell("abcd", 4) == "abcd ");
  CHECK(terminalCell("abcdef", 4) == "abc~ ");
  CHECK(terminalCell("a\x1b", 8) == "a\\x1b    ");   // the escape counts toward the width
  CHECK(terminalCell("a\nbcdefgh", 4) == "a\\n~ ");  // cut after escaping, on bytes
  CHECK(terminalCell("", 3) == "    ");
}

TEST_CASE("yamlQuoted makes a scalar that cannot add keys or lines") {
  CHECK(yamlQuoted("/srv/data") == "\"/srv/data\"");
  CHECK(yamlQuoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(yamlQuoted("x\n  evil: true") == "\"x\\n  evil: true\"");
  CHECK(yamlQuoted("\xff") == "\"\\uFFFD\"");
  // What it prints reads back as the same text, as a single scalar.
  for (const std::string& text : {std::string("tab\there \"q\" back\\slash"),
                                  std::string("cr\r lf\n bel\a del\x7f nul") + '\0',
                                  std::string("rlo \xe2\x80\xae zwsp \xe2\x80\x8b end"),
                                  std::string("- [a, b]: {c: d} # not a comment")}) {
    INFO(forTerminal(text));
    YAML::Node node = YAML::Load("key: " + yamlQuoted(text) + "\n");
    REQUIRE(node.IsMap());
    REQUIRE(node.size() == 1);
    CHECK(node["key"].as<std::string>() == text);
  }
}

TEST_CASE("appendJsonText writes exactly jsonText's bytes, for every kind of value") {
  // Strings from every byte class: plain, escapes, controls, DEL, UTF-8, ill-formed bytes.
  const std::vector<std::string> pieces = {
      "",         "plain", "a\"b",         "back\\slash",      "\n\t\r", "\x01\x1f", "\x7f",
      "\xc3\xa9", "\x80",  "\xed\xa0\x80", "\xf0\x9f\x98\x80", "/",      " "};
  uint64_t state = 0x9e3779b97f4a7c15ull;  // a fixed xorshift sequence: the same cases each run
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto text = [&] {
    std::string out;
    for (uint64_t n = next() % 4; n-- > 0;) out += pieces[next() % pieces.size()];
    return out;
  };
  std::function<nlohmann::json(int)> value = [&](int depth) -> nlohmann::json {
    switch (next() % (depth > 2 ? 6 : 8)) {
      case 0:
        return text();
      case 1:
        return next();
      case 2:
        return -static_cast<int64_t>(next() % 1000000);
      case 3:
        return (next() % 2) == 0;
      case 4:
        return nullptr;
      case 5:
        return static_cast<double>(next() % 100000) / 7.0;
      case 6: {
        nlohmann::json array = nlohmann::json::array();
        for (uint64_t n = next() % 4; n-- > 0;) array.push_back(value(depth + 1));
        return array;
      }
      default: {
        nlohmann::json object = nlohmann::json::object();
        for (uint64_t n = next() % 5; n-- > 0;) object[text()] = value(depth + 1);
        return object;
      }
    }
  };
  for (int i = 0; i < 3000; ++i) {
    const nlohmann::json sample = value(0);
    std::string appended = "prefix:";
    appendJsonText(appended, sample);
    REQUIRE(appended == "prefix:" + jsonText(sample));
  }
  std::string plain;
  appendJsonString(plain, "a\x80z");
  CHECK(plain == "\"a\xef\xbf\xbdz\"");  // repaired as jsonText repairs it
}
