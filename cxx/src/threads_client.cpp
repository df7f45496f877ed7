// parallel_for for every extension module except hotloop._threads: a forwarder to the one pool
// of the process (see "One pool per process" in threads.hpp). The build adds this file to the
// modules of the families marked "pool" in families.json; the C++ tests, benchmarks and the C
// ABI library link threads.cpp (the pool itself) instead.
#include <algorithm>
#include <atomic>

#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

std::atomic<ParallelForFn> g_entry{nullptr};

}  // namespace

void install_parallel_for(ParallelForFn fn) noexcept {
  g_entry.store(fn, std::memory_order_release);
}

void parallel_for(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                  std::ptrdiff_t grain, Interrupt* interrupt) noexcept {
  const ParallelForFn entry = g_entry.load(std::memory_order_acquire);
  if (entry != nullptr) {
    entry(n_tasks, max_threads, fn, ctx, grain, interrupt);
    return;
  }
  // Not installed (the module was used before its initialisation finished): serial, in the
  // same chunks as the pool would make, so results do not change.
  grain = std::max<std::ptrdiff_t>(grain, 1);
  for (std::ptrdiff_t begin = 0; begin < n_tasks; begin += grain)
    fn(ctx, begin, begin + std::min(grain, n_tasks - begin));
}

void parallel_for(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                  std::ptrdiff_t grain) noexcept {
  parallel_for(n_tasks, max_threads, fn, ctx, grain, nullptr);
}

}  // namespace hotloop
