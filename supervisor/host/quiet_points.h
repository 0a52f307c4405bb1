// A run's quiet points on the KJ event loop (RunEvents::scheduleQuietWith): where the loop has
// nothing left to run and is about to wait for I/O, at most one per `every`. The journal commits
// there (its group commit) and the audit log lets go of its lock (AuditLog::keepLockBetweenWrites).
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include "run/run_events.h"

namespace cordon {

// How often, at most, a run gets a quiet point: the journal's group commit interval, so the most
// of a run's journal a SIGKILL can take (docs/state.md), and the longest another writer of the
// audit log waits for this one's lock, beyond the turn in progress (docs/audit.md).
inline constexpr kj::Duration kQuietPointEvery = 10 * kj::MILLISECONDS;

class QuietPoints {
 public:
  // Wires `events` to the loop `timer` belongs to, until this object goes; then a quiet point
  // follows every event again, as on a stream that has none scheduled.
  QuietPoints(kj::Timer& timer, RunEvents& events, kj::Duration every = kQuietPointEvery);
  ~QuietPoints();
  QuietPoints(const QuietPoints&) = delete;
  QuietPoints& operator=(const QuietPoints&) = delete;

 private:
  void schedule();

  kj::Timer& timer_;
  RunEvents& events_;
  kj::Duration every_;
  kj::TimePoint last_;
  kj::Promise<void> pending_ = nullptr;
};

}  // namespace cordon
