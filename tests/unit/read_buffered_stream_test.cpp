// The RPC socket's read buffer: messages that arrive together are read with one read of the
// stream below, every byte comes out once and in order, a large body bypasses the buffer, and
// the end of the stream still reads short.
#include <doctest/doctest.h>

#include <capnp/message.h>
#include <capnp/serialize-async.h>
#include <kj/async-io.h>

#include <string>

#include "cordon.capnp.h"
#include "read_buffered_stream.h"
#include "test_support.h"

using namespace cordon;

namespace {

// Counts the reads that reach the stream below.
class CountingStream final : public kj::AsyncIoStream {
 public:
  explicit CountingStream(kj::Own<kj::AsyncIoStream> inner) : inner_(kj::mv(inner)) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    ++reads;
    return inner_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  int reads = 0;

 private:
  kj::Own<kj::AsyncIoStream> inner_;
};

void sendKeyValue(kj::AsyncIoStream& stream, const std::string& key, const std::string& value) {
  capnp::MallocMessageBuilder message;
  auto entry = message.initRoot<ipc::KeyValue>();
  entry.setKey(key);
  entry.setValue(value);
  capnp::writeMessage(stream, message).wait(test::eventLoop().waitScope);
}

std::string receiveKeyValue(kj::AsyncIoStream& stream) {
  auto message = capnp::readMessage(stream).wait(test::eventLoop().waitScope);
  auto entry = message->getRoot<ipc::KeyValue>();
  return std::string(entry.getKey().cStr()) + "=" + entry.getValue().cStr();
}

}  // namespace

TEST_CASE("messages that arrive together are read with one read of the stream below") {
  auto& io = test::eventLoop();
  auto pipe = io.provider->newTwoWayPipe();
  auto counting = kj::heap<CountingStream>(kj::mv(pipe.ends[0]));
  CountingStream& below = *counting;
  protocol::ReadBufferedStream buffered(kj::mv(counting));

  for (int i = 0; i < 3; ++i) sendKeyValue(*pipe.ends[1], "k" + std::to_string(i), "v");
  for (int i = 0; i < 3; ++i) CHECK(receiveKeyValue(buffered) == "k" + std::to_string(i) + "=v");
  CHECK(below.reads == 1);  // unbuffered, Cap'n Proto reads each message in two

  // A body larger than the buffer goes straight to its place, whole.
  const std::string large(3 * protocol::ReadBufferedStream::kBufferBytes, 'x');
  sendKeyValue(*pipe.ends[1], "large", large);
  sendKeyValue(*pipe.ends[1], "after", "y");
  CHECK(receiveKeyValue(buffered) == "large=" + large);
  CHECK(receiveKeyValue(buffered) == "after=y");

  // Writes pass through.
  buffered.write("ok", 2).wait(io.waitScope);
  char got[2] = {};
  CHECK(pipe.ends[1]->tryRead(got, 2, 2).wait(io.waitScope) == 2);
  CHECK(std::string(got, 2) == "ok");
}

TEST_CASE("the buffer hands out every byte once, in order, and reads short only at the end") {
  auto& io = test::eventLoop();
  auto pipe = io.provider->newTwoWayPipe();
  protocol::ReadBufferedStream buffered(kj::mv(pipe.ends[0]));
  std::string sent;
  for (int i = 0; i < 1000; ++i) sent += std::to_string(i) + ",";
  pipe.ends[1]->write(sent.data(), sent.size()).wait(io.waitScope);
  pipe.ends[1]->shutdownWrite();

  std::string received;
  char chunk[700];
  for (size_t size : {1u, 7u, 8u, 100u, 699u, 3u}) {
    const size_t got = buffered.tryRead(chunk, size, size).wait(io.waitScope);
    CHECK(got == size);
    received.append(chunk, got);
  }
  for (size_t got; (got = buffered.tryRead(chunk, 1, sizeof chunk).wait(io.waitScope)) != 0;)
    received.append(chunk, got);
  CHECK(received == sent);
  // At the end of the stream a read asking for more than is left gets what is left: nothing.
  CHECK(buffered.tryRead(chunk, 8, 8).wait(io.waitScope) == 0);
}
