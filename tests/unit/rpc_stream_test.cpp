// The RPC socket's two layers (ipc-schema/): the read buffer (messages that arrive together are
// one read of the stream below; every byte comes out once and in order; a large body bypasses
// the buffer; the end of the stream still reads short) and the batched writes (the messages of
// one turn are one write below, in order; a large one by itself, in its place; a failed write
// fails the writes after it; the end of the stream comes after what was kept), and what the
// supervisor keeps on one CPU: only a Finish or a Release, which rides in front of the next
// message or goes at the turn's end, while every other message goes at once.
#include <doctest/doctest.h>

#include <capnp/message.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize-async.h>
#include <kj/async-io.h>

#include <string>

#include "batched_write_stream.h"
#include "cordon.capnp.h"
#include "read_buffered_stream.h"
#include "test_support.h"

using namespace cordon;

namespace {

// Counts the reads and writes that reach the stream below.
class CountingStream final : public kj::AsyncIoStream {
 public:
  explicit CountingStream(kj::Own<kj::AsyncIoStream> inner) : inner_(kj::mv(inner)) {}
  kj::Promise<size_t> tryRead(void* buffer, size_t minBytes, size_t maxBytes) override {
    ++reads;
    return inner_->tryRead(buffer, minBytes, maxBytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    ++writes;
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    ++writes;
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  int reads = 0;
  int writes = 0;

 private:
  kj::Own<kj::AsyncIoStream> inner_;
};

// A pipe whose near end is `Layer` over a CountingStream; the far end is the peer.
template <typename Layer>
struct CountedPipe {
  explicit CountedPipe(kj::AsyncIoContext& io) {
    auto pipe = io.provider->newTwoWayPipe();
    auto counting = kj::heap<CountingStream>(kj::mv(pipe.ends[0]));
    CountingStream& counted = *counting;
    layer = kj::heap<Layer>(kj::mv(counting));
    below = &counted;
    peer = kj::mv(pipe.ends[1]);
  }
  kj::Own<Layer> layer;
  CountingStream* below = nullptr;
  kj::Own<kj::AsyncIoStream> peer;
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
  CountedPipe<protocol::ReadBufferedStream> pipe(io);
  auto& buffered = *pipe.layer;
  CountingStream& below = *pipe.below;
  kj::AsyncIoStream& peer = *pipe.peer;

  for (int i = 0; i < 3; ++i) sendKeyValue(peer, "k" + std::to_string(i), "v");
  for (int i = 0; i < 3; ++i) CHECK(receiveKeyValue(buffered) == "k" + std::to_string(i) + "=v");
  CHECK(below.reads == 1);  // unbuffered, Cap'n Proto reads each message in two

  // A body larger than the buffer goes straight to its place, whole.
  const std::string large(3 * protocol::ReadBufferedStream::kBufferBytes, 'x');
  sendKeyValue(peer, "large", large);
  sendKeyValue(peer, "after", "y");
  CHECK(receiveKeyValue(buffered) == "large=" + large);
  CHECK(receiveKeyValue(buffered) == "after=y");

  // Writes pass through.
  buffered.write("ok", 2).wait(io.waitScope);
  char got[2] = {};
  CHECK(peer.tryRead(got, 2, 2).wait(io.waitScope) == 2);
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

TEST_CASE("the messages of one turn are one write below, in order; a large one goes by itself") {
  auto& io = test::eventLoop();
  CountedPipe<protocol::BatchedWriteStream> pipe(io);
  auto& batched = *pipe.layer;
  CountingStream& below = *pipe.below;
  kj::AsyncIoStream& peer = *pipe.peer;

  for (int i = 0; i < 3; ++i) sendKeyValue(batched, "k" + std::to_string(i), "v");
  CHECK(below.writes == 0);  // kept: the loop has not yet run out of work this turn
  io.waitScope.poll();
  CHECK(below.writes == 1);
  for (int i = 0; i < 3; ++i) CHECK(receiveKeyValue(peer) == "k" + std::to_string(i) + "=v");

  // A large message goes out by itself from where it is, after what was kept before it.
  const std::string large(2 * protocol::BatchedWriteStream::kOwnWriteBytes, 'x');
  sendKeyValue(batched, "before", "a");
  auto largeSent = [&] {
    capnp::MallocMessageBuilder message;
    auto entry = message.initRoot<ipc::KeyValue>();
    entry.setKey("large");
    entry.setValue(large);
    auto sent = capnp::writeMessage(batched, message);
    CHECK(receiveKeyValue(peer) == "before=a");
    CHECK(receiveKeyValue(peer) == "large=" + large);
    sent.wait(io.waitScope);
    CHECK(below.writes == 3);  // the kept one, then the large one by itself (not copied in)
  };
  largeSent();
  sendKeyValue(batched, "after", "b");
  CHECK(receiveKeyValue(peer) == "after=b");
  CHECK(below.writes == 4);

  // The end of the stream comes after what was kept.
  sendKeyValue(batched, "last", "c");
  batched.shutdownWrite();
  CHECK(receiveKeyValue(peer) == "last=c");
  char byte = 0;
  CHECK(peer.tryRead(&byte, 1, 1).wait(io.waitScope) == 0);
}

TEST_CASE("a batch that cannot be written fails every write after it") {
  auto& io = test::eventLoop();
  auto pipe = io.provider->newTwoWayPipe();
  protocol::BatchedWriteStream batched(kj::mv(pipe.ends[0]));
  pipe.ends[1] = nullptr;                       // the peer is gone
  batched.write("lost", 4).wait(io.waitScope);  // kept: the failure is not known yet
  io.waitScope.poll();
  auto next =
      batched.write("next", 4).then([] { return false; }, [](kj::Exception&&) { return true; });
  CHECK(next.wait(io.waitScope));
}

namespace {

// One RPC message of the given kind, its body left empty but for the id it names.
kj::Own<capnp::MallocMessageBuilder> buildRpc(capnp::rpc::Message::Which kind) {
  auto message = kj::heap<capnp::MallocMessageBuilder>();
  auto root = message->initRoot<capnp::rpc::Message>();
  switch (kind) {
    case capnp::rpc::Message::FINISH:
      root.initFinish().setQuestionId(7);
      break;
    case capnp::rpc::Message::RELEASE:
      root.initRelease().setId(9);
      break;
    case capnp::rpc::Message::CALL:
      root.initCall().setQuestionId(8);
      break;
    case capnp::rpc::Message::RETURN:
      root.initReturn().setAnswerId(8);
      break;
    case capnp::rpc::Message::ABORT:
      root.initAbort();
      break;
    default:
      root.initBootstrap();
      break;
  }
  return message;
}

// Writes one RPC message of the given kind to `stream`.
kj::Promise<void> sendRpc(kj::AsyncOutputStream& stream, capnp::rpc::Message::Which kind) {
  auto message = buildRpc(kind);
  auto written = capnp::writeMessage(stream, *message);
  return written.attach(kj::mv(message));
}

capnp::rpc::Message::Which receiveRpc(kj::AsyncIoStream& stream) {
  auto message = capnp::readMessage(stream).wait(test::eventLoop().waitScope);
  return message->getRoot<capnp::rpc::Message>().which();
}

// What a stream below is asked to write for one message, as Cap'n Proto hands it over.
bool unanswered(capnp::MessageBuilder& message) {
  auto segments = message.getSegmentsForOutput();
  KJ_ASSERT(segments.size() == 1);
  const uint32_t table[2] = {0, static_cast<uint32_t>(segments[0].size())};
  const kj::ArrayPtr<const kj::byte> pieces[2] = {
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(table), sizeof table), segments[0].asBytes()};
  return protocol::isUnansweredRpcMessage(kj::arrayPtr(pieces, 2));
}

}  // namespace

TEST_CASE("only a Finish or a Release reads as a message its receiver answers nothing to") {
  using Message = capnp::rpc::Message;
  for (auto kind : {Message::FINISH, Message::RELEASE, Message::CALL, Message::RETURN,
                    Message::BOOTSTRAP, Message::ABORT}) {
    auto message = buildRpc(kind);
    CAPTURE(static_cast<int>(kind));
    CHECK(unanswered(*message) == (kind == Message::FINISH || kind == Message::RELEASE));
  }
  // Not an RPC message at all: a struct with no data words reads as the union's first member.
  capnp::MallocMessageBuilder other;
  other.initRoot<ipc::KeyValue>().setKey("k");
  CHECK_FALSE(unanswered(other));
  // A write that is not one framed message, or a table that does not match, is never held.
  const kj::byte raw[16] = {};
  const kj::ArrayPtr<const kj::byte> one[1] = {kj::arrayPtr(raw, sizeof raw)};
  CHECK_FALSE(protocol::isUnansweredRpcMessage(kj::arrayPtr(one, 1)));
  capnp::MallocMessageBuilder finish;
  finish.initRoot<capnp::rpc::Message>().initFinish();
  auto words = finish.getSegmentsForOutput()[0];
  const uint32_t wrongTable[2] = {0, static_cast<uint32_t>(words.size() + 1)};
  const kj::ArrayPtr<const kj::byte> mismatched[2] = {
      kj::arrayPtr(reinterpret_cast<const kj::byte*>(wrongTable), sizeof wrongTable),
      words.asBytes()};
  CHECK_FALSE(protocol::isUnansweredRpcMessage(kj::arrayPtr(mismatched, 2)));
}

TEST_CASE("kept unanswered: a Finish or a Release waits for the next message, which goes at once") {
  using Message = capnp::rpc::Message;
  auto& io = test::eventLoop();
  auto pipe = io.provider->newTwoWayPipe();
  auto counting = kj::heap<CountingStream>(kj::mv(pipe.ends[0]));
  CountingStream& below = *counting;
  protocol::BatchedWriteStream stream(kj::mv(counting),
                                      protocol::BatchedWriteStream::Keep::kUnansweredOnly);
  kj::AsyncIoStream& peer = *pipe.ends[1];

  // A Call goes out at once, in its own write: a lone call is never delayed.
  sendRpc(stream, Message::CALL).wait(io.waitScope);
  CHECK(below.writes == 1);
  CHECK(receiveRpc(peer) == Message::CALL);

  // A Finish and a Release wait; the next Call carries them, in order, in one write.
  sendRpc(stream, Message::FINISH).wait(io.waitScope);
  sendRpc(stream, Message::RELEASE).wait(io.waitScope);
  CHECK(below.writes == 1);
  sendRpc(stream, Message::CALL).wait(io.waitScope);
  CHECK(below.writes == 2);
  CHECK(receiveRpc(peer) == Message::FINISH);
  CHECK(receiveRpc(peer) == Message::RELEASE);
  CHECK(receiveRpc(peer) == Message::CALL);

  // With no message after it, a Finish goes out when the loop has nothing left to run.
  sendRpc(stream, Message::FINISH).wait(io.waitScope);
  CHECK(below.writes == 2);
  io.waitScope.poll();
  CHECK(below.writes == 3);
  CHECK(receiveRpc(peer) == Message::FINISH);

  // A large message carries what waits in front of it, and is not held itself.
  sendRpc(stream, Message::RELEASE).wait(io.waitScope);
  {
    capnp::MallocMessageBuilder large;
    auto entry = large.initRoot<ipc::KeyValue>();
    entry.setKey("large");
    entry.setValue(std::string(2 * protocol::BatchedWriteStream::kOwnWriteBytes, 'x'));
    auto sent = capnp::writeMessage(stream, large);
    CHECK(below.writes == 4);
    CHECK(receiveRpc(peer) == Message::RELEASE);
    CHECK(receiveKeyValue(peer).size() == 6 + 2 * protocol::BatchedWriteStream::kOwnWriteBytes);
    sent.wait(io.waitScope);
  }

  // The end of the stream comes after what waits.
  sendRpc(stream, Message::FINISH).wait(io.waitScope);
  stream.shutdownWrite();
  CHECK(receiveRpc(peer) == Message::FINISH);
  char byte = 0;
  CHECK(peer.tryRead(&byte, 1, 1).wait(io.waitScope) == 0);
}
