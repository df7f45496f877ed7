// Google Benchmark programs for the thread pool: the raw costs behind the constants of
// cxx/src/threads.cpp, beside OpenMP's for the same shapes.
//
//   build/cxx/threads_benchmark --benchmark_min_time=0.05
//
// ParallelForEmpty: a call of two one-task chunks that do nothing (the per-call overhead), back
// to back: the helper is still spinning from the previous call.
// ParallelForEmptyAfterSleep: the same after 2 ms asleep, so the helper has parked: the caller
// pays the futex wake (and usually runs both chunks before the helper arrives).
// WakeLatency*: how long until a woken helper runs a chunk (the caller's chunk waits for it, at
// most 10 ms; then it runs the second chunk itself).
// OpenMP*: an empty `parallel for num_threads(2)` region in the same two situations.

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

#include "hotloop/threads.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// The raw costs are measured on a pool without the back-off: with it, calls that lose to a serial
// run (empty tasks always do) would soon run serially and measure nothing.
hotloop::detail::Pool& raw_pool() {
  static hotloop::detail::Pool pool(2, false);
  return pool;
}

void empty_task(void*, std::ptrdiff_t, std::ptrdiff_t) {}

void ParallelForEmpty(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) raw_pool().run(2, threads, empty_task, nullptr, 1);
}
BENCHMARK(ParallelForEmpty)->Arg(1)->Arg(2);

void ParallelForEmptyAfterSleep(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  raw_pool().run(2, threads, empty_task, nullptr, 1);  // helper started
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto t0 = Clock::now();
    raw_pool().run(2, threads, empty_task, nullptr, 1);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}
BENCHMARK(ParallelForEmptyAfterSleep)->Arg(1)->Arg(2)->UseManualTime()->Iterations(300);

// Two chunks: whoever takes the first waits until the other chunk has started. The call's time
// is then the time a helper needs to join (after `sleep_us` idle: spinning or parked).
void WakeLatency(benchmark::State& state) {
  const auto sleep = std::chrono::microseconds(state.range(0));
  raw_pool().run(2, 2, empty_task, nullptr, 1);
  for (auto _ : state) {
    if (sleep.count() > 0) std::this_thread::sleep_for(sleep);
    std::atomic<int> started{0};
    const auto t0 = Clock::now();
    raw_pool().run(2, 2, 1, [&](std::ptrdiff_t, std::ptrdiff_t) {
      if (started.fetch_add(1) == 0) {
        const auto give_up = Clock::now() + std::chrono::milliseconds(10);
        while (started.load() < 2 && Clock::now() < give_up) {
        }
      }
    });
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}
BENCHMARK(WakeLatency)->Arg(0)->Arg(2000)->UseManualTime()->Iterations(300);

void OpenMPEmpty(benchmark::State& state) {
  for (auto _ : state) {
#pragma omp parallel for num_threads(2)
    for (int i = 0; i < 2; ++i) benchmark::DoNotOptimize(i);
  }
}
BENCHMARK(OpenMPEmpty);

void OpenMPEmptyAfterSleep(benchmark::State& state) {
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto t0 = Clock::now();
#pragma omp parallel for num_threads(2)
    for (int i = 0; i < 2; ++i) benchmark::DoNotOptimize(i);
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}
BENCHMARK(OpenMPEmptyAfterSleep)->UseManualTime()->Iterations(300);

}  // namespace

BENCHMARK_MAIN();
