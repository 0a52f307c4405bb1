// Fault injection for the crash tests (docs/state.md, "Crash tests"): the supervisor SIGKILLs
// itself at the Nth pass through a named point, as if the machine had taken it away there.
// Off unless CORDON_TEST_KILL_AT=NAME[:N] is in the environment (N defaults to 1); read once.
// The points: journal.<write> after each kind of journal write commits, artifact.write halfway
// through writing an output into the store, artifact.stored once it is in the store.
#pragma once

#include <string_view>

namespace cordon {

// A pass through the point `name`: the supervisor dies here when the test asked for this pass.
void faultPoint(std::string_view name);
// Counts a pass through the point PREFIX+NAME; true when it is the pass the test kills at. For a
// point whose kill waits for a write to finish (the journal's commit): crashNow() once it has.
bool faultPointDue(std::string_view prefix, std::string_view name);
[[noreturn]] void crashNow();

}  // namespace cordon
