// Keeps the journal's WAL durable and copied into the database, on a thread of its own.
// SQLite's automatic checkpoint runs in the committing connection, on the supervisor's event
// loop, and fsyncs the WAL and the database there (tens of ms each on a slow disk, and more
// often the more a run writes). Here, beside the run: the WAL is fdatasync'ed every
// kWalSyncEvery, which bounds what a power loss can take, and copied into the database through
// the thread's own connection every kCheckpointEvery, PASSIVE (it copies what no reader still
// needs and never waits for the writer). The two are apart because a checkpoint is the dear
// part and gets cheaper the rarer it is (a page that changed ten times is copied once), while a
// sync of the WAL alone is cheap (docs/state.md, "What is durable when").
#pragma once

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/error.h"

namespace cordon {

inline constexpr std::chrono::milliseconds kWalSyncEvery{100};
inline constexpr std::chrono::milliseconds kCheckpointEvery{1000};

class JournalCheckpointer {
 public:
  // How the WAL is made durable: fdatasync(2), or a stand-in that fails for the tests.
  using SyncFunction = int (*)(int fd);

  // `path`: the journal; the writing connection must have wal_autocheckpoint=0.
  explicit JournalCheckpointer(std::string path, SyncFunction sync = ::fdatasync);
  ~JournalCheckpointer() { stop(); }
  // One last sync and checkpoint, then the thread ends; once is enough, later calls do nothing.
  void stop();
  JournalCheckpointer(const JournalCheckpointer&) = delete;
  JournalCheckpointer& operator=(const JournalCheckpointer&) = delete;

  // What the thread has done so far, for tests: syncs of an existing WAL, and checkpoints.
  uint64_t walSyncs() const { return walSyncs_.load(); }
  uint64_t checkpoints() const { return checkpoints_.load(); }

  // The first sync of the WAL that failed, if one did. After a failed fdatasync the kernel may
  // have dropped the pages it could not write and a later sync can succeed without them (Linux
  // marks them clean), so no later success clears it: what was committed before it may not
  // survive a power loss, and the journal can no longer say when it would.
  std::optional<Error> syncFailure() const;

 private:
  void loop();
  void syncWal();

  std::string path_;
  SyncFunction sync_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<Error> syncFailure_;  // under mutex_
  std::atomic<uint64_t> walSyncs_{0};
  std::atomic<uint64_t> checkpoints_{0};
  std::thread thread_;  // started in the constructor's body, with every signal blocked
};

}  // namespace cordon
