// A run's quiet points on the real event loop: they come when the loop waits, at most one per
// interval, and the audit log, which keeps its lock between them, lets it go there, even when
// the loop then waits a long time for a plugin with no event to come.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit/audit_log.h"
#include "host/quiet_points.h"
#include "run/audit_subscriber.h"
#include "test_support.h"

using namespace cordon;

namespace {

struct QuietCounter final : RunListener {
  void onEvent(const RunEvent&) override {}
  void onQuiet() override { ++quiets; }
  int quiets = 0;
};

bool auditLockIsFree(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return free;
}

// At least `delay` of real time with the loop waiting. (The timer's clock is the time the loop
// last looked, which a test that ran before may have left far behind: poll() brings it up.)
void waitFor(kj::AsyncIoContext& io, kj::Duration delay) {
  io.waitScope.poll();
  io.provider->getTimer().afterDelay(delay).wait(io.waitScope);
}

GateDecided allowedCall() {
  GateDecided allow;
  allow.verdict = GateDecided::Verdict::kAllow;
  allow.plugin = "noop";
  allow.step = "a";
  allow.direction = "supervisor->plugin";
  allow.method = "execute";
  allow.effectIsWorkerMessage = true;  // held back until the worker's stream flushes
  return allow;
}

}  // namespace

TEST_CASE("quiet points come when the loop waits and let the audit log's lock go") {
  auto& io = test::eventLoop();
  test::TempDir dir;
  const std::string path = dir.path("audit.jsonl");
  auto audit = AuditLog::open(path);
  REQUIRE(audit.ok());
  audit.value()->keepLockBetweenWrites(true);
  AuditSubscriber record(*audit.value(), "run-1");
  RunEvents events(record);
  QuietCounter counter;
  events.subscribe(counter);
  constexpr kj::Duration kEvery = 20 * kj::MILLISECONDS;
  auto quietPoints = std::make_unique<QuietPoints>(io.provider->getTimer(), events, kEvery);

  // A burst of events: each written at once, under one lock taken by the first.
  for (const char* step : {"a", "b", "c"}) CHECK_FALSE(events.emit(StepStarted{step, "noop"}));
  CHECK(counter.quiets == 0);
  CHECK(audit.value()->holdsLock());
  CHECK_FALSE(auditLockIsFree(path));
  waitFor(io, 3 * kEvery);  // the loop waits: one quiet point for the burst
  CHECK(counter.quiets == 1);
  CHECK_FALSE(audit.value()->holdsLock());
  CHECK(auditLockIsFree(path));

  // A call's allow waits for the worker's stream; the quiet point may come before the stream
  // writes it. The flush takes the lock, and a quiet point must still follow it, though no
  // event comes while the plugin runs.
  CHECK_FALSE(events.emit(allowedCall()));
  waitFor(io, 3 * kEvery);
  CHECK(counter.quiets == 2);
  CHECK_FALSE(audit.value()->holdsLock());  // nothing written yet: nothing held
  CHECK_FALSE(events.flushRecord());        // the stream sends the call
  CHECK(audit.value()->holdsLock());
  waitFor(io, 3 * kEvery);  // the plugin runs
  CHECK(counter.quiets == 3);
  CHECK(auditLockIsFree(path));

  // However the run ends, what the last events hold is let go.
  CHECK_FALSE(events.emit(StepStarted{"d", "noop"}));
  CHECK_FALSE(auditLockIsFree(path));
  quietPoints.reset();
  CHECK(counter.quiets == 4);
  CHECK(auditLockIsFree(path));
  // Without quiet points scheduled, every event is followed by one.
  CHECK_FALSE(events.emit(StepStarted{"e", "noop"}));
  CHECK(counter.quiets == 5);
  CHECK(auditLockIsFree(path));

  auto verified = verifyAuditLog(path);
  REQUIRE_MESSAGE(verified.ok(), verified.error().message);
  CHECK(verified.value().records == 6);
}
