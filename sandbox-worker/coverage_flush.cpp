#include "coverage_flush.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "worker_protocol.h"

extern "C" {
#include <gcov.h>  // GCC's header has no extern "C" of its own

// -fprofile-info-section=gcov_info puts one pointer per translation unit here; the linker
// defines the bounds because the section's name is a C identifier (the names are the linker's).
// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
extern const gcov_info* const __start_gcov_info[];
extern const gcov_info* const __stop_gcov_info[];
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
}

namespace cordon::worker {
namespace {

// The dump file, mapped: stores into it are not writes, so RLIMIT_FSIZE does not refuse them.
struct Dump {
  char* base = nullptr;
  size_t size = 0;
  bool full = false;

  void append(const void* data, size_t length) {
    if (full || size + length > protocol::kCoverageDumpBytes - 2 * sizeof(uint32_t)) {
      full = true;  // the last two words are kept for the trailer
      return;
    }
    std::memcpy(base + size, data, length);
    size += length;
  }
  void appendWord(uint32_t word) { append(&word, sizeof word); }
};

struct Unit {
  Dump* dump;
  size_t lengthAt = 0;  // where this unit's .gcda length goes once it is known
};

void beginRecord(const char* filename, void* arg) {
  auto* unit = static_cast<Unit*>(arg);
  if (filename == nullptr) filename = "(no name)";  // the merge refuses it, by name
  auto nameLength = static_cast<uint32_t>(std::strlen(filename));
  unit->dump->appendWord(nameLength);
  unit->dump->append(filename, nameLength);
  unit->lengthAt = unit->dump->size;
  unit->dump->appendWord(0);
}

void appendImage(const void* data, unsigned length, void* arg) {
  static_cast<Unit*>(arg)->dump->append(data, length);
}

// libgcov asks for memory only to serialize value-profiling counters, which --coverage does not
// make; refusing is the safe answer on an exit path that must not allocate.
void* refuseAllocation(unsigned /*size*/, void* /*arg*/) {
  return nullptr;
}

char* mapping = nullptr;

// Where the units are: the worker's own section, and a loaded plugin's.
struct UnitRange {
  const gcov_info* const* begin = nullptr;
  const gcov_info* const* end = nullptr;
};
UnitRange pluginUnits;

}  // namespace

void prepareCoverage() noexcept {
  // Only the file the supervisor made: a regular file of exactly the dump's size.
  struct stat status {};
  bool isSink = fstat(protocol::kCoverageFd, &status) == 0 && S_ISREG(status.st_mode) &&
                status.st_size == static_cast<off_t>(protocol::kCoverageDumpBytes);
  void* mapped = isSink ? mmap(nullptr, protocol::kCoverageDumpBytes, PROT_READ | PROT_WRITE,
                               MAP_SHARED, protocol::kCoverageFd, 0)
                        : MAP_FAILED;
  close(protocol::kCoverageFd);
  if (mapped != MAP_FAILED) mapping = static_cast<char*>(mapped);
}

void addPluginCoverage(void* dlHandle) noexcept {
  using UnitsFunction = void (*)(const gcov_info* const**, const gcov_info* const**);
  auto units = reinterpret_cast<UnitsFunction>(dlsym(dlHandle, "cordon_coverage_units"));
  if (units != nullptr) units(&pluginUnits.begin, &pluginUnits.end);
}

void flushCoverage() noexcept {
  if (mapping == nullptr) return;  // no sink was passed, or already flushed
  Dump dump{mapping};
  mapping = nullptr;
  // The magic is stored last: a worker killed while it writes leaves a dump that still starts
  // with zeros, which the merge counts as never written rather than as malformed.
  constexpr size_t kMagicBytes = sizeof protocol::kCoverageMagic - 1;
  dump.size = kMagicBytes;
  for (UnitRange range : {UnitRange{__start_gcov_info, __stop_gcov_info}, pluginUnits}) {
    for (const gcov_info* const* info = range.begin; info != range.end && !dump.full; ++info) {
      size_t recordStart = dump.size;
      Unit unit{&dump};
      __gcov_info_to_gcda(*info, beginRecord, appendImage, refuseAllocation, &unit);
      if (dump.full) {
        dump.size = recordStart;  // no half record: the dump ends before this unit
        break;
      }
      auto imageLength = static_cast<uint32_t>(dump.size - unit.lengthAt - sizeof(uint32_t));
      std::memcpy(dump.base + unit.lengthAt, &imageLength, sizeof imageLength);
    }
  }
  // The records stopped short of the last two words, so the trailer always fits.
  const uint32_t trailer[2] = {
      0, dump.full ? protocol::kCoverageCutShort : protocol::kCoverageComplete};
  std::memcpy(dump.base + dump.size, trailer, sizeof trailer);
  std::memcpy(dump.base, protocol::kCoverageMagic, kMagicBytes);
  munmap(dump.base, protocol::kCoverageDumpBytes);
}

}  // namespace cordon::worker
