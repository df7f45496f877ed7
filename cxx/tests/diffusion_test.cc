// Tests of the diffusion kernels: one step against a naive loop written from the teaching
// material's C function, and many steps (temporal blocking, any tiling) against repeated steps,
// bit for bit.

#include "hotloop/diffusion.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

using hotloop::Boundary;

// One step, naive: interior only (fixed) or every cell with wrap-around (periodic).
template <class T>
void naive_step(const std::vector<T>& in, std::vector<T>& out, std::ptrdiff_t ny, std::ptrdiff_t nx,
                T coef, Boundary b) {
  const bool periodic = b == Boundary::periodic;
  const std::ptrdiff_t lo = periodic ? 0 : 1;
  for (std::ptrdiff_t i = lo; i < ny - lo; ++i) {
    for (std::ptrdiff_t j = lo; j < nx - lo; ++j) {
      const std::ptrdiff_t ip = (i + 1) % ny, im = (i + ny - 1) % ny;
      const std::ptrdiff_t jp = (j + 1) % nx, jm = (j + nx - 1) % nx;
      const T laplacian = in[ip * nx + j] + in[im * nx + j] + in[i * nx + jp] + in[i * nx + jm] -
                          4 * in[i * nx + j];
      out[i * nx + j] = in[i * nx + j] + coef * laplacian;
    }
  }
}

template <class T>
std::vector<T> naive_run(std::vector<T> a, std::ptrdiff_t ny, std::ptrdiff_t nx,
                         std::ptrdiff_t steps, T coef, Boundary b) {
  std::vector<T> o = a;
  for (std::ptrdiff_t s = 0; s < steps; ++s) {
    naive_step(a, o, ny, nx, coef, b);
    a.swap(o);
  }
  return a;
}

template <class T>
std::vector<T> random_grid(std::ptrdiff_t ny, std::ptrdiff_t nx, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> g(static_cast<std::size_t>(ny * nx));
  for (auto& v : g) v = static_cast<T>(u(rng));
  return g;
}

template <class T>
bool same_bits(const std::vector<T>& a, const T* b) {
  return std::memcmp(a.data(), b, a.size() * sizeof(T)) == 0;
}

TEST(DiffusionStep, PlainEntryPointIsTheCFunction) {
  for (auto [ny, nx] : {std::pair<int, int>{3, 3}, {3, 20}, {20, 3}, {33, 65}, {64, 130}}) {
    const std::vector<double> in = random_grid<double>(ny, nx, 1);
    std::vector<double> expected = random_grid<double>(ny, nx, 2), got = expected;
    naive_step(in, expected, ny, nx, 0.7 * 0.3, Boundary::fixed);
    hotloop::diffusion_step(in.data(), got.data(), ny, nx, 0.7, 0.3);
    EXPECT_TRUE(same_bits(expected, got.data())) << ny << "x" << nx;
  }
}

TEST(DiffusionStep, StridedFloatAndDouble) {
  const std::ptrdiff_t ny = 17, nx = 29, ld_in = 40, ld_out = 33;
  std::vector<float> in_f(ny * ld_in, 5.0f), out_f(ny * ld_out, -1.0f);
  const std::vector<float> g = random_grid<float>(ny, nx, 3);
  for (std::ptrdiff_t i = 0; i < ny; ++i)
    for (std::ptrdiff_t j = 0; j < nx; ++j) in_f[i * ld_in + j] = g[i * nx + j];
  hotloop::diffusion_step(in_f.data(), ld_in, out_f.data(), ld_out, ny, nx, 0.1f);
  std::vector<float> expected(g.size(), -1.0f);
  naive_step(g, expected, ny, nx, 0.1f, Boundary::fixed);
  for (std::ptrdiff_t i = 0; i < ny; ++i) {
    for (std::ptrdiff_t j = 0; j < ld_out; ++j) {
      const float want = j < nx ? expected[i * nx + j] : -1.0f;
      ASSERT_EQ(out_f[i * ld_out + j], want) << i << "," << j;
    }
  }
}

