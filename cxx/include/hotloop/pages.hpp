// Big buffers in whole 2 MiB pages, kept for reuse when freed.
//
// Faulting in fresh memory costs the kernel a zeroing of every page, and in a virtual machine
// whose freed memory goes back to its host, a fault on the host as well: measured here, 80 MB
// took 7 ms on a quiet machine and 50-230 ms once the host had taken the pages back, while a
// rolling sum over 1e7 doubles takes 9 ms. A buffer given back is therefore not unmapped but
// kept for the next one of about its size: marked MADV_FREE, so that the kernel may still take
// its pages whenever it needs memory, and otherwise they stay the process's, already faulted
// in. At most kPagesKept bytes are kept; a buffer given back more than kPagesKeptSeconds ago
// is unmapped by the next take or give, and release_pages() unmaps them all. Each compiled module
// that uses this file keeps its own buffers. Thread-safe; a child of fork() starts with its
// parent's kept buffers.
#pragma once

#include <cstddef>

namespace hotloop {

constexpr std::size_t kPageSize2M = std::size_t{2} << 20;
constexpr std::size_t kPagesKept = std::size_t{256} << 20;
constexpr int kPagesKeptSeconds = 10;

// A buffer of at least `bytes` bytes (not zeroed), aligned to 2 MiB, in transparent huge pages;
// *mapped receives its size, a multiple of 2 MiB, which give_pages needs. A kept buffer of at
// most twice the size needed is reused. nullptr when memory ran out.
void* take_pages(std::size_t bytes, std::size_t* mapped) noexcept;
// Gives back a buffer from take_pages: kept for reuse, or unmapped.
void give_pages(void* p, std::size_t mapped) noexcept;
// Unmaps every kept buffer.
void release_pages() noexcept;

}  // namespace hotloop
