// Fault injection for the crash tests (docs/state.md, "Crash tests"): the supervisor SIGKILLs
// itself at the Nth pass through a named point, as if the machine had taken it away there.
// Off unless CORDON_TEST_KILL_AT=NAME[:N] is in the environment (N defaults to 1); read once.
// The points: journal.<write> after each kind of journal write commits, artifact.write halfway
// through writing an output into the store, artifact.stored once it is in the store.
#pragma once

#include <string_view>

namespace cordon {

void faultPoint(std::string_view name);

}  // namespace cordon
