#include "worker/worker_pool.h"

#include <kj/debug.h>

namespace cordon {

// Holds workers that broke until they are reaped.
class WorkerPool::Retirer final : public kj::TaskSet::ErrorHandler {
 public:
  Retirer() : tasks(*this) {}
  void taskFailed(kj::Exception&&) override {}  // stop() reports through the audit log
  kj::TaskSet tasks;
};

WorkerPool::WorkerPool(unsigned maxWorkers, Start start)
    : maxWorkers_(maxWorkers == 0 ? 1 : maxWorkers),
      start_(std::move(start)),
      retirer_(kj::heap<Retirer>()) {}

WorkerPool::~WorkerPool() = default;

WorkerPool::Slot& WorkerPool::startSlot() {
  slots_.push_back(std::make_unique<Slot>());
  Slot& slot = *slots_.back();
  slot.ready = start_()
                   .then(
                       [&slot](Outcome<std::unique_ptr<WorkerHandle>> started) {
                         if (started.ok()) {
                           slot.worker = std::move(started.value());
                         } else {
                           slot.failed = started.error();
                         }
                         slot.settled = true;
                       },
                       [&slot](kj::Exception&& e) {
                         slot.failed = makeError(ErrorCategory::kInternal,
                                                 std::string("starting the worker failed: ") +
                                                     e.getDescription().cStr());
                         slot.settled = true;
                       })
                   .fork();
  return slot;
}

void WorkerPool::prune() {
  slots_.remove_if([](const std::unique_ptr<Slot>& slot) {
    return !slot->busy && slot->settled && (slot->failed || slot->worker == nullptr);
  });
}

WorkerPool::Slot* WorkerPool::freeSlot() {
  prune();
  Slot* starting = nullptr;
  for (auto& slot : slots_) {
    if (slot->busy) continue;
    if (slot->settled && slot->worker != nullptr && slot->worker->usable()) return slot.get();
    if (!slot->settled && starting == nullptr) starting = slot.get();
  }
  return starting;
}

bool WorkerPool::canServeNow() {
  return freeSlot() != nullptr || slots_.size() < maxWorkers_;
}

void WorkerPool::prestart() {
  if (freeSlot() == nullptr && slots_.size() < maxWorkers_) startSlot();
}

kj::Promise<Outcome<WorkerHandle*>> WorkerPool::claim(Slot& slot) {
  slot.busy = true;
  // A step that stops waiting (its timeout_ms ran out) gives the slot back: the worker it was
  // waiting for serves the next step instead of staying busy for nobody.
  auto handedOver = std::make_shared<bool>(false);
  return slot.ready.addBranch()
      .then([this, &slot, handedOver]() -> Outcome<WorkerHandle*> {
        *handedOver = true;
        if (slot.failed || slot.worker == nullptr) {
          Error error = slot.failed.value_or(
              makeError(ErrorCategory::kInternal, "the worker's start ended without a worker"));
          slot.busy = false;  // pruned on the next use; the next start is a new slot
          wakeOne();
          return error;
        }
        return slot.worker.get();
      })
      .attach(kj::defer([this, &slot, handedOver]() {
        if (*handedOver || stopping_) return;
        slot.busy = false;
        wakeOne();
      }));
}

kj::Promise<Outcome<WorkerHandle*>> WorkerPool::acquire() {
  if (Slot* slot = freeSlot()) return claim(*slot);
  if (slots_.size() < maxWorkers_) return claim(startSlot());
  auto paf = kj::newPromiseAndFulfiller<void>();
  waiting_.push_back(kj::mv(paf.fulfiller));
  return paf.promise.then([this]() { return acquire(); });
}

void WorkerPool::release(WorkerHandle* worker) {
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    Slot& slot = **it;
    if (slot.worker.get() != worker) continue;
    slot.busy = false;
    if (!worker->usable()) {
      // Reaped in the background; its plugin.stop (or the verdict) is already in the log.
      WorkerHandle& broken = *slot.worker;
      retirer_->tasks.add(broken.stop().attach(std::move(slot.worker)));
      slots_.erase(it);
    }
    break;
  }
  wakeOne();
}

void WorkerPool::wakeOne() {
  while (!waiting_.empty()) {
    auto fulfiller = kj::mv(waiting_.front());
    waiting_.pop_front();
    if (fulfiller->isWaiting()) {
      fulfiller->fulfill();
      return;
    }
  }
}

kj::Promise<void> WorkerPool::stopAll(bool kill) {
  stopping_ = true;
  waiting_.clear();
  kj::Vector<kj::Promise<void>> stops;
  for (auto& owned : slots_) {
    Slot& slot = *owned;
    stops.add(slot.ready.addBranch().then([&slot, kill]() -> kj::Promise<void> {
      if (slot.worker == nullptr) return kj::READY_NOW;
      return kill ? slot.worker->kill() : slot.worker->stop();
    }));
  }
  return kj::joinPromises(stops.releaseAsArray()).then([this]() {
    return retirer_->tasks.onEmpty();
  });
}

}  // namespace cordon
