#include "memory_limit_report.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "coverage_flush.h"
#include "worker_protocol.h"

// glibc's own allocator entry points: the names are glibc's, not ours to choose.
// NOLINTBEGIN(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t nmemb, size_t size);
void* __libc_realloc(void* ptr, size_t size);
}
// NOLINTEND(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp)

namespace cordon::worker {
namespace {

std::atomic<bool> memoryReportsArmed{false};

// Async-signal-safe line builder: no allocation, no locale, no stdio.
class ReportLine {
 public:
  ReportLine& text(const char* s) {
    while (*s != '\0' && used_ < sizeof buffer_ - 1) buffer_[used_++] = *s++;
    return *this;
  }
  ReportLine& number(uint64_t value, bool hex = false) {
    char digits[24];
    int n = 0;
    const unsigned base = hex ? 16 : 10;
    do {
      digits[n++] = "0123456789abcdef"[value % base];
      value /= base;
    } while (value != 0);
    if (hex) text("0x");
    while (n > 0 && used_ < sizeof buffer_ - 1) buffer_[used_++] = digits[--n];
    return *this;
  }
  [[noreturn]] void sendAndExit(int code) {
    buffer_[used_++] = '\n';
    ssize_t ignored = write(protocol::kReportFd, buffer_, used_);
    (void)ignored;
    flushCoverage();  // coverage builds only; allocates nothing
    syscall(SYS_exit_group, code);
    __builtin_unreachable();
  }

 private:
  char buffer_[512];
  size_t used_ = 0;
};

[[noreturn]] void reportMemoryLimit(size_t requested) {
  ReportLine line;
  line.text(protocol::kReportPrefix).text("memory-limit requested=").number(requested);
  line.sendAndExit(protocol::kExitMemoryLimit);
}

}  // namespace

void armMemoryLimitReports() {
  memoryReportsArmed.store(true, std::memory_order_relaxed);
}

}  // namespace cordon::worker

// The worker exports these, so the plugin's and libstdc++'s allocations come here too. Memory
// itself still comes from glibc; only a failure is noticed.
extern "C" {

void* malloc(size_t size) {
  void* pointer = __libc_malloc(size);
  if (pointer == nullptr && size != 0 &&
      cordon::worker::memoryReportsArmed.load(std::memory_order_relaxed)) {
    cordon::worker::reportMemoryLimit(size);
  }
  return pointer;
}

void* calloc(size_t nmemb, size_t size) {
  void* pointer = __libc_calloc(nmemb, size);
  size_t total = 0;
  bool overflow = __builtin_mul_overflow(nmemb, size, &total);  // a bad request, not a limit
  if (pointer == nullptr && total != 0 && !overflow &&
      cordon::worker::memoryReportsArmed.load(std::memory_order_relaxed)) {
    cordon::worker::reportMemoryLimit(total);
  }
  return pointer;
}

void* realloc(void* ptr, size_t size) {
  void* pointer = __libc_realloc(ptr, size);
  if (pointer == nullptr && size != 0 &&
      cordon::worker::memoryReportsArmed.load(std::memory_order_relaxed)) {
    cordon::worker::reportMemoryLimit(size);
  }
  return pointer;
}

}  // extern "C"
