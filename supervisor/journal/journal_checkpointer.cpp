#include "journal/journal_checkpointer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "journal/sqlite_db.h"

namespace cordon {

static_assert(kCheckpointEvery % kWalSyncEvery == std::chrono::milliseconds(0),
              "a checkpoint falls on a sync's tick");

JournalCheckpointer::JournalCheckpointer(std::string path, SyncFunction sync)
    : path_(std::move(path)), sync_(sync) {
  // The thread takes no signal: SIGINT and SIGTERM are the event loop's, which may capture them
  // (block them in its own thread) only after this thread has started.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this] { loop(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void JournalCheckpointer::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

// Opened afresh each time: SQLite may delete the WAL and make a new one when its last
// connection closes, and an fsync on any descriptor of the file writes the file's pages.
void JournalCheckpointer::syncWal() {
  const std::string wal = path_ + "-wal";
  const int fd = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // no WAL yet: nothing committed to lose
  if (sync_(fd) == 0) {
    walSyncs_.fetch_add(1);
  } else {
    const int error = errno;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!syncFailure_) {
      syncFailure_ = makeError(ErrorCategory::kInternal,
                               wal + ": fdatasync failed (" + std::strerror(error) +
                                   "): what the journal committed may not survive a power loss");
    }
  }
  ::close(fd);
}

std::optional<Error> JournalCheckpointer::syncFailure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return syncFailure_;
}

void JournalCheckpointer::loop() {
  auto opened = SqliteDb::open(path_);
  if (!opened.ok()) return;  // the writer checkpoints when it closes; nothing is lost
  SqliteDb& db = *opened.value();
  constexpr int kSyncsPerCheckpoint = static_cast<int>(kCheckpointEvery / kWalSyncEvery);
  std::unique_lock<std::mutex> lock(mutex_);
  for (int tick = 1;; ++tick) {
    const bool stopping = wake_.wait_for(lock, kWalSyncEvery, [this] { return stopping_; });
    lock.unlock();
    // Synced first, on every tick: a checkpoint that a reader holds back copies nothing and
    // syncs nothing. A failed sync is kept (syncFailure); a failed checkpoint (busy, I/O) is
    // tried again next time, and the WAL only grows.
    syncWal();
    if (stopping || tick % kSyncsPerCheckpoint == 0) {
      if (db.query("PRAGMA wal_checkpoint(PASSIVE)").ok()) checkpoints_.fetch_add(1);
    }
    lock.lock();
    if (stopping) return;
  }
}

}  // namespace cordon
