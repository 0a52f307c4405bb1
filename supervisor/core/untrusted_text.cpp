#include "core/untrusted_text.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <cstdio>

namespace cordon {
namespace {

struct Decoded {
  char32_t codePoint = 0;
  size_t length = 1;  // bytes consumed: the whole character, or the maximal ill-formed subpart
  bool valid = false;
};

// One step of a strict UTF-8 decoder (Unicode table 3-7: well-formed byte sequences).
Decoded decodeAt(std::string_view bytes, size_t at) {
  const auto lead = static_cast<unsigned char>(bytes[at]);
  if (lead < 0x80) return {lead, 1, true};
  size_t continuations = 0;
  char32_t codePoint = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuations = 1;
    codePoint = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuations = 2;
    codePoint = lead & 0x0F;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuations = 3;
    codePoint = lead & 0x07;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {0, 1, false};
  }
  size_t length = 1;
  for (size_t i = 0; i < continuations; ++i) {
    if (at + length >= bytes.size()) return {0, length, false};
    const auto next = static_cast<unsigned char>(bytes[at + length]);
    if (next < low || next > high) return {0, length, false};
    codePoint = (codePoint << 6) | (next & 0x3F);
    ++length;
    low = 0x80;
    high = 0xBF;
  }
  return {codePoint, length, true};
}

// Characters that move the cursor, reorder text or hide: never shown as themselves.
bool isInvisibleOrReordering(char32_t c) {
  return (c >= 0x80 && c <= 0x9F) ||      // C1 controls (CSI is U+009B)
         c == 0x061C ||                   // Arabic letter mark
         (c >= 0x200B && c <= 0x200F) ||  // zero-width characters, LRM, RLM
         (c >= 0x2028 && c <= 0x202E) ||  // line and paragraph separators, bidi embeddings
         (c >= 0x2060 && c <= 0x206F) ||  // word joiner, invisible operators, bidi isolates
         c == 0xFEFF ||                   // zero-width no-break space
         (c >= 0xFFF9 && c <= 0xFFFB);    // interlinear annotation
}

void appendEscape(std::string& out, const char* format, unsigned value) {
  char text[16];
  std::snprintf(text, sizeof text, format, value);
  out += text;
}

}  // namespace

bool isValidUtf8(std::string_view bytes) {
  for (size_t at = 0; at < bytes.size();) {
    Decoded d = decodeAt(bytes, at);
    if (!d.valid) return false;
    at += d.length;
  }
  return true;
}

std::string toValidUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t at = 0; at < bytes.size();) {
    Decoded d = decodeAt(bytes, at);
    if (d.valid) {
      out.append(bytes.substr(at, d.length));
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
    }
    at += d.length;
  }
  return out;
}

std::string hexBytes(std::string_view bytes, size_t maxBytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  const size_t shown = bytes.size() < maxBytes ? bytes.size() : maxBytes;
  hex.reserve(shown * 2 + 3);
  for (size_t i = 0; i < shown; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  if (shown < bytes.size()) hex += "...";
  return hex;
}

void setUntrusted(nlohmann::json& object, const std::string& key, std::string_view bytes) {
  if (isValidUtf8(bytes)) {
    object[key] = std::string(bytes);
    return;
  }
  object[key] = toValidUtf8(bytes);
  object[key + "_hex"] = hexBytes(bytes);
}

std::string jsonText(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// Printable ASCII but '"' and '\\': the bytes jsonText writes as they are, between quotes.
bool plainJsonString(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  if (!plainJsonString(text)) {
    out += jsonText(nlohmann::json(std::string(text)));
    return;
  }
  out += '"';
  out += text;
  out += '"';
}

void appendJsonText(std::string& out, const nlohmann::json& value) {
  char digits[24];
  switch (value.type()) {
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        appendJsonString(out, it.key());
        out += ':';
        appendJsonText(out, it.value());
      }
      out += '}';
      return;
    }
    case nlohmann::json::value_t::string:
      appendJsonString(out, value.get_ref<const std::string&>());
      return;
    case nlohmann::json::value_t::number_unsigned: {
      auto end = std::to_chars(digits, digits + sizeof digits, value.get<uint64_t>()).ptr;
      out.append(digits, end);
      return;
    }
    case nlohmann::json::value_t::number_integer: {
      auto end = std::to_chars(digits, digits + sizeof digits, value.get<int64_t>()).ptr;
      out.append(digits, end);
      return;
    }
    case nlohmann::json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    default:  // arrays, floating point, null, binary: nlohmann's own text
      out += jsonText(value);
      return;
  }
}

namespace {

// The one escaping loop behind forTerminal and yamlQuoted: both print a code point as it is
// unless it is a control, an invisible or reordering character, or their own escape character.
enum class EscapeFor { kTerminal, kYamlDoubleQuoted };

std::string escaped(std::string_view bytes, EscapeFor target) {
  const bool yaml = target == EscapeFor::kYamlDoubleQuoted;
  std::string out;
  out.reserve(bytes.size() + 2);
  for (size_t at = 0; at < bytes.size();) {
    Decoded d = decodeAt(bytes, at);
    if (!d.valid && yaml) {
      out += "\\uFFFD";  // YAML text must be UTF-8: \xNN would stand for U+00NN, not a byte
    } else if (!d.valid) {
      for (size_t i = 0; i < d.length; ++i)
        appendEscape(out, "\\x%02x", static_cast<unsigned char>(bytes[at + i]));
    } else if (d.codePoint == '\n') {
      out += "\\n";
    } else if (d.codePoint == '\r') {
      out += "\\r";
    } else if (d.codePoint == '\t') {
      out += "\\t";
    } else if (d.codePoint == '\\' || (yaml && d.codePoint == '"')) {
      out += '\\';
      out += static_cast<char>(d.codePoint);
    } else if (d.codePoint < 0x20 || d.codePoint == 0x7F) {
      appendEscape(out, "\\x%02x", static_cast<unsigned>(d.codePoint));
    } else if (isInvisibleOrReordering(d.codePoint)) {
      appendEscape(out, "\\u%04x", static_cast<unsigned>(d.codePoint));
    } else {
      out.append(bytes.substr(at, d.length));
    }
    at += d.length;
  }
  return out;
}

}  // namespace

std::string forTerminal(std::string_view bytes, size_t maxBytes) {
  const bool cut = bytes.size() > maxBytes;
  std::string out = escaped(cut ? bytes.substr(0, maxBytes) : bytes, EscapeFor::kTerminal);
  if (cut) out += "...";
  return out;
}

std::string terminalCell(std::string_view bytes, size_t width) {
  std::string shown = forTerminal(bytes);
  if (shown.size() > width) shown.replace(width - 1, std::string::npos, "~");
  return shown + std::string(width - shown.size() + 1, ' ');
}

std::string yamlQuoted(std::string_view bytes) {
  // Appended, not `"\"" + escaped(...)`: GCC 12 at -O3 reports a false -Wrestrict on that.
  std::string out = "\"";
  out += escaped(bytes, EscapeFor::kYamlDoubleQuoted);
  out += '"';
  return out;
}

std::string prometheusLabelValue(std::string_view bytes, size_t maxBytes) {
  const bool cut = bytes.size() > maxBytes;
  const std::string valid = toValidUtf8(cut ? bytes.substr(0, maxBytes) : bytes);
  std::string out;
  out.reserve(valid.size() + 3);
  for (char c : valid) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  return out;
}

}  // namespace cordon
