// Google Benchmark programs for Fibonacci: the naive recursion (the teaching material's
// fib 32/33/35 table, call overhead in its purest form) and fast doubling.
//
//   build/cxx/fib_benchmark --benchmark_min_time=0.05
//
// Items processed are recursive calls (2 fib(n+1) - 1 of them), so items_per_second is the call
// rate and 1e9 / items_per_second the nanoseconds one call costs.

#include <benchmark/benchmark.h>

#include <cstdint>

#include "hotloop/fib.hpp"

namespace {

void FibRecursive(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    int m = n;
    benchmark::DoNotOptimize(m);  // n unknown to the optimiser: no constant folding
    benchmark::DoNotOptimize(hotloop::fib_recursive(m));
  }
  const std::int64_t calls = 2 * static_cast<std::int64_t>(hotloop::fib_fast(n + 1)) - 1;
  state.SetItemsProcessed(state.iterations() * calls);
}
BENCHMARK(FibRecursive)->Arg(1)->Arg(20)->Arg(32)->Arg(33)->Arg(35)->Unit(benchmark::kMicrosecond);

void FibFastDoubling(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    int m = n;
    benchmark::DoNotOptimize(m);
    benchmark::DoNotOptimize(hotloop::fib_fast(m));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(FibFastDoubling)->Arg(1)->Arg(35)->Arg(93);

}  // namespace

BENCHMARK_MAIN();
