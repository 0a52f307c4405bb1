// Bytes from a plugin, a package or a file are not text until proven so. These functions are the
// only way such bytes reach JSON (the audit log, --json reports), a terminal or the policy text
// Cordon prints, so that no byte can make the supervisor throw, forge a line on the operator's
// screen or hide from the record (docs/security.md, "Untrusted text").
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace cordon {

// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view bytes);

// `bytes` as well-formed UTF-8: every ill-formed subsequence becomes one U+FFFD, following
// Unicode's "maximal subpart" practice (as the WHATWG decoder does). Valid input is unchanged.
std::string toValidUtf8(std::string_view bytes);

// Lowercase hex of the bytes, at most `maxBytes` of them (a trailing "..." says it was cut).
std::string hexBytes(std::string_view bytes, size_t maxBytes = 4096);

// Sets object[key] to the bytes as valid text and, when they were not valid UTF-8, also
// object[key + "_hex"] to the raw bytes in hex: the record stays valid JSON and keeps the
// evidence. Use it for every field whose bytes an untrusted party chose.
void setUntrusted(nlohmann::json& object, const std::string& key, std::string_view bytes);

// The one way a JSON value becomes text. Never throws: a string that still holds ill-formed
// UTF-8 is written with U+FFFD in its place (the same bytes every time, so hashes agree).
std::string jsonText(const nlohmann::json& value, int indent = -1);

// Appends exactly the bytes jsonText(value) would be, without building them apart: objects,
// plain printable-ASCII strings, integers and booleans are written here, everything else (any
// string that needs escaping or repair, floating point, arrays) by jsonText itself. The audit
// log's append path, where a record is written once per decision.
void appendJsonText(std::string& out, const nlohmann::json& value);
// Appends `text` as a JSON string, as jsonText would write it.
void appendJsonString(std::string& out, std::string_view text);

// Text made safe for a terminal, on one line: C0 controls and DEL, C1 controls (as raw bytes and
// as code points), CR and LF, bidi overrides and isolates, line/paragraph separators and other
// invisible format characters are shown as escapes (\n, \x1b, \u202e); ill-formed UTF-8 bytes as
// \xNN; a backslash as \\. Longer than `maxBytes` of input: cut, with "..." appended.
std::string forTerminal(std::string_view bytes, size_t maxBytes = 4096);

// A column of a terminal table: forTerminal(bytes), cut to `width` bytes with "~" as the last
// when longer, then padded with spaces to width + 1 (the gap to the next column). width >= 1.
std::string terminalCell(std::string_view bytes, size_t width);

// A YAML double-quoted scalar holding the text (ill-formed UTF-8 as U+FFFD; quotes, backslashes,
// controls and invisible characters escaped): what Cordon writes into the policies it prints, so
// that a path a plugin chose cannot add keys or lines to them.
std::string yamlQuoted(std::string_view bytes);

// A Prometheus label value, without its quotes: well-formed UTF-8 (ill-formed bytes as U+FFFD),
// a backslash, a double quote and a line feed escaped as the text and OpenMetrics formats ask,
// at most `maxBytes` of input (then "..."). Every label value of an exposition goes through it.
std::string prometheusLabelValue(std::string_view bytes, size_t maxBytes = 256);

}  // namespace cordon
