#include "trust/base64.h"

namespace cordon {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int valueOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64Encode(const unsigned char* data, size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    unsigned triple = data[i] << 16;
    if (i + 1 < size) triple |= data[i + 1] << 8;
    if (i + 2 < size) triple |= data[i + 2];
    out += kAlphabet[(triple >> 18) & 63];
    out += kAlphabet[(triple >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(triple >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[triple & 63] : '=';
  }
  return out;
}

std::optional<std::vector<unsigned char>> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool lastQuad = i + 4 == text.size();
    int padding = 0;
    unsigned quad = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (c == '=' && lastQuad && j >= 2) {
        ++padding;
        quad <<= 6;
        continue;
      }
      int value = valueOf(c);
      if (value < 0 || padding > 0) return std::nullopt;  // data after '=' is malformed
      quad = (quad << 6) | static_cast<unsigned>(value);
    }
    out.push_back(static_cast<unsigned char>(quad >> 16));
    if (padding < 2) out.push_back(static_cast<unsigned char>(quad >> 8));
    if (padding < 1) out.push_back(static_cast<unsigned char>(quad));
  }
  return out;
}

}  // namespace cordon
