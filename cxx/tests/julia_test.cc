// Tests of hotloop::julia() and hotloop::escape_grid() against a scalar twin of the classic
// escape-time loop (IEEE doubles, the squared-modulus test), and against the teaching
// material's reference figure.

#include "hotloop/julia.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The twin: one point, one operation at a time, exactly as CPython evaluates z = z * z + c.
std::int32_t twin(double zr, double zi, double cr, double ci, std::int32_t maxiter) {
  std::int32_t n = 0;
  while (n < maxiter && zr * zr + zi * zi < 4.0) {
    const double re = zr * zr - zi * zi;
    const double im = zr * zi + zi * zr;
    zr = re + cr;
    zi = im + ci;
    ++n;
  }
  return n;
}

std::vector<std::int32_t> twin_all(const std::vector<double>& z, const std::vector<double>& c,
                                   std::ptrdiff_t c_step, std::int32_t maxiter) {
  const std::size_t n = z.size() / 2;
  std::vector<std::int32_t> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t j = 2 * k * static_cast<std::size_t>(c_step);
    out[k] = twin(z[2 * k], z[2 * k + 1], c[j], c[j + 1], maxiter);
  }
  return out;
}

std::vector<std::int32_t> run(const std::vector<double>& z, const std::vector<double>& c,
                              std::ptrdiff_t c_step, std::int32_t maxiter) {
  std::vector<std::int32_t> out(z.size() / 2, -1);
  hotloop::julia(z.data(), c.data(), c_step, out.data(), static_cast<std::ptrdiff_t>(out.size()),
                 maxiter);
  return out;
}

// The teaching material's grid: coordinate lists built by repeated addition.
std::vector<double> teaching_points(int width) {
  const double x1 = -1.8, x2 = 1.8, y1 = -1.8, y2 = 1.8;
  const double x_step = (x2 - x1) / width, y_step = (y1 - y2) / width;
  std::vector<double> xs, ys, z;
  for (double y = y2; y > y1; y += y_step) ys.push_back(y);
  for (double x = x1; x < x2; x += x_step) xs.push_back(x);
  for (double y : ys) {
    for (double x : xs) {
      z.push_back(x);
      z.push_back(y);
    }
  }
  return z;
}

TEST(Julia, TeachingReferenceCase) {
  const std::vector<double> z = teaching_points(1000);
  ASSERT_EQ(z.size(), 2u * 1000 * 1000);
  const std::vector<double> c = {-0.62772, -0.42193};
  const std::vector<std::int32_t> got = run(z, c, 0, 300);
  long long sum = 0;
  for (std::int32_t v : got) sum += v;
  EXPECT_EQ(sum, 33219980);  // the figure the teaching material prints
  EXPECT_EQ(got, twin_all(z, c, 0, 300));
}

TEST(Julia, RandomPointsEveryLength) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  for (int n = 0; n <= 70; ++n) {
    std::vector<double> z(2 * static_cast<std::size_t>(n)), c(z.size());
    for (auto& v : z) v = u(rng);
    for (auto& v : c) v = 0.6 * u(rng);
    for (std::int32_t maxiter : {0, 1, 7, 8, 9, 50}) {
      EXPECT_EQ(run(z, c, 1, maxiter), twin_all(z, c, 1, maxiter)) << n << " " << maxiter;
      EXPECT_EQ(run(z, c, 0, maxiter), twin_all(z, c, 0, maxiter)) << n << " " << maxiter;
    }
  }
}

TEST(Julia, AdversarialValues) {
  const double s = std::sqrt(2.0);
  const double vals[] = {0.0,    -0.0,   2.0,   -2.0,  s,    1.9999999999999998,
                         1e-160, 5e-324, 1e154, 1e200, kInf, -kInf,
                         kNaN,   0.25,   -0.75};
  std::vector<double> z, c;
  for (double a : vals) {
    for (double b : vals) {
      z.push_back(a);
      z.push_back(b);
    }
  }
  for (double cr : {0.0, 0.25, -2.0, 4.0, kNaN, -0.75}) {
    for (double ci : {0.0, 1.0, 0.1}) {
      c = {cr, ci};
      EXPECT_EQ(run(z, c, 0, 400), twin_all(z, c, 0, 400)) << cr << " " << ci;
    }
  }
}

TEST(Julia, LargestMaxiter) {
  // Points that escape quickly: the budget logic must not overflow.
  const std::vector<double> z = {3.0, 0.0, 1.5, 0.0, 0.5, 0.5};
  const std::vector<double> c = {1.0, 1.0};
  const std::int32_t big = std::numeric_limits<std::int32_t>::max();
  EXPECT_EQ(run(z, c, 0, big), twin_all(z, c, 0, big));
}

hotloop::PixelGrid make_grid(std::ptrdiff_t w, std::ptrdiff_t h, double xa, double xb, double ya,
                             double yb) {
  return hotloop::PixelGrid{
      w, h, xa, (xb - xa) / static_cast<double>(w), yb, (yb - ya) / static_cast<double>(h)};
}

