// Big buffers kept for reuse (pages.hpp).
#include "hotloop/pages.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

namespace hotloop {
namespace {

using Clock = std::chrono::steady_clock;

struct Kept {
  void* p;
  std::size_t size;
  Clock::time_point given;
};

struct Pages {
  std::mutex mu;
  std::vector<Kept> kept;  // in the order they were given back
  std::size_t bytes = 0;
};

void lock_for_fork();
void unlock_after_fork();

// Never destroyed: a buffer given back while the process exits still finds it.
Pages& pages() {
  static Pages* const p = [] {
    auto* fresh = new Pages;
    // A child of fork() must not inherit the lock held by a thread that is not copied into it.
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
    return fresh;
  }();
  return *p;
}

void lock_for_fork() { pages().mu.lock(); }
void unlock_after_fork() { pages().mu.unlock(); }

// Unmaps the buffers kept for longer than kPagesKeptSeconds, then the oldest while more than
// `limit` bytes are kept. Called with the lock held.
void trim(Pages& r, Clock::time_point now, std::size_t limit) noexcept {
  const auto too_old = now - std::chrono::seconds(kPagesKeptSeconds);
  std::size_t j = 0;
  for (std::size_t i = 0; i < r.kept.size(); ++i) {
    const Kept k = r.kept[i];
    if (k.given < too_old) {
      ::munmap(k.p, k.size);
      r.bytes -= k.size;
    } else {
      r.kept[j++] = k;
    }
  }
  r.kept.resize(j);
  std::size_t drop = 0;
  while (r.bytes > limit && drop < r.kept.size()) {
    ::munmap(r.kept[drop].p, r.kept[drop].size);
    r.bytes -= r.kept[drop].size;
    ++drop;
  }
  r.kept.erase(r.kept.begin(), r.kept.begin() + static_cast<std::ptrdiff_t>(drop));
}

// The smallest kept buffer of `size` to 2 * size bytes, taken out of the list; nullptr if none.
void* take_kept(std::size_t size, std::size_t* got) noexcept {
  Pages& r = pages();
  std::lock_guard<std::mutex> lock(r.mu);
  trim(r, Clock::now(), kPagesKept);
  std::size_t best = r.kept.size();
  for (std::size_t i = 0; i < r.kept.size(); ++i) {
    const std::size_t s = r.kept[i].size;
    if (s >= size && s / 2 <= size && (best == r.kept.size() || s < r.kept[best].size)) best = i;
  }
  if (best == r.kept.size()) return nullptr;
  const Kept k = r.kept[best];
  r.kept.erase(r.kept.begin() + static_cast<std::ptrdiff_t>(best));
  r.bytes -= k.size;
  *got = k.size;
  return k.p;
}

}  // namespace

void* take_pages(std::size_t bytes, std::size_t* mapped) noexcept {
  if (bytes > SIZE_MAX - 2 * kPageSize2M) return nullptr;
  const std::size_t size = (std::max<std::size_t>(bytes, 1) + kPageSize2M - 1) & ~(kPageSize2M - 1);
  if (void* kept = take_kept(size, mapped)) return kept;
  // Whole huge pages at a huge-page boundary: the kernel maps huge pages only over aligned
  // 2 MiB ranges, so a buffer that starts elsewhere keeps 4 KiB pages at both ends (mmap aligns
  // only lengths that are multiples of 2 MiB, and only on recent kernels). Reserve one huge
  // page more, then give back the ends.
  void* raw = ::mmap(nullptr, size + kPageSize2M, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kPageSize2M - 1) & ~std::uintptr_t{kPageSize2M - 1};
  if (aligned > start) ::munmap(raw, aligned - start);
  ::munmap(reinterpret_cast<void*>(aligned + size), kPageSize2M - (aligned - start));
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);
#endif
  *mapped = size;
  return p;
}

void give_pages(void* p, std::size_t mapped) noexcept {
  if (!p) return;
#ifdef MADV_FREE
  if (mapped <= kPagesKept && ::madvise(p, mapped, MADV_FREE) == 0) {
    Pages& r = pages();
    std::lock_guard<std::mutex> lock(r.mu);
    try {
      r.kept.push_back(Kept{p, mapped, Clock::now()});
      r.bytes += mapped;
      trim(r, r.kept.back().given, kPagesKept);
      return;
    } catch (...) {  // no room to remember it: unmapped below
    }
  }
#endif
  ::munmap(p, mapped);
}

void release_pages() noexcept {
  Pages& r = pages();
  std::lock_guard<std::mutex> lock(r.mu);
  trim(r, Clock::now(), 0);
}

}  // namespace hotloop
