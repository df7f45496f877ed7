// The huge-page mappings kept for reuse by zeroed_array (records_io.hpp).
#include "records_io.hpp"

#include <pthread.h>

#include <mutex>
#include <vector>

namespace hotloop {
namespace records_detail {
namespace {

using Clock = std::chrono::steady_clock;

struct Kept {
  void* p;
  std::size_t size;
  Clock::time_point freed;
};

// Only ever appended to and erased from under the lock; never destroyed (a table freed while
// the process exits still finds it).
struct Retained {
  std::mutex mu;
  std::vector<Kept> kept;
  std::size_t bytes = 0;
};

void lock_for_fork();
void unlock_after_fork();

Retained& retained() {
  static Retained* const r = [] {
    auto* fresh = new Retained;
    // A child of fork() must not inherit the lock held by a thread that is not copied into it.
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
    return fresh;
  }();
  return *r;
}

void lock_for_fork() { retained().mu.lock(); }
void unlock_after_fork() { retained().mu.unlock(); }

// Unmaps the mappings kept for longer than kRetainedSeconds, and the oldest ones while more
// than `limit` bytes are kept. Called with the lock held.
void trim(Retained& r, Clock::time_point now, std::size_t limit) noexcept {
  const auto too_old = now - std::chrono::seconds(kRetainedSeconds);
  std::size_t j = 0;
  for (std::size_t i = 0; i < r.kept.size(); ++i) {
    Kept& k = r.kept[i];
    if (k.freed < too_old) {
      ::munmap(k.p, k.size);
      r.bytes -= k.size;
    } else {
      r.kept[j++] = k;
    }
  }
  r.kept.resize(j);
  // Oldest first: they were appended in the order they were freed.
  std::size_t drop = 0;
  while (r.bytes > limit && drop < r.kept.size()) {
    ::munmap(r.kept[drop].p, r.kept[drop].size);
    r.bytes -= r.kept[drop].size;
    ++drop;
  }
  r.kept.erase(r.kept.begin(), r.kept.begin() + static_cast<std::ptrdiff_t>(drop));
}

}  // namespace

void* take_retained_pages(std::size_t size, std::size_t* got) noexcept {
  Retained& r = retained();
  std::lock_guard<std::mutex> lock(r.mu);
  trim(r, Clock::now(), kRetainedBytes);
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

void give_retained_pages(void* p, std::size_t size) noexcept {
#ifdef MADV_FREE
  if (size <= kRetainedBytes && ::madvise(p, size, MADV_FREE) == 0) {
    Retained& r = retained();
    std::lock_guard<std::mutex> lock(r.mu);
    try {
      r.kept.push_back(Kept{p, size, Clock::now()});
      r.bytes += size;
      trim(r, r.kept.back().freed, kRetainedBytes);
      return;
    } catch (...) {  // no room to remember it: unmap it below
    }
  }
#endif
  ::munmap(p, size);
}

void release_retained_pages() noexcept {
  Retained& r = retained();
  std::lock_guard<std::mutex> lock(r.mu);
  trim(r, Clock::now(), 0);
}

}  // namespace records_detail
}  // namespace hotloop
