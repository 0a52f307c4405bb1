#include "host/cordon_host.h"

#include <kj/async-unix.h>

#include <csignal>
#include <cstdio>

#include "run/audit_subscriber.h"
#include "run/denial_tally.h"

namespace cordon {
namespace {

kj::AsyncIoContext makeEventLoop(bool captureSignals) {
  if (captureSignals) {
    // Blocked from here on and delivered on the event loop, so a run can end cleanly on them.
    kj::UnixEventPort::captureSignal(SIGINT);
    kj::UnixEventPort::captureSignal(SIGTERM);
  }
  return kj::setupAsyncIo();
}

}  // namespace

CordonHost::CordonHost(HostSettings settings)
    : settings_(std::move(settings)),
      io_(makeEventLoop(settings_.cancelOnSignals)),
      cgroups_(CgroupTree::detect(&noCgroupReason_)) {}

CordonHost::~CordonHost() = default;

RunReport CordonHost::run(RunRequest request) {
  if (!cgroups_ && settings_.announceNoCgroups && !announced_) {
    announced_ = true;
    // One line: the reason is in every plugin.start record, the consequences in the docs.
    std::fprintf(stderr,
                 "cordon: note: rlimits only, no delegated cgroup v2 tree (see "
                 "docs/architecture.md, \"Which limits hold on which host\")\n");
  }
  Preflight& preflight = *request.preflight;
  PlanSources sources;
  sources.graph = &preflight.graph;
  sources.policy = &preflight.policy;
  sources.plugins = &preflight.plugins;
  sources.seccomp = &preflight.seccomp;
  sources.ledger = preflight.ledger ? &*preflight.ledger : nullptr;
  sources.workerBinary = settings_.workerBinary;
  sources.memoryLimit = cgroups_ ? MemoryLimitBy::kCgroup : MemoryLimitBy::kAddressSpace;
  const RunPlan plan = buildRunPlan(sources, std::move(request.inputs));

  AuditSubscriber audit(*request.audit);
  RunEvents events(audit);
  DenialTally denials;
  events.subscribe(denials);
  for (RunListener* listener : request.listeners) events.subscribe(*listener);
  // Quiet points (host/quiet_points): the journal commits there the events since the last one
  // (docs/state.md, "What is durable when"), and the audit log, which keeps its lock between
  // them, lets it go (docs/audit.md, "Several writers, one chain").
  request.audit->keepLockBetweenWrites(true);
  KJ_DEFER(request.audit->keepLockBetweenWrites(false));
  QuietPoints quietPoints(io_.provider->getTimer(), events);
  EngineContext context{&io_, &events, cgroups_.get(), cgroups_ ? "" : noCgroupReason_};
  request.options.cancelOnSignals = request.options.cancelOnSignals && settings_.cancelOnSignals;
  kj::Promise<void> ticking = nullptr;
  if (request.tick) ticking = tickEvery(request.tick, request.tickEvery).eagerlyEvaluate(nullptr);
  RunReport report = runPlan(context, plan, request.options).wait(io_.waitScope);
  // The last quiet point is quietPoints' destructor's, before the audit log's lease ends.
  report.denials = denials.counts();
  return report;
}

kj::Promise<void> CordonHost::tickEvery(const std::function<void()>& tick,
                                        std::chrono::milliseconds period) {
  return io_.provider->getTimer()
      .afterDelay(static_cast<int64_t>(period.count()) * kj::MILLISECONDS)
      .then([this, &tick, period]() {
        tick();
        return tickEvery(tick, period);
      });
}

}  // namespace cordon
