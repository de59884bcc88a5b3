// CRC-32C: the known check value, and the fast path agrees with a bitwise reference at every
// length and alignment.
#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace common {
namespace {

uint32_t reference(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return c ^ 0xFFFFFFFFu;
}

TEST(Crc32c, CheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xE3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(Crc32c, AgreesWithReferenceAtEveryLengthAndOffset) {
  std::mt19937 rng(3);
  std::string buf(300, '\0');
  for (auto& ch : buf) ch = static_cast<char>(rng());
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  for (size_t off = 0; off < 8; ++off) {
    for (size_t n = 0; n + off <= 200; ++n) ASSERT_EQ(crc32c(p + off, n), reference(p + off, n)) << off << "/" << n;
  }
}

}  // namespace
}  // namespace common
