// A file read once into a sealed memfd: after the seals nobody, the supervisor included, can
// change its bytes, so what was verified is what the worker loads, whatever happens on disk.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace cordon {

class SealedFile {
 public:
  static Outcome<std::shared_ptr<SealedFile>> readOnce(const std::string& path, size_t maxBytes);
  ~SealedFile();
  SealedFile(const SealedFile&) = delete;
  SealedFile& operator=(const SealedFile&) = delete;

  int fd() const { return fd_; }
  std::string_view bytes() const { return {static_cast<const char*>(map_), size_}; }

 private:
  SealedFile(int fd, void* map, size_t size) : fd_(fd), map_(map), size_(size) {}
  int fd_;
  void* map_;
  size_t size_;
};

}  // namespace cordon
