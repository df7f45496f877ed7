// Google Benchmark programs for the diffusion stencil.
//
//   build/cxx/diffusion_benchmark --benchmark_min_time=0.2
//
// The grid is the teaching material's start: zeros with the block [0.4N:0.5N, 0.4N:0.5N] = 0.005.
// Items are cell updates (N * N per step), so 1e9 / items_per_second is the time per cell.
// DiffusionStep is one step per call (the C function's contract); Diffuse is 500 steps in one
// call, temporally blocked, on one thread.

#include <benchmark/benchmark.h>

#include <vector>

#include "hotloop/diffusion.hpp"

namespace {

template <class T>
std::vector<T> start_grid(std::ptrdiff_t n) {
  std::vector<T> g(static_cast<std::size_t>(n * n), T(0));
  for (std::ptrdiff_t i = n * 4 / 10; i < n * 5 / 10; ++i)
    for (std::ptrdiff_t j = n * 4 / 10; j < n * 5 / 10; ++j) g[i * n + j] = T(0.005);
  return g;
}

void DiffusionStepFloat64(benchmark::State& state) {
  const std::ptrdiff_t n = state.range(0);
  std::vector<double> a = start_grid<double>(n), b = a;
  for (auto _ : state) {
    hotloop::diffusion_step(a.data(), b.data(), n, n, 1.0, 0.1);
    a.swap(b);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n * n);
}
BENCHMARK(DiffusionStepFloat64)->Arg(512)->Arg(2048)->Unit(benchmark::kMicrosecond);

template <class T>
void DiffuseSteps500(benchmark::State& state, hotloop::Boundary boundary) {
  const std::ptrdiff_t n = state.range(0);
  const std::vector<T> g = start_grid<T>(n);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<T> a = g, b = g;
    state.ResumeTiming();
    T* r = hotloop::diffuse_serial(a.data(), b.data(), n, n, 500, T(0.1), boundary);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * n * n * 500);
}
void DiffuseFixedFloat64(benchmark::State& s) {
  DiffuseSteps500<double>(s, hotloop::Boundary::fixed);
}
void DiffusePeriodicFloat64(benchmark::State& s) {
  DiffuseSteps500<double>(s, hotloop::Boundary::periodic);
}
void DiffuseFixedFloat32(benchmark::State& s) {
  DiffuseSteps500<float>(s, hotloop::Boundary::fixed);
}
BENCHMARK(DiffuseFixedFloat64)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffusePeriodicFloat64)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffuseFixedFloat32)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
