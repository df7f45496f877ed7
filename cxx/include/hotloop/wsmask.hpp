// WebSocket masking (RFC 6455, section 5.3): every payload byte is XORed with the 4-byte masking
// key, repeated. Masking and unmasking are the same operation.
//
// A payload split across several buffers (frames, reads) is masked piece by piece with the key
// position of each piece's first byte: the piece that starts at payload byte p uses offset p
// (only p % 4 matters), and the pieces together give exactly the bytes of one call on the whole.
//
// Speed. The loop works on 64-byte vectors, four per iteration, with the stores aligned to 64
// bytes (the head before the first aligned address is masked byte by byte). The kernel is
// multiversioned (HOTLOOP_CLONES): AVX-512 and AVX2 where the CPU has them, SSE2 otherwise. On
// buffers that fit in cache it runs at the L1/L2 load-store rate; beyond, at memory bandwidth,
// which is what memcpy of the same size costs too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hotloop {

// out[i] = in[i] ^ key[(offset + i) % 4] for 0 <= i < n.
//   in:  read, n bytes, any alignment.
//   out: written, n bytes, any alignment. May be `in` itself (masking in place); otherwise the
//        two ranges must not overlap (the caller copies first when they do).
//   key: read, 4 bytes.
//   offset: key position of in[0]; any value, only offset % 4 is used.
// n == 0 touches nothing (the pointers may then be null). Never throws, never allocates.
void ws_mask(const std::uint8_t* in, std::uint8_t* out, std::size_t n, const std::uint8_t* key,
             std::size_t offset) noexcept;

// Chunk length for splitting a buffer between threads: a multiple of 64 bytes (so chunks of one
// buffer keep the same store alignment), large enough that a chunk is worth a helper's wake-up
// (5-25 us of work: in cache to memory bandwidth) and small enough that the caller's wait for
// the last chunk a helper claimed stays short.
inline constexpr std::size_t kWsMaskChunk = std::size_t{1} << 18;  // 256 KiB

// ws_mask on up to max_threads threads (hotloop::parallel_for, threads.hpp): the buffer is cut
// into kWsMaskChunk-byte chunks, each masked with its own key position, so the bytes written are
// those of one ws_mask call whatever the number of threads. A buffer of one chunk, or
// max_threads <= 1, runs on the calling thread alone. Same contract as ws_mask otherwise.
void ws_mask_parallel(const std::uint8_t* in, std::uint8_t* out, std::size_t n,
                      const std::uint8_t* key, std::size_t offset, int max_threads) noexcept;

}  // namespace hotloop
