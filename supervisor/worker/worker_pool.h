// The workers of one plugin in one run. A stateful plugin has one (its steps take turns on
// it); a stateless one up to its policy's max_workers. A worker may be started ahead of the
// step that needs it (prestart); a step takes a free one, started or still starting, or waits
// for one to come back. A worker that broke is stopped and replaced by the next start.
#pragma once

#include <kj/async.h>

#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>

#include "core/error.h"
#include "worker/worker_handle.h"

namespace cordon {

class WorkerPool {
 public:
  using Start = std::function<kj::Promise<Outcome<std::unique_ptr<WorkerHandle>>>()>;
  WorkerPool(unsigned maxWorkers, Start start);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Whether acquire() would not wait for another step: a worker is free, or one more may start.
  bool canServeNow();
  // Starts one worker ahead, unless one is free already or the pool is full.
  void prestart();
  // A worker for one call; the caller gives it back with release(). The error is its start's.
  kj::Promise<Outcome<WorkerHandle*>> acquire();
  void release(WorkerHandle* worker);
  // Shuts every worker down (kill: at once), waiting for those still starting.
  kj::Promise<void> stopAll(bool kill);

 private:
  struct Slot {
    std::unique_ptr<WorkerHandle> worker;
    std::optional<Error> failed;  // its start failed
    bool settled = false;         // its start has finished, either way
    bool busy = false;
    kj::ForkedPromise<void> ready = nullptr;
  };
  Slot& startSlot();
  kj::Promise<Outcome<WorkerHandle*>> claim(Slot& slot);
  Slot* freeSlot();
  void prune();  // drops slots whose start failed and nobody waits on
  void wakeOne();

  unsigned maxWorkers_;
  Start start_;
  std::list<std::unique_ptr<Slot>> slots_;
  std::deque<kj::Own<kj::PromiseFulfiller<void>>> waiting_;
  class Retirer;
  kj::Own<Retirer> retirer_;
  bool stopping_ = false;
};

}  // namespace cordon
