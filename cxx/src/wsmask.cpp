#include "hotloop/wsmask.hpp"

#include <algorithm>
#include <cstring>

#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

// 64 bytes as eight 64-bit lanes: XOR does not care about lane width, and a pattern of 8 key
// bytes broadcasts into it directly. Loads and stores go through memcpy, which compiles to
// unaligned vector moves (no alignment or aliasing assumptions). Only used inside this file.
typedef std::uint64_t v8u64 __attribute__((vector_size(64)));

HOTLOOP_INLINE v8u64 load(const std::uint8_t* p) noexcept {
  v8u64 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

HOTLOOP_INLINE void store(std::uint8_t* p, v8u64 v) noexcept { std::memcpy(p, &v, sizeof v); }

HOTLOOP_INLINE void xor_word(const std::uint8_t* in, std::uint8_t* out, std::uint64_t p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, in, 8);
  w ^= p;
  std::memcpy(out, &w, 8);
}

HOTLOOP_INLINE std::size_t misalignment(const std::uint8_t* p, std::size_t align) noexcept {
  return (align - (reinterpret_cast<std::uintptr_t>(p) & (align - 1))) & (align - 1);
}

}  // namespace

// Compiled once per instruction set (HOTLOOP_CLONES).
// In place (in == out) is safe: every block is loaded before it is stored, and no store reaches a
// byte that is still to be loaded.
HOTLOOP_CLONES void ws_mask(const std::uint8_t* in, std::uint8_t* out, std::size_t n,
                            const std::uint8_t* key, std::size_t offset) noexcept {
  if (n == 0) return;
  // The key rotated so that in[0] pairs with k[0].
  const std::uint8_t k[4] = {key[offset & 3], key[(offset + 1) & 3], key[(offset + 2) & 3],
                             key[(offset + 3) & 3]};
  std::size_t i = 0;
  if (n >= 64) {
    // Single bytes up to an 8-byte aligned output address.
    for (const std::size_t head = misalignment(out, 8); i < head; ++i) out[i] = in[i] ^ k[i & 3];
  }
  // From here i only advances by multiples of 8 until the byte tail, so the key phase stays.
  std::uint8_t pat[8];
  for (std::size_t j = 0; j < 8; ++j) pat[j] = k[(i + j) & 3];
  std::uint64_t p8;
  std::memcpy(&p8, pat, 8);
  if (n - i >= 320) {
    // Words up to a 64-byte aligned output address: vector stores that straddle cache lines
    // cost up to twice as much as aligned ones.
    for (const std::size_t end = i + misalignment(out + i, 64); i < end; i += 8) {
      xor_word(in + i, out + i, p8);
    }
    const v8u64 p = p8 - v8u64{};  // broadcast
    for (; i + 256 <= n; i += 256) {
      const v8u64 a = load(in + i) ^ p;
      const v8u64 b = load(in + i + 64) ^ p;
      const v8u64 c = load(in + i + 128) ^ p;
      const v8u64 d = load(in + i + 192) ^ p;
      store(out + i, a);
      store(out + i + 64, b);
      store(out + i + 128, c);
      store(out + i + 192, d);
    }
    for (; i + 64 <= n; i += 64) store(out + i, load(in + i) ^ p);
  }
  for (; i + 8 <= n; i += 8) xor_word(in + i, out + i, p8);
  for (; i < n; ++i) out[i] = in[i] ^ k[i & 3];
}

void ws_mask_parallel(const std::uint8_t* in, std::uint8_t* out, std::size_t n,
                      const std::uint8_t* key, std::size_t offset, int max_threads) noexcept {
  const auto chunks = static_cast<std::ptrdiff_t>((n + kWsMaskChunk - 1) / kWsMaskChunk);
  parallel_for(chunks, max_threads, 1, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    const std::size_t lo = static_cast<std::size_t>(begin) * kWsMaskChunk;
    const std::size_t hi = std::min(n, static_cast<std::size_t>(end) * kWsMaskChunk);
    ws_mask(in + lo, out + lo, hi - lo, key, offset + lo);
  });
}

}  // namespace hotloop
