// Google Benchmark program for the rolling family: moving-window sum, mean and std, the order
// statistics (min/max/argmin, median, quantile, rank, count), skew, kurt, sem, cov and corr, one
// thread.
//
//   build/cxx/rolling_benchmark --benchmark_min_time=0.05
//
// Bytes count the input values read and the outputs written.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_support.hpp"
#include "hotloop/rolling.hpp"
#include "hotloop/threads.hpp"

namespace {

using hotloop::bench::series;
using hotloop::bench::set_counters;

const std::int64_t kRollingSizes[] = {1000, 100000, 1000000};  // n >= the window

template <class T>
void rolling_bench(benchmark::State& state, hotloop::RollingStat stat, std::ptrdiff_t window) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  std::vector<T> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    hotloop::rolling_moments(x, n, 1, window, 1, 1, stat, out.data(), 1);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2 * sizeof(T));
}

template <class T>
void order_bench(benchmark::State& state, hotloop::RollingOrder kind, std::ptrdiff_t window) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  std::vector<T> out(static_cast<std::size_t>(n));
  const std::ptrdiff_t zero = 0;
  const hotloop::RollingRows rows{1, n, &zero, 1, &zero, 1};
  for (auto _ : state) {
    hotloop::rolling_order_rows(x, out.data(), rows, window, 1, kind, 0.25,
                                hotloop::RollingInterpolation::linear, 1);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2 * sizeof(T));
}

template <class T>
void register_order() {
  const std::string dt = hotloop::bench::dtype_name<T>();
  const struct {
    hotloop::RollingOrder kind;
    const char* name;
  } kinds[] = {
      {hotloop::RollingOrder::count, "Count"},       {hotloop::RollingOrder::min, "Min"},
      {hotloop::RollingOrder::argmax, "ArgMax"},     {hotloop::RollingOrder::median, "Median"},
      {hotloop::RollingOrder::quantile, "Quantile"}, {hotloop::RollingOrder::rank, "Rank"}};
  // 4, 10, 16 and 32 on the short-window path of the sorted kernels, 33 just past it.
  for (const auto& k : kinds) {
    for (std::ptrdiff_t window : {4, 10, 16, 32, 33, 50, 1000}) {
      const std::string name =
          std::string("Rolling") + k.name + "Window" + std::to_string(window) + dt;
      auto* b = benchmark::RegisterBenchmark(name.c_str(), order_bench<T>, k.kind, window);
      b->Arg(1000000);
    }
  }
}

template <class T>
void register_dtype() {
  const std::string dt = hotloop::bench::dtype_name<T>();
  const struct {
    hotloop::RollingStat stat;
    const char* name;
  } stats[] = {{hotloop::RollingStat::mean, "Mean"},
               {hotloop::RollingStat::std, "Std"},
               {hotloop::RollingStat::sum, "Sum"}};
  for (const auto& s : stats) {
    for (std::ptrdiff_t window : {10, 50, 100, 1000}) {
      const std::string name =
          std::string("Rolling") + s.name + "Window" + std::to_string(window) + dt;
      auto* b = benchmark::RegisterBenchmark(name.c_str(), rolling_bench<T>, s.stat, window);
      for (std::int64_t n : kRollingSizes) b->Arg(n);
    }
  }
}

// Exponentially weighted statistics (span 20), one series of n values, one thread.
template <class T>
void ewm_bench(benchmark::State& state, hotloop::EwmStat stat) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  std::vector<T> out(static_cast<std::size_t>(n));
  const hotloop::EwmParams p{2.0 / 21.0, true, false, false, false, 0, 0.0};
  for (auto _ : state) {
    hotloop::ewm_series(x, 1, x, 1, nullptr, 0, n, stat, p, out.data(), 1);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2 * sizeof(T));
}

template <class T>
void register_ewm() {
  const std::string dt = hotloop::bench::dtype_name<T>();
  const struct {
    hotloop::EwmStat stat;
    const char* name;
  } stats[] = {{hotloop::EwmStat::mean, "Mean"},
               {hotloop::EwmStat::var, "Var"},
               {hotloop::EwmStat::std, "Std"},
               {hotloop::EwmStat::corr, "Corr"}};
  for (const auto& s : stats) {
    const std::string name = std::string("Ewm") + s.name + "Span20" + dt;
    auto* b = benchmark::RegisterBenchmark(name.c_str(), ewm_bench<T>, s.stat);
    for (std::int64_t n : kRollingSizes) b->Arg(n);
  }
}

// Shape statistics (skew, kurt, sem) and pair statistics (cov, corr), one thread, n = 1e6.
template <class T>
void shape_bench(benchmark::State& state, hotloop::RollingShape stat, std::ptrdiff_t window) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  std::vector<T> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    hotloop::rolling_shape(x, n, 1, window, 1, 1, stat, out.data(), 1);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 2 * sizeof(T));
}

// y is the series reversed: another series of the same length, correlated with nothing.
template <class T>
void pair_bench(benchmark::State& state, hotloop::RollingPair stat, std::ptrdiff_t window) {
  const std::int64_t n = state.range(0);
  const T* x = series<T>().data();
  const std::vector<T> y(series<T>().rbegin() + (hotloop::bench::kMaxSize - n), series<T>().rend());
  std::vector<T> out(static_cast<std::size_t>(n));
  for (auto _ : state) {
    hotloop::rolling_pair(x, 1, y.data(), 1, n, window, 1, 1, stat, out.data(), 1);
    benchmark::ClobberMemory();
  }
  set_counters(state, n, 3 * sizeof(T));
}

template <class T>
void register_shape() {
  const std::string dt = hotloop::bench::dtype_name<T>();
  const struct {
    hotloop::RollingShape stat;
    const char* name;
  } shapes[] = {{hotloop::RollingShape::skew, "Skew"},
                {hotloop::RollingShape::kurt, "Kurt"},
                {hotloop::RollingShape::sem, "Sem"}};
  const struct {
    hotloop::RollingPair stat;
    const char* name;
  } pairs[] = {{hotloop::RollingPair::cov, "Cov"}, {hotloop::RollingPair::corr, "Corr"}};
  for (std::ptrdiff_t window : {10, 50, 1000}) {
    const std::string tail = "Window" + std::to_string(window) + dt;
    for (const auto& s : shapes) {
      const std::string name = std::string("Rolling") + s.name + tail;
      benchmark::RegisterBenchmark(name.c_str(), shape_bench<T>, s.stat, window)->Arg(1000000);
    }
    for (const auto& p : pairs) {
      const std::string name = std::string("Rolling") + p.name + tail;
      benchmark::RegisterBenchmark(name.c_str(), pair_bench<T>, p.stat, window)->Arg(1000000);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_dtype<double>();
  register_dtype<float>();
  register_order<double>();
  register_shape<double>();
  register_ewm<double>();
  register_ewm<float>();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("hotloop_simd_level", hotloop::simd_level());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
