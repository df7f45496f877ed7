// Google Benchmark program for the rolling family: moving-window mean and std.
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
void register_dtype() {
  const std::string dt = hotloop::bench::dtype_name<T>();
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
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("hotloop_simd_level", hotloop::simd_level());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
