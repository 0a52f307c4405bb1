// The dashboard's page, script and style, compiled into the binary (embed_assets.py).
#pragma once

#include <string_view>

namespace cordon {

// The bytes of dashboard/assets/NAME; empty for a name that is not an asset.
std::string_view dashboardAsset(std::string_view name);

}  // namespace cordon
