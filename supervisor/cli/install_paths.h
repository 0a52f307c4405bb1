// Where the cordon binary finds its worker and the default plugins: next to itself when
// installed, or in the build tree when run from there. Environment variables override both.
#pragma once

#include <string>
#include <vector>

namespace cordon {

// $CORDON_WORKER, else cordon-worker beside this executable or in ../sandbox-worker.
std::string defaultWorkerBinary();

// ../plugins relative to this executable (the build tree), or ../lib/cordon/plugins when
// installed. (Flags, environment and config file come first: cli/host_config.h.)
std::vector<std::string> defaultPluginDirectories();

}  // namespace cordon