template <class T>
void check_many(std::ptrdiff_t ny, std::ptrdiff_t nx, std::ptrdiff_t steps, Boundary b) {
  const std::vector<T> g = random_grid<T>(ny, nx, static_cast<unsigned>(ny * 31 + nx + steps));
  std::vector<T> a = g, c = g;
  const T* got = hotloop::diffuse_serial(a.data(), c.data(), ny, nx, steps, T(0.1), b);
  EXPECT_TRUE(same_bits(naive_run(g, ny, nx, steps, T(0.1), b), got))
      << ny << "x" << nx << " steps " << steps << " periodic " << (b == Boundary::periodic);
}

TEST(DiffuseSerial, MatchesRepeatedStepsBitwise) {
  const std::pair<int, int> shapes[] = {{3, 3},    {3, 9},    {9, 3},    {5, 7},   {40, 40},
                                        {70, 513}, {20, 769}, {100, 37}, {8, 1600}};
  for (auto [ny, nx] : shapes) {
    for (std::ptrdiff_t steps : {0, 1, 2, 5, 21, 45}) {
      for (Boundary b : {Boundary::fixed, Boundary::periodic}) {
        check_many<double>(ny, nx, steps, b);
        check_many<float>(ny, nx, steps, b);
      }
    }
  }
}

// A mostly cold grid: +0.0 everywhere but a few warm spots (one next to an edge, one that wraps
// around with the periodic boundary), a -0.0 cell and a subnormal in the cold part. Skipped
// (quiescent) tiles must give the bits of stepping every cell: -0.0 is not "zero" to them.
template <class T>
std::vector<T> cold_grid(std::ptrdiff_t ny, std::ptrdiff_t nx, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<T> g(static_cast<std::size_t>(ny * nx), T(0));
  auto at = [&](std::ptrdiff_t i, std::ptrdiff_t j) -> T& { return g[(i % ny) * nx + (j % nx)]; };
  for (std::ptrdiff_t i = ny * 4 / 10; i < ny / 2 + 1; ++i)
    for (std::ptrdiff_t j = nx * 4 / 10; j < nx / 2 + 1; ++j) at(i, j) = static_cast<T>(u(rng));
  at(1, nx - 2) = T(0.5);
  at(ny - 1, 0) = T(0.25);
  at(ny * 9 / 10, nx / 5) = T(-0.0);
  at(ny / 7, nx * 8 / 10) = std::numeric_limits<T>::denorm_min();
  return g;
}

template <class T>
void check_cold(std::ptrdiff_t ny, std::ptrdiff_t nx, std::ptrdiff_t steps, Boundary b) {
  const std::vector<T> g = cold_grid<T>(ny, nx, static_cast<unsigned>(ny + 7 * nx + steps));
  const std::vector<T> want = naive_run(g, ny, nx, steps, T(0.1), b);
  for (bool sparse : {true, false}) {
    std::vector<T> a = g, c = g;
    const T* got = hotloop::diffuse_serial(a.data(), c.data(), ny, nx, steps, T(0.1), b, sparse);
    EXPECT_TRUE(same_bits(want, got)) << ny << "x" << nx << " steps " << steps << " periodic "
                                      << (b == Boundary::periodic) << " sparse " << sparse;
  }
}

TEST(DiffuseSerial, QuiescentTilesSkippedBitwise) {
  const std::pair<int, int> shapes[] = {{3, 3}, {64, 64}, {200, 150}, {257, 600}, {100, 1100}};
  for (auto [ny, nx] : shapes) {
    for (std::ptrdiff_t steps : {1, 3, 7, 40, 130}) {
      for (Boundary b : {Boundary::fixed, Boundary::periodic}) {
        check_cold<double>(ny, nx, steps, b);
        check_cold<float>(ny, nx, steps, b);
      }
    }
  }
}

