// Google Benchmark programs for the statistics family: moments(), rolling mean/var/std and
// RunningStats.
//
//   build/cxx/stats_benchmark --benchmark_min_time=0.05
//
// Every benchmark reads the same fixed-seed series (100 + N(0, 1), a price-like level, so the
// shifted sums are exercised as in real use) and reports items (input values) per second, from
// which ns/element = 1e9 / items_per_second. Bytes count the input values read (and, for the
// rolling kernels, the outputs written).

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hotloop/config.hpp"
#include "hotloop/moments.hpp"
#include "hotloop/rolling.hpp"

namespace {

constexpr std::uint64_t kSeed = 20240601;
// The shared size grid: a short window-sized call (call overhead), cache-resident, L2/L3-sized
// and memory-bound lengths.
const std::int64_t kSizes[] = {50, 1000, 100000, 1000000};
const std::int64_t kRollingSizes[] = {1000, 100000, 1000000};  // n >= the window
constexpr std::int64_t kMaxSize = 1000000;

template <class T>
const std::vector<T>& series() {
  static const std::vector<T> x = [] {
    std::mt19937_64 rng(kSeed);
    std::normal_distribution<double> dist(100.0, 1.0);
    std::vector<T> v(static_cast<std::size_t>(kMaxSize));
    for (T& e : v) e = static_cast<T>(dist(rng));
    return v;
  }();
  return x;
}

template <class T>
const char* dtype_name() {
  return sizeof(T) == 8 ? "Float64" : "Float32";
}

template <class T>
void set_counters(benchmark::State& state, std::int64_t n, std::int64_t bytes_per_item) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * bytes_per_item);
}

template <class T>
void moments_bench(benchmark::State& state, bool skipna) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  for (auto _ : state) {
    hotloop::Moments r = hotloop::moments(x, n, 1, skipna, /*need_m2=*/true);
    benchmark::DoNotOptimize(r);
  }
  set_counters<T>(state, n, sizeof(T));
}

template <class T>
void rolling_bench(benchmark::State& state, hotloop::RollingStat stat, std::ptrdiff_t window) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  std::vector<T> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    hotloop::rolling_moments(x, n, 1, window, 1, 1, stat, out.data(), 1);
    benchmark::ClobberMemory();
  }
  set_counters<T>(state, n, 2 * sizeof(T));
}

void running_push_bench(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const double* x = series<double>().data();
  for (auto _ : state) {
    hotloop::RunningStats s;
    for (std::int64_t i = 0; i < n; ++i) s.push(x[i]);
    benchmark::DoNotOptimize(s);
  }
  set_counters<double>(state, n, sizeof(double));
}

void running_extend_bench(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const double* x = series<double>().data();
  for (auto _ : state) {
    hotloop::RunningStats s;
    s.extend(x, n, 1);
    benchmark::DoNotOptimize(s);
  }
  set_counters<double>(state, n, sizeof(double));
}

template <class T>
void register_dtype() {
  const std::string dt = dtype_name<T>();
  for (bool skipna : {false, true}) {
    const std::string name = std::string("Moments") + (skipna ? "Skipna" : "") + dt;
    auto* b = benchmark::RegisterBenchmark(name.c_str(), moments_bench<T>, skipna);
    for (std::int64_t n : kSizes) b->Arg(n);
  }
  const struct {
    hotloop::RollingStat stat;
    const char* name;
  } stats[] = {{hotloop::RollingStat::mean, "Mean"}, {hotloop::RollingStat::std, "Std"}};
  for (const auto& s : stats) {
    for (std::ptrdiff_t window : {50, 100}) {
      const std::string name =
          std::string("Rolling") + s.name + "Window" + std::to_string(window) + dt;
      auto* b = benchmark::RegisterBenchmark(name.c_str(), rolling_bench<T>, s.stat, window);
      for (std::int64_t n : kRollingSizes) b->Arg(n);
    }
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
