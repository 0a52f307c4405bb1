// The worker's RPC socket as the supervisor writes it. Before any byte goes to the worker, the
// records the run's record held back (RunEvents::flushRecord) are written: a decision's record
// is on disk before the call it allowed can reach the worker. A flush that fails fails the
// write, and the connection with it: nothing leaves that the log lacks.
#pragma once

#include <kj/async-io.h>

#include "run/run_events.h"

namespace cordon {

kj::Own<kj::AsyncIoStream> recordedStream(kj::Own<kj::AsyncIoStream> inner,
                                          const RunEvents& events);

}  // namespace cordon
