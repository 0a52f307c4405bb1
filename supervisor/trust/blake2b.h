// BLAKE2b (RFC 7693) with a chosen digest length. OpenSSL 3.0 offers only the 64-byte digest;
// minisign's secret-key checksum is the 32-byte one, which is a different function (the length
// is part of the parameter block), so it needs this.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cordon {

class Blake2b {
 public:
  explicit Blake2b(size_t digestLength);  // 1..64 bytes
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  std::vector<unsigned char> finish();

 private:
  void compress(bool last);
  std::array<uint64_t, 8> state_{};
  std::array<unsigned char, 128> block_{};
  size_t blockFill_ = 0;
  uint64_t counter_ = 0;
  size_t digestLength_;
};

}  // namespace cordon
