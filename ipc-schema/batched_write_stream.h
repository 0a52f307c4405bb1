// The RPC socket's writes, one writev(2) per event-loop turn instead of one per message. Cap'n
// Proto 0.9 writes each message by itself: a call's Return and the Release of its Host
// capability are two system calls in the worker, 64 pipelined calls are 64 in the supervisor,
// each waking the other side. Here a message is kept and the write reported done at once; when
// the loop has nothing left to run (kj::evalLast), everything kept goes out in one write, in
// order. Reads pass straight through.
//
// What is kept is the user's choice (Keep):
// - kEverything: every message waits for the turn's end. The worker: a call's Return and its
//   Host's Release leave in one write.
// - kUnansweredOnly: only a Finish or a Release waits (ipc-schema/rpc_message_kind.h), and goes
//   out in front of the next message, in one write, or at the turn's end. Any other message
//   goes out at once. The supervisor on one CPU: a lone call is not delayed, and the Finish of
//   the call before it no longer wakes the worker by itself (worker/worker_handle says why).
#pragma once

#include <kj/async-io.h>
#include <kj/vector.h>

#include "rpc_message_kind.h"

namespace cordon::protocol {

class BatchedWriteStream final : public kj::AsyncIoStream {
 public:
  // Past this much kept, a write waits for the batch to go out (the peer reads slowly).
  static constexpr size_t kMostKeptBytes = 256 * 1024;
  // A message this large goes out by itself, not copied (after what is kept, in order).
  static constexpr size_t kOwnWriteBytes = 64 * 1024;

  enum class Keep { kEverything, kUnansweredOnly };

  explicit BatchedWriteStream(kj::Own<kj::AsyncIoStream> inner, Keep keep = Keep::kEverything)
      : inner_(kj::mv(inner)), keep_(keep) {}

  kj::Promise<void> write(const void* buffer, size_t size) override {
    const kj::ArrayPtr<const kj::byte> piece(static_cast<const kj::byte*>(buffer), size);
    return write(kj::arrayPtr(&piece, 1));
  }

  // The caller keeps `pieces` and the bytes alive until the promise resolves (as Cap'n Proto
  // does), so a large message is written from where it is.
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    KJ_IF_MAYBE (failure, failure_) {
      return kj::cp(*failure);
    }
    if (keep_ == Keep::kUnansweredOnly && !isUnansweredRpcMessage(pieces))
      return sendWithKept(pieces);
    size_t total = 0;
    for (const auto& piece : pieces) total += piece.size();
    if (total >= kOwnWriteBytes) {
      sendKept();
      return inOrder([this, pieces] { return inner_->write(pieces); });
    }
    for (const auto& piece : pieces) kept_.addAll(piece);
    if (!scheduled_) {
      scheduled_ = true;
      sending_ = kj::evalLast([this] { return sendKept(); }).fork();
    }
    if (kept_.size() >= kMostKeptBytes) return sending_.addBranch();
    return kj::READY_NOW;
  }

  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return inner_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  // What is kept goes out first; the end of the stream follows it.
  void shutdownWrite() override {
    sendKept();
    shutdown_ = inOrder([this]() -> kj::Promise<void> {
                  inner_->shutdownWrite();
                  return kj::READY_NOW;
                }).eagerlyEvaluate([](kj::Exception&&) {});
  }
  void abortRead() override { inner_->abortRead(); }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

 private:
  // Everything kept, in one write after the writes before it.
  kj::Promise<void> sendKept() {
    if (!scheduled_) return kj::READY_NOW;  // sent already, ahead of a large message
    scheduled_ = false;
    auto batch = kept_.releaseAsArray();
    return inOrder([this, batch = kj::mv(batch)]() mutable {
      auto written = inner_->write(batch.begin(), batch.size());
      return written.attach(kj::mv(batch));
    });
  }

  // `pieces` now, with everything kept in front of it, in one write; not copied.
  kj::Promise<void> sendWithKept(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
    if (!scheduled_) return inOrder([this, pieces] { return inner_->write(pieces); });
    scheduled_ = false;  // the turn's end finds nothing left to send
    auto kept = kept_.releaseAsArray();
    auto all = kj::heapArray<kj::ArrayPtr<const kj::byte>>(pieces.size() + 1);
    all[0] = kept.asPtr();
    for (size_t i = 0; i < pieces.size(); ++i) all[i + 1] = pieces[i];
    return inOrder([this, kept = kj::mv(kept), all = kj::mv(all)]() mutable {
      auto written = inner_->write(all.asPtr());
      return written.attach(kj::mv(kept), kj::mv(all));
    });
  }

  // Starts `start` once every write begun before it is done (at once when none is under way); a
  // failure fails every write after.
  template <typename Start>
  kj::Promise<void> inOrder(Start&& start) {
    kj::Promise<void> begun = writesUnderWay_ == 0 ? kj::evalNow(kj::fwd<Start>(start))
                                                   : previous_.then(kj::fwd<Start>(start));
    ++writesUnderWay_;
    auto done = begun
                    .then(
                        [this]() -> kj::Promise<void> {
                          --writesUnderWay_;
                          return kj::READY_NOW;
                        },
                        [this](kj::Exception&& e) -> kj::Promise<void> {
                          --writesUnderWay_;
                          if (failure_ == nullptr) failure_ = kj::cp(e);
                          return kj::mv(e);
                        })
                    .fork();
    previous_ = done.addBranch().catch_([](kj::Exception&&) {});
    return done.addBranch();
  }

  kj::Own<kj::AsyncIoStream> inner_;
  const Keep keep_;
  kj::Vector<kj::byte> kept_;
  size_t writesUnderWay_ = 0;
  bool scheduled_ = false;
  kj::ForkedPromise<void> sending_ = kj::Promise<void>(kj::READY_NOW).fork();
  kj::Promise<void> previous_ = kj::READY_NOW;  // the last write begun
  kj::Promise<void> shutdown_ = nullptr;
  kj::Maybe<kj::Exception> failure_;
};

}  // namespace cordon::protocol