// The parallel driver as the Python wrapper calls it: scratch and flags allocated here, the steps
// in chunks of `chunk` steps (one call, one parallel region each; 0: all in one call), the
// buffers exchanged whenever a call returns 1. Returns the result.
template <class T>
std::vector<T> run_parallel(const std::vector<T>& g, std::ptrdiff_t ny, std::ptrdiff_t nx,
                            std::ptrdiff_t steps, T coef, Boundary b, int threads,
                            std::ptrdiff_t chunk, bool sparse = true) {
  const hotloop::DiffusionTiling t = hotloop::diffusion_tiling(ny, nx, sizeof(T), threads);
  std::vector<T> a = g, c = g;
  std::vector<T> scratch(static_cast<std::size_t>(threads * t.scratch));
  const std::size_t tiles = static_cast<std::size_t>(hotloop::diffusion_tiles(ny, nx, t));
  std::vector<unsigned char> za(tiles, 0), zc(tiles, 0);
  if (sparse) {
    hotloop::diffusion_zero_tiles(a.data(), ny, nx, t, za.data());
    zc = za;
  }
  T* bufs[2] = {a.data(), c.data()};
  unsigned char* zeros[2] = {za.data(), zc.data()};
  int cur = 0;
  for (std::ptrdiff_t done = 0; done < steps;) {
    const std::ptrdiff_t n = chunk > 0 && steps - done > chunk ? chunk : steps - done;
    cur ^= hotloop::diffuse(bufs[cur], bufs[1 - cur], ny, nx, t, n, coef, b, threads,
                            scratch.data(), zeros[cur], zeros[1 - cur]);
    done += n;
  }
  return cur == 0 ? a : c;
}

// Every thread count (oversubscribed on small machines too) and every chunking give the bits of
// the serial twin, on random grids and on cold grids whose warm spots sit at the edges and across
// the wrap, where tiles are skipped and flags change hands between chunks.
// (A grid without +0.0 tiles runs the same with or without skipping: `both` tries both.)
template <class T>
void check_parallel(const std::vector<T>& g, std::ptrdiff_t ny, std::ptrdiff_t nx,
                    std::ptrdiff_t steps, Boundary b, bool both) {
  std::vector<T> a = g, c = g;
  const T* serial = hotloop::diffuse_serial(a.data(), c.data(), ny, nx, steps, T(0.1), b);
  const std::vector<T> want(serial, serial + g.size());
  const hotloop::DiffusionTiling t1 = hotloop::diffusion_tiling(ny, nx, sizeof(T), 1);
  for (int threads : {1, 2, 3, 8}) {
    // All at once, and chunks that are not whole blocks (one block per call with one thread).
    const std::ptrdiff_t part = threads == 1 ? t1.steps : 5;
    for (std::ptrdiff_t chunk : {std::ptrdiff_t{0}, part}) {
      for (bool sparse : {true, false}) {
        if (!sparse && !both) continue;
        EXPECT_TRUE(same_bits(
            want, run_parallel(g, ny, nx, steps, T(0.1), b, threads, chunk, sparse).data()))
            << ny << "x" << nx << " steps " << steps << " periodic " << (b == Boundary::periodic)
            << " threads " << threads << " chunk " << chunk << " sparse " << sparse << " float "
            << (sizeof(T) == 4);
      }
    }
  }
}

TEST(Diffuse, ParallelMatchesSerialBitwise) {
  const std::pair<int, int> shapes[] = {{3, 3}, {5, 7}, {40, 40}, {70, 513}};
  for (auto [ny, nx] : shapes) {
    for (std::ptrdiff_t steps : {0, 1, 7, 45}) {
      for (Boundary b : {Boundary::fixed, Boundary::periodic}) {
        const unsigned seed = static_cast<unsigned>(ny * 13 + nx + steps);
        check_parallel(random_grid<double>(ny, nx, seed), ny, nx, steps, b, false);
        check_parallel(random_grid<float>(ny, nx, seed), ny, nx, steps, b, false);
      }
    }
  }
}

TEST(Diffuse, ParallelColdGridsMatchSerialBitwise) {
  const std::pair<int, int> shapes[] = {{64, 64}, {200, 150}, {100, 1100}};
  for (auto [ny, nx] : shapes) {
    for (std::ptrdiff_t steps : {3, 40}) {
      for (Boundary b : {Boundary::fixed, Boundary::periodic}) {
        const unsigned seed = static_cast<unsigned>(ny + 7 * nx + steps);
        check_parallel(cold_grid<double>(ny, nx, seed), ny, nx, steps, b, true);
        check_parallel(cold_grid<float>(ny, nx, seed), ny, nx, steps, b, true);
      }
    }
  }
}

