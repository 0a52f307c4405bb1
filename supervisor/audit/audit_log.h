// The audit log: one JSON object per line for every security event (docs/audit.md). Each record
// carries the SHA-256 of the previous one, so deleting, reordering or editing a line breaks the
// chain, which `cordon audit verify` detects. Several supervisors may append to one log at once:
// every append takes an exclusive lock on the file and first verifies whatever the others
// appended since, so the chain never forks. A log rotates into numbered segments (LOG.000001,
// LOG.000002, ... oldest first, then LOG itself), and the chain runs on across them: a closed
// segment ends with audit.rotated, the next begins with audit.segment, whose prev is its hash.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cordon {

// Where the checkpoint of a log lives: the last record's seq and hash and the byte length they
// end at, kept outside the log so that cutting whole records off its end is detected.
std::string auditCheckpointPath(const std::string& logPath);

// The file closed segment `number` (from 1) of the log at `logPath` lives in.
std::string auditSegmentPath(const std::string& logPath, uint64_t number);

struct AuditLogOptions {
  // After an append that leaves the live file at least this long, it is closed as the next
  // segment and a new live file continues the chain; 0: never rotate by size.
  uint64_t rotateAtBytes = 0;
};

// Told of every write of records to the log (metrics: count, latency, failures). Called on the
// writing thread, with the log's lock held: it must be quick and must not write to the log.
class AuditWriteObserver {
 public:
  virtual ~AuditWriteObserver() = default;
  virtual void onAuditWrite(uint64_t records, double seconds, bool ok) = 0;
};

class AuditLog {
 public:
  // Opens (appending) or creates the log. The chain continues from the last record, so a log
  // that does not verify (or is shorter than its checkpoint) is refused rather than extended.
  // Only the part after the checkpoint is read again.
  static Outcome<std::unique_ptr<AuditLog>> open(const std::string& path,
                                                 AuditLogOptions options = {});
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends {seq, ts, run, event, ...fields, prev, hash} and writes it out before returning.
  // `run` is the run the record belongs to, taken from `fields` ("" when they have none): each
  // run's audit subscriber (run/audit_subscriber) sets its own, so one log serves many runs.
  // Returns false when it could not: the disk is full, the write failed, or another writer left
  // the log broken. Then the log is failed for good (failure() says why), a torn partial line is
  // cut off again, and every later record() returns false at once: the caller must stop what
  // the record would have allowed. Never throws, never aborts.
  bool record(std::string_view event, const nlohmann::json& fields);

  // Like record(), but the record may wait, with the others held back, until the next flush(),
  // record() or checkpoint, so that the records of one event-loop turn go out in one write.
  // Only for a decision whose effect can leave the supervisor solely through a path that calls
  // flush() first (the worker's RPC stream, worker/recorded_stream.h). True while the log is
  // sound: a failure surfaces at the flush, which then refuses the effect.
  bool defer(std::string_view event, nlohmann::json fields);
  // Writes the held-back records now, in one write under the lock; false when it could not.
  bool flush();
  // defer() flushes by itself once this many records wait.
  static constexpr size_t kMaxDeferred = 256;

  // Lock leases: with `keep` set, the lock an append takes stays held after it, until
  // releaseLock(). While it is held no other writer can append, so the next record is only its
  // write: no flock, no fstat to catch up, no unlock. The run releases it at each quiet point
  // (RunRecord::quiet, at most kQuietPointEvery apart), so another supervisor sharing the log
  // waits that long at most, plus the turn in progress (docs/audit.md, "Several writers").
  void keepLockBetweenWrites(bool keep);
  // Lets the lock go if a lease holds it; a no-op otherwise.
  void releaseLock();
  // Whether a lease holds the lock now (until releaseLock()).
  bool holdsLock() const { return locked_ && keepLock_; }

  // The first write failure, with the operating system's reason; empty while the log is sound.
  const std::optional<Error>& failure() const { return failure_; }
  bool healthy() const { return !failure_.has_value(); }

  const std::string& path() const { return path_; }
  uint64_t recordsWritten() const { return written_; }
  // The hash of the last record this writer wrote (or caught up to): right after record(), that
  // record's own, which a run receipt binds (docs/trust.md, "Run receipts").
  const std::string& lastHash() const { return lastHash_; }
  // nullptr: none. The observer must outlive the log or be unset first.
  void setWriteObserver(AuditWriteObserver* observer) { observer_ = observer; }

  // Writes the checkpoint (also done when the log is closed).
  void writeCheckpoint();

