// Google Benchmark programs for the escape-time kernels.
//
//   build/cxx/julia_benchmark --benchmark_min_time=0.2
//
// JuliaReferenceCase is the teaching material's case (1000 x 1000 points, c = -0.62772 - 0.42193i,
// maxiter 300, 33,219,980 iterations in all); items are iterations, so 1e9 / items_per_second is
// the time per z -> z*z + c update. The grid benchmarks compute their coordinates in the kernel.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "hotloop/julia.hpp"

namespace {

const std::vector<double>& teaching_points() {
  static const std::vector<double> z = [] {
    const double x1 = -1.8, x2 = 1.8, y1 = -1.8, y2 = 1.8;
    const int width = 1000;
    const double x_step = (x2 - x1) / width, y_step = (y1 - y2) / width;
    std::vector<double> xs, ys, v;
    for (double y = y2; y > y1; y += y_step) ys.push_back(y);
    for (double x = x1; x < x2; x += x_step) xs.push_back(x);
    for (double y : ys) {
      for (double x : xs) {
        v.push_back(x);
        v.push_back(y);
      }
    }
    return v;
  }();
  return z;
}

void JuliaReferenceCase(benchmark::State& state) {
  const std::vector<double>& z = teaching_points();
  const double c[2] = {-0.62772, -0.42193};
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(z.size() / 2);
  std::vector<std::int32_t> out(static_cast<std::size_t>(n));
  long long iterations = 0;
  for (auto _ : state) {
    hotloop::julia(z.data(), c, 0, out.data(), n, 300);
    benchmark::ClobberMemory();
  }
  for (std::int32_t v : out) iterations += v;
  state.SetItemsProcessed(state.iterations() * iterations);
  state.SetBytesProcessed(state.iterations() * n * (16 + 4));
}
BENCHMARK(JuliaReferenceCase)->Unit(benchmark::kMillisecond);

void EscapeGrid(benchmark::State& state, hotloop::Fractal kind) {
  const std::ptrdiff_t w = state.range(0), h = w;
  const hotloop::PixelGrid g{w,
                             h,
                             kind == hotloop::Fractal::julia ? -1.8 : -2.0,
                             (kind == hotloop::Fractal::julia ? 3.6 : 3.0) / w,
                             kind == hotloop::Fractal::julia ? 1.8 : 1.5,
                             (kind == hotloop::Fractal::julia ? 3.6 : 3.0) / h};
  std::vector<std::int32_t> out(static_cast<std::size_t>(w * h));
  long long iterations = 0;
  for (auto _ : state) {
    hotloop::escape_grid(g, kind, -0.62772, -0.42193, 300, out.data(), 0, w * h);
    benchmark::ClobberMemory();
  }
  for (std::int32_t v : out) iterations += v;
  state.SetItemsProcessed(state.iterations() * iterations);
}
void JuliaGrid(benchmark::State& state) { EscapeGrid(state, hotloop::Fractal::julia); }
void MandelbrotGrid(benchmark::State& state) { EscapeGrid(state, hotloop::Fractal::mandelbrot); }
BENCHMARK(JuliaGrid)->Arg(64)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(MandelbrotGrid)->Arg(64)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
