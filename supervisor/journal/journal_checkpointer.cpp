#include "journal/journal_checkpointer.h"

#include <pthread.h>
#include <signal.h>

#include "journal/sqlite_db.h"

namespace cordon {

JournalCheckpointer::JournalCheckpointer(std::string path) : path_(std::move(path)) {
  // The thread takes no signal: SIGINT and SIGTERM are the event loop's, which may capture them
  // (block them in its own thread) only after this thread has started.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  thread_ = std::thread([this] { loop(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

JournalCheckpointer::~JournalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void JournalCheckpointer::loop() {
  auto opened = SqliteDb::open(path_);
  if (!opened.ok()) return;  // the writer checkpoints when it closes; nothing is lost
  SqliteDb& db = *opened.value();
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const bool stopping = wake_.wait_for(lock, kCheckpointEvery, [this] { return stopping_; });
    lock.unlock();
    // A failure (busy, I/O) is tried again next time; the WAL only grows meanwhile.
    (void)db.query("PRAGMA wal_checkpoint(PASSIVE)");
    lock.lock();
    if (stopping) return;
  }
}

}  // namespace cordon
