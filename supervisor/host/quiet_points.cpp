#include "host/quiet_points.h"

namespace cordon {

QuietPoints::QuietPoints(kj::Timer& timer, RunEvents& events, kj::Duration every)
    : timer_(timer), events_(events), every_(every), last_(timer.now()) {
  events_.scheduleQuietWith([this] { schedule(); });
}

QuietPoints::~QuietPoints() {
  pending_ = nullptr;  // however the run ends, nothing is left pending on its stream
  events_.scheduleQuietWith({});
  events_.quiet();  // what the last events left held (a commit, the audit log's lock) goes now
}

void QuietPoints::schedule() {
  // evalLast: after everything the loop can run now, just before it waits.
  pending_ = timer_.atTime(last_ + every_)
                 .then([this] {
                   return kj::evalLast([this] {
                     last_ = timer_.now();
                     events_.quiet();
                   });
                 })
                 .eagerlyEvaluate(nullptr);
}

}  // namespace cordon
