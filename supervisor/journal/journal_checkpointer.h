// Checkpoints the journal's WAL on a thread of its own. SQLite's automatic checkpoint runs in
// the committing connection, on the supervisor's event loop, and fsyncs the WAL and the database
// there (tens of ms each on a slow disk, and more often the more a run writes); here it runs
// beside the run, through its own connection, every kCheckpointEvery, PASSIVE: it copies what
// no reader still needs and never waits for the writer (docs/state.md, "What is durable when").
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace cordon {

inline constexpr std::chrono::milliseconds kCheckpointEvery{100};

class JournalCheckpointer {
 public:
  // `path`: the journal; the writing connection must have wal_autocheckpoint=0.
  explicit JournalCheckpointer(std::string path);
  ~JournalCheckpointer();  // one last checkpoint, then the thread ends
  JournalCheckpointer(const JournalCheckpointer&) = delete;
  JournalCheckpointer& operator=(const JournalCheckpointer&) = delete;

 private:
  void loop();

  std::string path_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // started in the constructor's body, with every signal blocked
};

}  // namespace cordon
