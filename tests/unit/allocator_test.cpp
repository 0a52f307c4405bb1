// The trusted side's malloc (core/allocator.h): jemalloc in every build but the sanitizers'.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/allocator.h"

#ifdef CORDON_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

using namespace cordon;

TEST_CASE("the supervisor's malloc is jemalloc, unless a sanitizer brings its own") {
#ifdef CORDON_JEMALLOC
  CHECK(allocatorName().rfind("jemalloc 5.", 0) == 0);
  // Linked is not enough: malloc itself must be jemalloc's (a link order or --as-needed could
  // leave glibc's in its place while jemalloc sits unused). jemalloc counts what each thread
  // allocated through it.
  uint64_t* allocated = nullptr;
  size_t length = sizeof allocated;
  REQUIRE(mallctl("thread.allocatedp", static_cast<void*>(&allocated), &length, nullptr, 0) == 0);
  REQUIRE(allocated != nullptr);
  const uint64_t before = *allocated;
  constexpr size_t kBlock = 1 << 20;
  char* volatile block = static_cast<char*>(std::malloc(kBlock));
  REQUIRE(block != nullptr);
  std::memset(block, 1, kBlock);  // used, so the call cannot be left out
  CHECK(*allocated - before >= kBlock);
  std::free(block);
#else
  CHECK(allocatorName() == "system malloc");
#endif
}
