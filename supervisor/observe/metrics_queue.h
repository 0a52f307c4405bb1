// The one way metric updates cross from the supervisor's event loop to the HTTP plane's thread:
// the loop pushes (a short lock, never a wait on the other thread's work), the plane drains.
// Bounded: past its capacity an update is dropped and counted, so a plane that stalls costs
// the run figures, never memory or time.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

#include "observe/metrics_registry.h"

namespace cordon {

class MetricsQueue {
 public:
  explicit MetricsQueue(size_t capacity = 1 << 18) : capacity_(capacity) {}

  void push(MetricUpdate update) {
    std::lock_guard lock(mutex_);
    if (waiting_.size() >= capacity_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    waiting_.push_back(std::move(update));
  }
  // Applies everything waiting to `registry`, and what was dropped since the last drain.
  void drainInto(MetricsRegistry& registry) {
    std::vector<MetricUpdate> taken;
    {
      std::lock_guard lock(mutex_);
      taken.swap(waiting_);
    }
    registry.apply(taken);
    if (uint64_t dropped = dropped_.exchange(0, std::memory_order_relaxed))
      registry.apply({&metric::kUpdatesDropped, {}, static_cast<double>(dropped)});
  }

 private:
  const size_t capacity_;
  std::mutex mutex_;
  std::vector<MetricUpdate> waiting_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace cordon
