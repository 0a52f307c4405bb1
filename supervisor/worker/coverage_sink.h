// Coverage builds only (meson -Dcoverage=true): where a worker's gcov counters go.
//
// The worker cannot open its own .gcda files from inside its sandbox, so the supervisor opens a
// fresh file for each worker in $CORDON_WORKER_COVERAGE_DIR and hands it over as
// protocol::kCoverageFd; the worker maps it and stores its counters there as it exits
// (sandbox-worker/coverage_flush.h) and tools/coverage/ merges them (docs/quality.md). In any
// other build, or with the variable unset, no descriptor is made: a release worker never gets
// one.
#pragma once

namespace cordon {

// A new O_CLOEXEC file descriptor for one worker's dump, or -1 (not a coverage build, no
// directory named, or it could not be created: coverage is then lost, never the run).
int openWorkerCoverageSink();

}  // namespace cordon
