// Standard base64 (RFC 4648, with padding), as minisign writes keys and signatures.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cordon {

std::string base64Encode(const unsigned char* data, size_t size);
// nullopt on any character outside the alphabet, bad padding or a length not a multiple of 4.
std::optional<std::vector<unsigned char>> base64Decode(std::string_view text);

}  // namespace cordon
