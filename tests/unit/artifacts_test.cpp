// Input files are opened once and read on demand: the supervisor never holds a whole input, and
// a file that changes under a run fails the read instead of mixing old and new bytes.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "run/artifacts.h"
#include "test_support.h"

using namespace cordon;

namespace {

std::string readAt(const Artifact& artifact, uint64_t offset, size_t length) {
  std::string bytes(length, '\0');
  auto copied = artifact->copyTo(offset, length, bytes.data());
  REQUIRE_MESSAGE(copied.ok(), (copied.ok() ? "" : copied.error().message));
  return bytes;
}

// ctime moves at the kernel's clock tick, not at each nanosecond: wait one out before a change.
void afterATick() {
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
}

}  // namespace

TEST_CASE("an input file is read where the plugin asks, not copied when it is opened") {
  test::TempDir dir;
  const std::string path = dir.write("input", "0123456789abcdef");
  auto opened = openInputFile(path, 1 << 20);
  REQUIRE(opened.ok());
  CHECK(opened.value()->size() == 16);
  CHECK(readAt(opened.value(), 10, 6) == "abcdef");
  CHECK(readAt(opened.value(), 0, 4) == "0123");

  SUBCASE("a file rewritten in place, same length, fails the next read") {
    afterATick();
    std::ofstream(path, std::ios::in | std::ios::out) << "XXXX";
    std::string out(4, '\0');
    auto copied = opened.value()->copyTo(0, 4, out.data());
    REQUIRE_FALSE(copied.ok());
    CHECK(copied.error().category == ErrorCategory::kBadInput);
    CHECK(copied.error().message.find("changed while the run was reading it") != std::string::npos);
  }
  SUBCASE("a file cut short fails the read (a mapping would have been SIGBUS)") {
    REQUIRE(truncate(path.c_str(), 2) == 0);
    std::string out(6, '\0');
    auto copied = opened.value()->copyTo(10, 6, out.data());
    REQUIRE_FALSE(copied.ok());
    CHECK(copied.error().message.find(path) != std::string::npos);
  }
  SUBCASE("a file replaced by rename is not followed: never the new file's bytes") {
    afterATick();
    const std::string other = dir.write("other", "ZZZZZZZZZZZZZZZZ");
    REQUIRE(rename(other.c_str(), path.c_str()) == 0);
    std::string out(4, '\0');
    auto copied = opened.value()->copyTo(0, 4, out.data());
    // The replaced file lost its last link, which moves its ctime: the read is refused.
    REQUIRE_FALSE(copied.ok());
    CHECK(out != "ZZZZ");
  }
}

TEST_CASE("an input over the bound or not a regular file is refused before it is read") {
  test::TempDir dir;
  const std::string path = dir.write("input", std::string(4096, 'x'));
  auto tooBig = openInputFile(path, 4095);
  REQUIRE_FALSE(tooBig.ok());
  CHECK(tooBig.error().message.find("exceeds the limit of 4095 bytes") != std::string::npos);
  CHECK(openInputFile(path, 4096).ok());

  auto directory = openInputFile(dir.path(""), 1 << 20);
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().message.find("this is a directory") != std::string::npos);

  const std::string fifo = dir.path("fifo");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto pipe = openInputFile(fifo, 1 << 20);  // must not wait for a writer
  REQUIRE_FALSE(pipe.ok());
  CHECK(pipe.error().message.find("this is a FIFO") != std::string::npos);

  auto device = openInputFile("/dev/zero", 1 << 20);
  REQUIRE_FALSE(device.ok());
  CHECK(device.error().category == ErrorCategory::kBadInput);
  CHECK(device.error().message.find("this is a device") != std::string::npos);
}

TEST_CASE("a large input costs the supervisor no memory until it is read") {
  test::TempDir dir;
  const std::string path = dir.path("sparse");
  { std::ofstream file(path); }
  REQUIRE(truncate(path.c_str(), off_t{1} << 30) == 0);  // 1 GiB, sparse
  auto opened = openInputFile(path, uint64_t{1} << 31);
  REQUIRE(opened.ok());
  CHECK(opened.value()->size() == uint64_t{1} << 30);
  CHECK(readAt(opened.value(), (uint64_t{1} << 30) - 3, 3) == std::string(3, '\0'));
  CHECK(opened.value()->head(8).value() == std::string(8, '\0'));
}

TEST_CASE("a large artifact is a sealed memfd, handed out read-only; its bytes cannot change") {
  std::string bytes(1 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
  auto made = makeSealedArtifact(bytes);
  REQUIRE(made.ok());
  const Artifact& artifact = made.value();
  CHECK(artifact->size() == bytes.size());
  auto head = artifact->head(bytes.size());
  REQUIRE(head.ok());
  CHECK(head.value() == bytes);
  auto opened = artifact->openSealed();
  REQUIRE(opened.ok());
  const int fd = opened.value();
  const int seals = fcntl(fd, F_GET_SEALS);
  CHECK((seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)) ==
        (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL));
  CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
  CHECK(pwrite(fd, "x", 1, 0) < 0);
  CHECK(ftruncate(fd, 0) != 0);
  CHECK(mmap(nullptr, bytes.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
  close(fd);
  // Small bytes stay in memory; a memfd is made only when a worker asks to map them.
  auto small = makeSealedArtifact("tiny");
  REQUIRE(small.ok());
  auto smallFd = small.value()->openSealed();
  REQUIRE(smallFd.ok());
  char read[8] = {};
  CHECK(pread(smallFd.value(), read, sizeof read, 0) == 4);
  CHECK(std::string(read) == "tiny");
  close(smallFd.value());
}

TEST_CASE("an output memfd is refused while someone still maps it writable") {
  auto created = createOutputMemfd(8192);
  REQUIRE(created.ok());
  const int fd = created.value();
  void* writable = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  REQUIRE(writable != MAP_FAILED);
  std::memset(writable, 'a', 8192);
  CHECK(ftruncate(fd, 100) != 0);  // its size is sealed from the start
  const int copy = dup(fd);
  auto refused = sealOutputMemfd(fd);  // closes fd
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().category == ErrorCategory::kProtocolError);
  munmap(writable, 8192);
  auto sealed = sealOutputMemfd(copy);
  REQUIRE(sealed.ok());
  auto head = sealed.value()->head(8192);
  REQUIRE(head.ok());
  CHECK(head.value() == std::string(8192, 'a'));
}