TEST(EscapeGrid, EqualsJuliaOfDocumentedCoordinates) {
  for (auto [w, h] : {std::pair<int, int>{1, 1}, {5, 3}, {40, 33}, {129, 70}}) {
    const hotloop::PixelGrid g = make_grid(w, h, -1.6, 1.3, -1.1, 1.4);
    std::vector<double> z, zero;
    for (int r = 0; r < h; ++r) {
      const double y = g.y1 - (r + 0.5) * g.dy;
      for (int j = 0; j < w; ++j) {
        z.push_back(g.x0 + (j + 0.5) * g.dx);
        z.push_back(y);
        zero.push_back(0.0);
        zero.push_back(0.0);
      }
    }
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(w) * h;
    std::vector<std::int32_t> jg(static_cast<std::size_t>(n)), mg(jg.size());
    hotloop::escape_grid(g, hotloop::Fractal::julia, -0.62772, -0.42193, 120, jg.data(), 0, n);
    hotloop::escape_grid(g, hotloop::Fractal::mandelbrot, 0.0, 0.0, 120, mg.data(), 0, n);
    EXPECT_EQ(jg, twin_all(z, {-0.62772, -0.42193}, 0, 120));
    EXPECT_EQ(mg, twin_all(zero, z, 1, 120));
    // Any split into ranges gives the same counts.
    std::vector<std::int32_t> parts(jg.size(), -1);
    for (std::ptrdiff_t b = 0; b < n; b += 37) {
      const std::ptrdiff_t e = b + 37 < n ? b + 37 : n;
      hotloop::escape_grid(g, hotloop::Fractal::julia, -0.62772, -0.42193, 120, parts.data() + b, b,
                           e);
    }
    EXPECT_EQ(parts, jg);
  }
}

}  // namespace

TEST(JuliaParallel, EqualsSerialForAnyThreadCount) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1.6, 1.6);
  const std::ptrdiff_t n = 3 * hotloop::kEscapeChunk + 17;
  std::vector<double> z(2 * static_cast<std::size_t>(n));
  for (auto& v : z) v = u(rng);
  const std::vector<double> c = {-0.62772, -0.42193};
  std::vector<std::int32_t> serial(static_cast<std::size_t>(n));
  hotloop::julia(z.data(), c.data(), 0, serial.data(), n, 300);
  for (int threads : {1, 2, 3, 8}) {
    std::vector<std::int32_t> par(static_cast<std::size_t>(n), -1);
    hotloop::julia_parallel(z.data(), c.data(), 0, par.data(), n, 300, threads);
    EXPECT_EQ(par, serial) << threads << " threads";
  }
  const auto g = make_grid(301, 173, -1.8, 1.8, -1.2, 1.2);
  for (auto kind : {hotloop::Fractal::julia, hotloop::Fractal::mandelbrot}) {
    std::vector<std::int32_t> one(301 * 173), many(301 * 173, -1);
    hotloop::escape_grid(g, kind, -0.8, 0.156, 500, one.data(), 0, 301 * 173);
    hotloop::escape_grid_parallel(g, kind, -0.8, 0.156, 500, many.data(), 4);
    EXPECT_EQ(many, one);
  }
}

// A region of the grid (a dask tile) holds exactly the counts of that part of the whole grid,
// for tiles cut anywhere, spanning several work chunks or none, on any thread count.
TEST(EscapeRegion, EqualsThatPartOfTheWholeGrid) {
  const auto g = make_grid(301, 173, -1.5, 1.5, -1.2, 1.2);
  for (auto kind : {hotloop::Fractal::julia, hotloop::Fractal::mandelbrot}) {
    std::vector<std::int32_t> whole(301 * 173);
    hotloop::escape_grid(g, kind, -0.8, 0.156, 200, whole.data(), 0, 301 * 173);
    const std::ptrdiff_t spans[][4] = {
        {0, 173, 0, 301}, {17, 18, 0, 301}, {0, 173, 300, 301}, {5, 150, 7, 290}, {9, 9, 3, 8}};
    for (const auto& s : spans) {
      for (int threads : {1, 3}) {
        const std::ptrdiff_t rows = s[1] - s[0], cols = s[3] - s[2];
        std::vector<std::int32_t> part(rows * cols + 1, -1);
        hotloop::escape_region_parallel(g, kind, -0.8, 0.156, 200, part.data(), s[0], s[1], s[2],
                                        s[3], threads);
        for (std::ptrdiff_t r = 0; r < rows; ++r) {
          for (std::ptrdiff_t j = 0; j < cols; ++j) {
            ASSERT_EQ(part[r * cols + j], whole[(s[0] + r) * 301 + s[2] + j]) << r << "," << j;
          }
        }
        EXPECT_EQ(part.back(), -1);  // nothing written past the region
      }
    }
  }
}

// A point that never escapes at the largest maxiter runs for seconds: an Interrupt that says
// stop ends the call within a few of its polls, in the middle of that point.
TEST(JuliaParallel, InterruptStopsInsideOnePoint) {
  const std::vector<double> z = {0.0, 0.0, 0.1, 0.0};
  const std::vector<double> c = {0.0, 0.0};
  std::vector<std::int32_t> out(2, -7);
  int polls = 0;
  hotloop::Interrupt intr([](void* p) -> int { return ++*static_cast<int*>(p) >= 2; }, &polls,
                          1'000'000);
  const auto t0 = std::chrono::steady_clock::now();
  hotloop::julia_parallel(z.data(), c.data(), 0, out.data(), 2,
                          std::numeric_limits<std::int32_t>::max(), 2, &intr);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(intr.stopped());
  EXPECT_EQ(out[0], -7);  // not written: the call stopped before the point's count was known
  EXPECT_LT(took, std::chrono::seconds(1));
}