  // Closes the live file as the next segment now, whatever its size (`cordon audit rotate`).
  bool rotate();
  // The number of the live file's segment: 1 until the first rotation.
  uint64_t liveSegment() const { return liveSegment_; }

 private:
  struct Position {
    uint64_t nextSeq;
    std::string lastHash;
    std::string lastEvent;
    uint64_t bytes;
    uint64_t segment;
  };
  AuditLog(std::string path, int fd, const Position& position, AuditLogOptions options);
  bool fail(const std::string& reason);
  // With fd_ locked, caught up with every other writer and on the live file (following
  // rotations other writers made, or finishing one a writer left half done); false: failed.
  // Under a lease that still holds the lock, there is nothing to catch up with.
  bool lockLive();
  // The end of an append: the lock goes, unless a lease keeps it (and the log is sound).
  void unlock();
  bool syncLocked();
  bool catchUp(uint64_t size);  // verifies what other writers appended; under the lock
  // The held-back records, then this one, in one write.
  bool appendLocked(std::string_view event, const nlohmann::json& fields,
                    bool heldBackFirst = true);
  // Appends the record's line to `out` and moves the chain on past it.
  void renderLocked(std::string_view event, const nlohmann::json& fields, std::string& out);
  uint64_t renderPendingLocked(std::string& out);  // the held-back records; returns how many
  bool writeLocked(const std::string& lines, uint64_t records);
  bool rotateLocked();
  bool moveOnLocked();            // the last record is audit.rotated: to the live file
  bool completeRotationLocked();  // ... and the live path is still this file: finish it
  void writeCheckpointLocked();

  std::string path_;
  int fd_;
  uint64_t nextSeq_;
  std::string lastHash_;
  std::string lastEvent_;
  uint64_t knownBytes_;  // length of the file that this writer has verified or written
  uint64_t liveSegment_;
  AuditLogOptions options_;
  bool regular_ = true;
  bool locked_ = false;    // fd_ is locked by this writer
  bool keepLock_ = false;  // keepLockBetweenWrites
  uint64_t written_ = 0;
  AuditWriteObserver* observer_ = nullptr;
  std::optional<Error> failure_;
  // Kept from record to record, so that an append allocates next to nothing.
  class RecordHasher;
  class RecordClock;
  std::unique_ptr<RecordHasher> hasher_;
  std::unique_ptr<RecordClock> clock_;
  std::string line_;                                             // the lines of one write
  std::string record_;                                           // the record being built
  std::vector<std::pair<std::string, nlohmann::json>> pending_;  // defer()'s, not yet written
};

enum class AuditDefect {
  kNone,
  kTruncatedTail,  // the last line has no newline and does not parse: a writer stopped mid-line
  kTampered,       // a record was altered, removed, inserted or reordered, or is not a record
  kTruncated,      // the log is shorter than its checkpoint: whole records were cut off its end
};

struct AuditScan {
  uint64_t records = 0;     // records that verify, in every segment
  uint64_t segments = 1;    // files verified: the closed segments and the live file
  std::string lastHash;     // hash of the last record that verifies (64 zeros for none)
  uint64_t validBytes = 0;  // of the live file: length of the prefix of records that verify
  uint64_t totalBytes = 0;  // length of the live file
  AuditDefect defect = AuditDefect::kNone;
  std::string problem;  // "FILE:LINE: ..." when defect is not kNone
  bool checkpointFound = false;
};

// Reads every segment of the log, oldest first, in chunks, and recomputes the one chain through
// them, then holds it against its checkpoint when there is one. A missing, reordered or
// shortened closed segment is tampering. Fails only when the live file cannot be read.
Outcome<AuditScan> scanAuditLog(const std::string& path);

struct AuditVerification {
  uint64_t records = 0;
  std::string lastHash;
};

// Recomputes the chain. The error names the first line that does not verify.
Outcome<AuditVerification> verifyAuditLog(const std::string& path);

struct AuditRecovery {
  uint64_t droppedBytes = 0;  // 0: there was nothing to recover
  uint64_t records = 0;       // records kept
};

// A log whose only defect is a truncated final line (a crash mid-write): cuts that line off and
// appends an audit.recovered record naming what was dropped (its length, SHA-256 and first bytes),
// so the chain goes on. A log with any other defect is refused: recovery never hides tampering.
Outcome<AuditRecovery> recoverAuditLog(const std::string& path);

// The hash a record must carry: SHA-256 over prev hash and the record without "hash".
std::string auditRecordHash(const nlohmann::json& recordWithoutHash);

}  // namespace cordon
