// Google Benchmark programs for the diffusion stencil.
//
//   build/cxx/diffusion_benchmark --benchmark_min_time=0.2
//
// The grid is the teaching material's start: zeros with the block [0.4N:0.5N, 0.4N:0.5N] = 0.005.
// Items are cell updates (N * N per step), so 1e9 / items_per_second is the time per cell.
// DiffusionStep is one step per call (the C function's contract); Diffuse is 500 steps in one
// call, temporally blocked, through the parallel driver (hotloop::diffuse, the code under
// hotloop.diffuse) with the thread count in the name; DiffuseSerial is its serial twin.

#include <benchmark/benchmark.h>

#include <algorithm>
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

// 500 steps through the parallel driver with `threads` threads, in one call (the Python wrapper
// makes one call per ~50 ms chunk; 500 steps of 512 x 512 are about one chunk).
template <class T>
void DiffuseSteps500(benchmark::State& state, hotloop::Boundary boundary, int threads) {
  const std::ptrdiff_t n = state.range(0);
  const std::vector<T> g = start_grid<T>(n);
  const hotloop::DiffusionTiling t = hotloop::diffusion_tiling(n, n, sizeof(T), threads);
  std::vector<T> scratch(static_cast<std::size_t>(threads * t.scratch));
  std::vector<unsigned char> zero(static_cast<std::size_t>(2 * hotloop::diffusion_tiles(n, n, t)));
  unsigned char* const zero_b = zero.data() + zero.size() / 2;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<T> a = g, b = g;
    state.ResumeTiming();
    hotloop::diffusion_zero_tiles(a.data(), n, n, t, zero.data());
    std::copy(zero.data(), zero_b, zero_b);
    int r = hotloop::diffuse(a.data(), b.data(), n, n, t, 500, T(0.1), boundary, threads,
                             scratch.data(), zero.data(), zero_b);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * n * n * 500);
}
void DiffuseFixedFloat64(benchmark::State& s) {
  DiffuseSteps500<double>(s, hotloop::Boundary::fixed, 1);
}
void DiffuseFixedFloat64Threads2(benchmark::State& s) {
  DiffuseSteps500<double>(s, hotloop::Boundary::fixed, 2);
}
void DiffusePeriodicFloat64(benchmark::State& s) {
  DiffuseSteps500<double>(s, hotloop::Boundary::periodic, 1);
}
void DiffusePeriodicFloat64Threads2(benchmark::State& s) {
  DiffuseSteps500<double>(s, hotloop::Boundary::periodic, 2);
}
void DiffuseFixedFloat32(benchmark::State& s) {
  DiffuseSteps500<float>(s, hotloop::Boundary::fixed, 1);
}
void DiffuseFixedFloat32Threads2(benchmark::State& s) {
  DiffuseSteps500<float>(s, hotloop::Boundary::fixed, 2);
}
BENCHMARK(DiffuseFixedFloat64)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffuseFixedFloat64Threads2)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffusePeriodicFloat64)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffusePeriodicFloat64Threads2)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffuseFixedFloat32)->Arg(512)->Unit(benchmark::kMillisecond);
BENCHMARK(DiffuseFixedFloat32Threads2)->Arg(512)->Unit(benchmark::kMillisecond);

// The serial twin (no OpenMP region, no barrier): what the driver's one-thread runs pay for
// them.
void DiffuseSerialFixedFloat64(benchmark::State& state) {
  const std::ptrdiff_t n = state.range(0);
  const std::vector<double> g = start_grid<double>(n);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<double> a = g, b = g;
    state.ResumeTiming();
    double* r =
        hotloop::diffuse_serial(a.data(), b.data(), n, n, 500, 0.1, hotloop::Boundary::fixed);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * n * n * 500);
}
BENCHMARK(DiffuseSerialFixedFloat64)->Arg(512)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
