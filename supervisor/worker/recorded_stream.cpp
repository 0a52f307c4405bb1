#include "worker/recorded_stream.h"

namespace cordon {
namespace {

class RecordedStream final : public kj::AsyncIoStream {
 public:
  RecordedStream(kj::Own<kj::AsyncIoStream> inner, const RunEvents& events)
      : inner_(kj::mv(inner)), events_(events) {}

  kj::Promise<void> write(const void* buffer, size_t size) override {
    if (auto failure = events_.flushRecord()) return refused(*failure);
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    if (auto failure = events_.flushRecord()) return refused(*failure);
    return inner_->write(pieces);
  }
  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    return inner_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }

 private:
  static kj::Promise<void> refused(const Error& failure) {
    return kj::Promise<void>(kj::Exception(
        kj::Exception::Type::FAILED, __FILE__, __LINE__,
        kj::str("the audit log could not record what this message carries, so it is not sent: ",
                failure.message.c_str())));
  }

  kj::Own<kj::AsyncIoStream> inner_;
  const RunEvents& events_;
};

}  // namespace

kj::Own<kj::AsyncIoStream> recordedStream(kj::Own<kj::AsyncIoStream> inner,
                                          const RunEvents& events) {
  return kj::heap<RecordedStream>(kj::mv(inner), events);
}

}  // namespace cordon
