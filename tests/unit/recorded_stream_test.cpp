// The worker's RPC stream writes the held-back audit records before any byte it sends, and
// sends nothing when they cannot be written.
#include <doctest/doctest.h>

#include <kj/async-io.h>

#include "test_support.h"
#include "worker/recorded_stream.h"

using namespace cordon;

namespace {

// Counts flushes; fails them once told to, as an audit log on a full disk does.
class CountingRecord final : public RunRecord {
 public:
  std::optional<Error> keep(const RunEvent&) override { return std::nullopt; }
  std::optional<Error> flush() override {
    ++flushes;
    if (broken) return failure();
    return std::nullopt;
  }
  std::optional<Error> failure() const override {
    if (!broken) return std::nullopt;
    return makeError(ErrorCategory::kInternal, "audit log: No space left on device");
  }
  int flushes = 0;
  bool broken = false;
};

}  // namespace

TEST_CASE("the worker's stream flushes the record before it writes, and refuses when it cannot") {
  auto& io = test::eventLoop();  // the one loop of this thread
  auto pipe = io.provider->newTwoWayPipe();
  CountingRecord record;
  RunEvents events(record);
  auto stream = recordedStream(kj::mv(pipe.ends[0]), events);

  stream->write("a", 1).wait(io.waitScope);
  CHECK(record.flushes == 1);
  const kj::ArrayPtr<const kj::byte> pieces[] = {
      kj::ArrayPtr<const kj::byte>(reinterpret_cast<const kj::byte*>("bc"), 2)};
  stream->write(kj::arrayPtr(pieces, 1)).wait(io.waitScope);
  CHECK(record.flushes == 2);
  char got[3] = {};
  CHECK(pipe.ends[1]->tryRead(got, 3, 3).wait(io.waitScope) == 3);
  CHECK(std::string(got, 3) == "abc");

  record.broken = true;
  auto refused = stream->write("d", 1).then(
      [] { return std::string(); },
      [](kj::Exception&& e) { return std::string(e.getDescription().cStr()); });
  const std::string why = refused.wait(io.waitScope);
  CHECK(why.find("not sent") != std::string::npos);
  CHECK(why.find("No space left on device") != std::string::npos);
  // Nothing reached the other end: it sees the end of the stream, not "d".
  stream = nullptr;
  CHECK(pipe.ends[1]->tryRead(got, 1, 1).wait(io.waitScope) == 0);
}
