// Google Benchmark program for the moments family: moments() and RunningStats.
//
//   build/cxx/moments_benchmark --benchmark_min_time=0.05
//
// Bytes count the input values read. Sizes: a short window-sized call (call overhead),
// cache-resident, L2/L3-sized and memory-bound lengths.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "hotloop/moments.hpp"
#include "hotloop/threads.hpp"

namespace {

using hotloop::bench::series;
using hotloop::bench::set_counters;

const std::int64_t kSizes[] = {50, 1000, 100000, 1000000};

template <class T>
void moments_bench(benchmark::State& state, bool skipna) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  for (auto _ : state) {
    hotloop::Moments r = hotloop::moments(x, n, 1, skipna, /*need_m2=*/true);
    benchmark::DoNotOptimize(r);
  }
  set_counters(state, n, sizeof(T));
}

void running_push_bench(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const double* x = series<double>().data();
  for (auto _ : state) {
    hotloop::RunningStats s;
    for (std::int64_t i = 0; i < n; ++i) s.push(x[i]);
    benchmark::DoNotOptimize(s);
  }
  set_counters(state, n, sizeof(double));
}

void running_extend_bench(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const double* x = series<double>().data();
  for (auto _ : state) {
    hotloop::RunningStats s;
    s.extend(x, n, 1);
    benchmark::DoNotOptimize(s);
  }
  set_counters(state, n, sizeof(double));
}

template <class T>
void register_dtype() {
  const std::string dt = hotloop::bench::dtype_name<T>();
  for (bool skipna : {false, true}) {
    const std::string name = std::string("Moments") + (skipna ? "Skipna" : "") + dt;
    auto* b = benchmark::RegisterBenchmark(name.c_str(), moments_bench<T>, skipna);
    for (std::int64_t n : kSizes) b->Arg(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_dtype<double>();
  register_dtype<float>();
  for (auto* b :
       {benchmark::RegisterBenchmark("RunningStatsPushFloat64", running_push_bench),
        benchmark::RegisterBenchmark("RunningStatsExtendFloat64", running_extend_bench)}) {
    for (std::int64_t n : kSizes) b->Arg(n);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("hotloop_simd_level", hotloop::simd_level());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
