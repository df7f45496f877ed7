// Tests of hotloop::ws_mask() against a byte-by-byte twin: every length around the vector and
// unrolled-block widths, every key offset, every alignment of input and output, in place and not.

#include "hotloop/wsmask.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace {

// The definition, one byte at a time.
std::vector<std::uint8_t> twin(const std::uint8_t* in, std::size_t n, const std::uint8_t* key,
                               std::size_t offset) {
  std::vector<std::uint8_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = in[i] ^ key[(offset + i) % 4];
  return out;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

constexpr std::uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

// Lengths just below, at and above every width the kernel switches on (8-byte words, the
// 256-byte threshold and unrolled block, 64-byte vectors) plus an odd large one.
const std::size_t kLengths[] = {0,   1,   2,   3,    4,    5,    7,    8,    9,   15,
                                16,  17,  31,  32,   33,   63,   64,   65,   127, 128,
                                129, 255, 256, 257,  319,  320,  321,  383,  384, 511,
                                512, 513, 767, 1000, 4095, 4096, 4097, 65537};

TEST(WsMask, MatchesTwinForEveryLengthOffsetAndAlignment) {
  const std::vector<std::uint8_t> src = random_bytes(65537 + 128, 1);
  for (std::size_t n : kLengths) {
    for (std::size_t offset : {0u, 1u, 2u, 3u, 4u, 7u, 1000001u}) {
      for (std::size_t in_shift : {0u, 1u, 3u, 17u, 63u}) {
        for (std::size_t out_shift : {0u, 1u, 5u, 32u}) {
          const std::uint8_t* in = src.data() + in_shift;
          std::vector<std::uint8_t> buf(n + 64 + 2, 0xEE);
          std::uint8_t* out = buf.data() + out_shift;
          hotloop::ws_mask(in, out, n, kKey, offset);
          const auto ref = twin(in, n, kKey, offset);
          for (std::size_t i = 0; i < n; ++i) {
            ASSERT_EQ(out[i], ref[i])
                << "n=" << n << " offset=" << offset << " in_shift=" << in_shift
                << " out_shift=" << out_shift << " i=" << i;
          }
          // Nothing written outside out[0..n).
          for (std::size_t i = 0; i < out_shift; ++i) ASSERT_EQ(buf[i], 0xEE);
          for (std::size_t i = out_shift + n; i < buf.size(); ++i) ASSERT_EQ(buf[i], 0xEE);
        }
      }
    }
  }
}

TEST(WsMask, InPlaceAtEveryAlignment) {
  for (std::size_t n : kLengths) {
    for (std::size_t shift : {0u, 1u, 2u, 13u, 63u}) {
      for (std::size_t offset : {0u, 1u, 2u, 3u}) {
        std::vector<std::uint8_t> buf = random_bytes(n + 64, n * 7 + shift);
        const auto ref = twin(buf.data() + shift, n, kKey, offset);
        hotloop::ws_mask(buf.data() + shift, buf.data() + shift, n, kKey, offset);
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(buf[shift + i], ref[i]) << n << " " << i;
      }
    }
  }
}

TEST(WsMask, MaskingTwiceRestoresTheInput) {
  const auto orig = random_bytes(10007, 3);
  auto buf = orig;
  hotloop::ws_mask(buf.data(), buf.data(), buf.size(), kKey, 2);
  EXPECT_NE(buf, orig);
  hotloop::ws_mask(buf.data(), buf.data(), buf.size(), kKey, 2);
  EXPECT_EQ(buf, orig);
}

TEST(WsMask, PiecesWithTheirOffsetsEqualTheWhole) {
  const auto src = random_bytes(5000, 4);
  const auto whole = twin(src.data(), src.size(), kKey, 0);
  std::vector<std::uint8_t> out(src.size());
  // Uneven pieces, each masked with its position in the payload as offset.
  const std::size_t cuts[] = {0, 1, 4, 7, 300, 301, 1999, 4096, 5000};
  for (std::size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; ++c) {
    hotloop::ws_mask(src.data() + cuts[c], out.data() + cuts[c], cuts[c + 1] - cuts[c], kKey,
                     cuts[c]);
  }
  EXPECT_EQ(out, whole);
}

TEST(WsMask, ZeroLengthAcceptsNullPointers) {
  hotloop::ws_mask(nullptr, nullptr, 0, kKey, 0);
  SUCCEED();
}

TEST(WsMask, ChunkKeepsStoreAlignment) {
  static_assert(hotloop::kWsMaskChunk % 64 == 0, "chunks must keep 64-byte alignment");
  SUCCEED();
}

}  // namespace

TEST(WsMaskParallel, EqualsOneCallForAnyThreadCount) {
  std::mt19937 rng(5);
  const std::uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  for (std::size_t n :
       {std::size_t{0}, std::size_t{100}, hotloop::kWsMaskChunk, 3 * hotloop::kWsMaskChunk + 77}) {
    std::vector<std::uint8_t> in(n), one(n), many(n);
    for (auto& b : in) b = static_cast<std::uint8_t>(rng());
    for (std::size_t offset : {0, 1, 2, 3, 6}) {
      hotloop::ws_mask(in.data(), one.data(), n, key, offset);
      for (int threads : {1, 2, 5}) {
        std::fill(many.begin(), many.end(), std::uint8_t{0});
        hotloop::ws_mask_parallel(in.data(), many.data(), n, key, offset, threads);
        EXPECT_EQ(many, one) << n << " bytes, offset " << offset << ", " << threads;
      }
    }
  }
}