// The parallel driver against the naive loop too, so that it is not only checked against a twin
// that shares its tile kernel: a grid at the stability limit, NaN and infinity included.
TEST(Diffuse, ParallelMatchesNaiveLoop) {
  const std::ptrdiff_t ny = 97, nx = 130, steps = 33;
  std::vector<double> g = random_grid<double>(ny, nx, 5);
  g[static_cast<std::size_t>(50 * nx + 60)] = std::numeric_limits<double>::quiet_NaN();
  g[static_cast<std::size_t>(2 * nx + 1)] = std::numeric_limits<double>::infinity();
  for (Boundary b : {Boundary::fixed, Boundary::periodic}) {
    const std::vector<double> want = naive_run(g, ny, nx, steps, 0.25, b);
    for (int threads : {1, 2, 3, 8}) {
      EXPECT_TRUE(same_bits(want, run_parallel(g, ny, nx, steps, 0.25, b, threads, 4).data()))
          << "threads " << threads << " periodic " << (b == Boundary::periodic);
    }
  }
}

// The tiles of a cold grid are flagged, and the skipping actually happens: a tile far from the
// warm spot stays flagged zero, one at it does not.
TEST(DiffusionZeroTiles, FlagsMatchTheGrid) {
  const std::ptrdiff_t n = 512;
  const hotloop::DiffusionTiling t = hotloop::diffusion_tiling(n, n, sizeof(double), 1);
  const std::ptrdiff_t tiles = hotloop::diffusion_tiles(n, n, t);
  ASSERT_GT(tiles, 4);
  std::vector<double> g(static_cast<std::size_t>(n * n), 0.0);
  g[static_cast<std::size_t>(n / 2 * n + n / 2)] = 1.0;
  std::vector<unsigned char> zero(static_cast<std::size_t>(tiles));
  hotloop::diffusion_zero_tiles(g.data(), n, n, t, zero.data());
  const std::ptrdiff_t strips = (n + t.strip - 1) / t.strip;
  const std::ptrdiff_t warm = (n / 2 / t.band) * strips + (n / 2) / t.strip;
  for (std::ptrdiff_t k = 0; k < tiles; ++k) EXPECT_EQ(zero[k], k == warm ? 0 : 1) << k;
  // A -0.0 cell is not zero.
  g.assign(g.size(), 0.0);
  g[0] = -0.0;
  hotloop::diffusion_zero_tiles(g.data(), n, n, t, zero.data());
  EXPECT_EQ(zero[0], 0);
}

// Any tiling of a block gives the same cells: bands, strips and steps chosen at random.
TEST(DiffusionTile, AnyTilingSameBits) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 60; ++trial) {
    const std::ptrdiff_t ny = 3 + rng() % 60, nx = 3 + rng() % 90;
    const int steps = 1 + static_cast<int>(rng() % 12);
    const Boundary b = trial % 2 ? Boundary::periodic : Boundary::fixed;
    const std::ptrdiff_t band = 1 + rng() % ny, strip = 1 + rng() % nx;
    const std::vector<double> g = random_grid<double>(ny, nx, static_cast<unsigned>(trial));
    std::vector<double> dst = g;
    std::vector<double> scratch(static_cast<std::size_t>(hotloop::diffusion_scratch(strip, steps)));
    for (std::ptrdiff_t r0 = 0; r0 < ny; r0 += band) {
      for (std::ptrdiff_t c0 = 0; c0 < nx; c0 += strip) {
        hotloop::diffusion_tile(g.data(), dst.data(), nx, ny, nx, r0, std::min(r0 + band, ny), c0,
                                std::min(c0 + strip, nx), steps, 0.1, b, scratch.data());
      }
    }
    EXPECT_TRUE(same_bits(naive_run(g, ny, nx, steps, 0.1, b), dst.data()))
        << "trial " << trial << ": " << ny << "x" << nx << " band " << band << " strip " << strip
        << " steps " << steps;
  }
}

TEST(DiffusionTiling, Sane) {
  for (std::ptrdiff_t n : {3, 64, 512, 2048, 5000}) {
    for (int threads : {1, 2, 8}) {
      for (std::size_t item : {4u, 8u}) {
        const hotloop::DiffusionTiling t = hotloop::diffusion_tiling(n, n, item, threads);
        EXPECT_GE(t.steps, 1);
        EXPECT_LE(t.steps, 32);
        EXPECT_GE(t.band, 1);
        EXPECT_GE(t.strip, 1);
        EXPECT_LE(t.strip, n);
        EXPECT_GE(t.scratch, hotloop::diffusion_scratch(t.strip, t.steps));
      }
    }
  }
}

}  // namespace
