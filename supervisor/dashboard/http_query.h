// A request target's query string: the one parser the dashboard's routes and its access token
// read it with.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cordon {

// %XX and '+' decoded; nullopt when an escape is malformed.
std::optional<std::string> percentDecoded(std::string_view text);
// The value of `name` in a request target's query, decoded; "" when absent or malformed.
std::string queryValue(std::string_view target, std::string_view name);

}  // namespace cordon
