// The RPC socket's reads, one read(2) per batch of messages instead of two per message. Cap'n
// Proto 0.9 reads each message as its first word and then the rest, and the messages of a call
// often arrive together (a Return with the Release of the call's Host capability; a Finish with
// the next Call; 64 pipelined Returns). Each read(2) is a system call, which on a virtualised
// host costs about a microsecond. Both ends use it: the supervisor (worker/worker_handle) and
// the worker (sandbox-worker/main). Writes pass straight through.
#pragma once

#include <kj/async-io.h>

#include <algorithm>
#include <cstring>

namespace cordon::protocol {

class ReadBufferedStream final : public kj::AsyncIoStream {
 public:
  // Big enough for a call's messages; a read of at least this much bypasses the buffer.
  static constexpr size_t kBufferBytes = 8192;

  explicit ReadBufferedStream(kj::Own<kj::AsyncIoStream> inner)
      : inner_(kj::mv(inner)), buffer_(kj::heapArray<kj::byte>(kBufferBytes)) {}

  kj::Promise<size_t> tryRead(void* destination, size_t minBytes, size_t maxBytes) override {
    auto* out = static_cast<kj::byte*>(destination);
    const size_t taken = take(out, maxBytes);
    if (taken >= minBytes) return taken;
    out += taken;
    const size_t needed = minBytes - taken;
    const size_t room = maxBytes - taken;
    if (room >= kBufferBytes) {  // a large body: straight into its place, no copy
      return inner_->tryRead(out, needed, room).then([taken](size_t got) { return taken + got; });
    }
    return inner_->tryRead(buffer_.begin(), needed, kBufferBytes)
        .then([this, out, room, taken](size_t got) {
          begin_ = 0;
          end_ = got;
          return taken + take(out, room);  // fewer than minBytes only at the end of the stream
        });
  }

  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override {
    begin_ = end_ = 0;
    inner_->abortRead();
  }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

 private:
  // Moves up to `most` buffered bytes to `out`; returns how many.
  size_t take(kj::byte* out, size_t most) {
    const size_t count = std::min(most, end_ - begin_);
    if (count != 0) std::memcpy(out, buffer_.begin() + begin_, count);
    begin_ += count;
    return count;
  }

  kj::Own<kj::AsyncIoStream> inner_;
  kj::Array<kj::byte> buffer_;
  size_t begin_ = 0;  // the buffered bytes not yet read: [begin_, end_)
  size_t end_ = 0;
};

}  // namespace cordon::protocol
