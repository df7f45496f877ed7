#include "hotloop/julia.hpp"

#include <algorithm>

#include "hotloop/detail/simd.hpp"
#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

using detail::broadcast;
using detail::load_vec;
using detail::SimdOf;
using detail::store_vec;

constexpr long long kBlock = 8;  // iterations between two refills, at most
// The count of an idle lane (no point left to give it): it never reaches maxiter, and its z and
// c are 0, so it never escapes either.
constexpr long long kIdle = -(1LL << 62);

// Points of an array: z and c interleaved (complex128), c shared when c_step is 0.
struct ArraySource {
  const double* z;
  const double* c;
  std::ptrdiff_t c_step;
  std::ptrdiff_t k;

  HOTLOOP_INLINE void next(double& zr, double& zi, double& cr, double& ci) noexcept {
    zr = z[2 * k];
    zi = z[2 * k + 1];
    cr = c[2 * k * c_step];
    ci = c[2 * k * c_step + 1];
    ++k;
  }
};

// Pixels of a grid, in row-major order from a starting pixel, coordinates as julia.hpp defines.
template <Fractal F>
struct GridSource {
  const PixelGrid& g;
  double cr, ci;
  std::ptrdiff_t row, col;
  double y;

  GridSource(const PixelGrid& grid, double c_re, double c_im, std::ptrdiff_t begin) noexcept
      : g(grid), cr(c_re), ci(c_im), row(begin / grid.width), col(begin % grid.width) {
    y = g.y1 - (static_cast<double>(row) + 0.5) * g.dy;
  }

  HOTLOOP_INLINE void next(double& zr, double& zi, double& c_re, double& c_im) noexcept {
    const double x = g.x0 + (static_cast<double>(col) + 0.5) * g.dx;
    if constexpr (F == Fractal::julia) {
      zr = x;
      zi = y;
      c_re = cr;
      c_im = ci;
    } else {
      zr = 0.0;
      zi = 0.0;
      c_re = x;
      c_im = y;
    }
    if (++col == g.width) {
      col = 0;
      ++row;
      y = g.y1 - (static_cast<double>(row) + 0.5) * g.dy;
    }
  }
};

// The escape-time loop over n points taken from `src` in order; out[k] is the count of point k.
// V is the native vector of W doubles, U vectors are iterated side by side (U * W lanes).
//
// An iteration tests |z|^2 < 4 on the current z, freezes the lane's count from then on when the
// test fails (alive &= test, count += alive) and updates z unconditionally. The number of
// iterations of a block never exceeds what any live lane has left before maxiter, so counts stop
// exactly at maxiter without a second test in the loop. After a block the lanes that are done
// (escaped, or at maxiter) are found with vector masks; only then is the state written to memory,
// those lanes hand in their counts and take new points, and the state is read back.
template <int Bits, int U, class Source>
HOTLOOP_INLINE void escape_engine(Source& src, std::ptrdiff_t n, std::int32_t maxiter,
                                  std::int32_t* out, Interrupt* interrupt) noexcept {
  using V = typename SimdOf<double, Bits>::type;
  using M = typename SimdOf<double, Bits>::mask;
  constexpr int W = SimdOf<double, Bits>::lanes;
  constexpr int L = U * W;
  static_assert(L <= 64, "lane bit masks are 64 bits wide");
  if (n <= 0) return;
  if (maxiter == 0) {
    for (std::ptrdiff_t k = 0; k < n; ++k) out[k] = 0;
    return;
  }
  alignas(64) double zr[L], zi[L], cr[L], ci[L];
  alignas(64) long long cnt[L], alive[L];
  std::ptrdiff_t idx[L];
  std::ptrdiff_t next = 0;
  int live = 0;
  for (int l = 0; l < L; ++l) {
    alive[l] = -1;
    if (next < n) {
      src.next(zr[l], zi[l], cr[l], ci[l]);
      idx[l] = next++;
      cnt[l] = 0;
      ++live;
    } else {
      zr[l] = zi[l] = cr[l] = ci[l] = 0.0;
      idx[l] = -1;
      cnt[l] = kIdle;
    }
  }
  const long long max_count = maxiter;
  const V four = broadcast<V>(4.0);
  const M max_vec = broadcast<M>(max_count);
  V ZR[U], ZI[U], CR[U], CI[U];
  M weight[U], CNT[U], AL[U];
  for (int i = 0; i < W; ++i) {
    for (int u = 0; u < U; ++u) weight[u][i] = 1LL << (u * W + i);
  }
  auto load_state = [&]() noexcept {
    for (int u = 0; u < U; ++u) {
      ZR[u] = load_vec<V>(zr + u * W);
      ZI[u] = load_vec<V>(zi + u * W);
      CR[u] = load_vec<V>(cr + u * W);
      CI[u] = load_vec<V>(ci + u * W);
      CNT[u] = load_vec<M>(cnt + u * W);
      AL[u] = load_vec<M>(alive + u * W);
    }
  };
  load_state();
  long long budget = max_count < kBlock ? max_count : kBlock;
  // A poll every 256 blocks (~10-50 us of work): one decrement per block otherwise.
  InterruptTicker ticker(interrupt, 256);

  for (;;) {
    if (ticker.tick()) return;  // stopped: the counts not written yet stay unwritten
    for (long long it = 0; it < budget; ++it) {
      for (int u = 0; u < U; ++u) {
        const V a = ZR[u] * ZR[u];
        const V b = ZI[u] * ZI[u];
        const V t = ZR[u] * ZI[u];
        AL[u] &= (a + b) < four;
        CNT[u] -= AL[u];  // alive lanes hold -1
        ZR[u] = (a - b) + CR[u];
        ZI[u] = (t + t) + CI[u];
      }
    }

    // Lanes done: escaped (alive == 0) or at maxiter. The others bound the next block.
    M done_bits = {}, top = {};
    for (int u = 0; u < U; ++u) {
      const M done = ~AL[u] | (CNT[u] == max_vec);
      done_bits |= done & weight[u];
      const M c = CNT[u] & ~done;
      top = top > c ? top : c;
    }
    unsigned long long bits = 0;
    long long most = 0;
    for (int i = 0; i < W; ++i) {
      bits |= static_cast<unsigned long long>(done_bits[i]);
      most = top[i] > most ? top[i] : most;
    }

    if (bits != 0) {
      for (int u = 0; u < U; ++u) {
        store_vec(zr + u * W, ZR[u]);
        store_vec(zi + u * W, ZI[u]);
        store_vec(cr + u * W, CR[u]);
        store_vec(ci + u * W, CI[u]);
        store_vec(cnt + u * W, CNT[u]);
        store_vec(alive + u * W, AL[u]);
      }
      do {
        const int l = __builtin_ctzll(bits);
        bits &= bits - 1;
        out[idx[l]] = static_cast<std::int32_t>(cnt[l]);
        alive[l] = -1;
        if (next < n) {
          src.next(zr[l], zi[l], cr[l], ci[l]);
          idx[l] = next++;
          cnt[l] = 0;
        } else {
          zr[l] = zi[l] = cr[l] = ci[l] = 0.0;
          idx[l] = -1;
          cnt[l] = kIdle;
          --live;
        }
      } while (bits != 0);
      if (live == 0) return;
      load_state();
    }
    const long long left = max_count - most;
    budget = left < kBlock ? left : kBlock;
  }
}

// One version per instruction set. Lane counts fit the register files: 32 zmm registers hold
// four vectors of state per lane group with AVX-512; AVX2 and SSE2 have 16 registers.
constexpr int lane_groups(int bits) { return bits == 256 ? 3 : 4; }

#define HOTLOOP_JULIA_BODY(BITS)    \
  ArraySource src{z, c, c_step, 0}; \
  escape_engine<BITS, lane_groups(BITS)>(src, n, maxiter, out, interrupt);
HOTLOOP_ISA_VERSIONS(void julia_points(const double* z, const double* c, std::ptrdiff_t c_step,
                                       std::int32_t* out, std::ptrdiff_t n, std::int32_t maxiter,
                                       Interrupt* interrupt) noexcept,
                     HOTLOOP_JULIA_BODY)

#define HOTLOOP_JULIA_GRID_BODY(BITS)                  \
  GridSource<Fractal::julia> src(grid, cr, ci, begin); \
  escape_engine<BITS, lane_groups(BITS)>(src, end - begin, maxiter, out, interrupt);
HOTLOOP_ISA_VERSIONS(void julia_pixels(const PixelGrid& grid, double cr, double ci,
                                       std::int32_t maxiter, std::int32_t* out,
                                       std::ptrdiff_t begin, std::ptrdiff_t end,
                                       Interrupt* interrupt) noexcept,
                     HOTLOOP_JULIA_GRID_BODY)

#define HOTLOOP_MANDELBROT_GRID_BODY(BITS)                    \
  GridSource<Fractal::mandelbrot> src(grid, 0.0, 0.0, begin); \
  escape_engine<BITS, lane_groups(BITS)>(src, end - begin, maxiter, out, interrupt);
HOTLOOP_ISA_VERSIONS(void mandelbrot_pixels(const PixelGrid& grid, std::int32_t maxiter,
                                            std::int32_t* out, std::ptrdiff_t begin,
                                            std::ptrdiff_t end, Interrupt* interrupt) noexcept,
                     HOTLOOP_MANDELBROT_GRID_BODY)

}  // namespace

void julia(const double* z, const double* c, std::ptrdiff_t c_step, std::int32_t* out,
           std::ptrdiff_t n, std::int32_t maxiter, Interrupt* interrupt) noexcept {
  julia_points(z, c, c_step, out, n, maxiter, interrupt);
}

void escape_grid(const PixelGrid& grid, Fractal kind, double cr, double ci, std::int32_t maxiter,
                 std::int32_t* out, std::ptrdiff_t begin, std::ptrdiff_t end,
                 Interrupt* interrupt) noexcept {
  if (kind == Fractal::julia) {
    julia_pixels(grid, cr, ci, maxiter, out, begin, end, interrupt);
  } else {
    mandelbrot_pixels(grid, maxiter, out, begin, end, interrupt);
  }
}

namespace {

// Runs escape(begin, end) over [0, n) in kEscapeChunk slices spread over the pool; a slice is
// the unit of work claimed by a thread, and nothing starts once Ctrl-C was seen.
template <class Escape>
void escape_in_chunks(std::ptrdiff_t n, int max_threads, Interrupt* interrupt,
                      const Escape& escape) noexcept {
  const std::ptrdiff_t chunks = (n + kEscapeChunk - 1) / kEscapeChunk;
  parallel_for(
      chunks, max_threads, 1,
      [&](std::ptrdiff_t first, std::ptrdiff_t last) {
        for (std::ptrdiff_t t = first; t < last; ++t) {
          if (interrupt != nullptr && interrupt->stopped()) return;
          const std::ptrdiff_t b = t * kEscapeChunk;
          escape(b, std::min(b + kEscapeChunk, n));
        }
      },
      interrupt);
}

}  // namespace

void julia_parallel(const double* z, const double* c, std::ptrdiff_t c_step, std::int32_t* out,
                    std::ptrdiff_t n, std::int32_t maxiter, int max_threads,
                    Interrupt* interrupt) noexcept {
  escape_in_chunks(n, max_threads, interrupt, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    julia(z + 2 * b, c + 2 * b * c_step, c_step, out + b, e - b, maxiter, interrupt);
  });
}

void escape_grid_parallel(const PixelGrid& grid, Fractal kind, double cr, double ci,
                          std::int32_t maxiter, std::int32_t* out, int max_threads,
                          Interrupt* interrupt) noexcept {
  escape_in_chunks(grid.width * grid.height, max_threads, interrupt,
                   [&](std::ptrdiff_t b, std::ptrdiff_t e) {
                     escape_grid(grid, kind, cr, ci, maxiter, out + b, b, e, interrupt);
                   });
}

void escape_region_parallel(const PixelGrid& grid, Fractal kind, double cr, double ci,
                            std::int32_t maxiter, std::int32_t* out, std::ptrdiff_t row_begin,
                            std::ptrdiff_t row_end, std::ptrdiff_t col_begin,
                            std::ptrdiff_t col_end, int max_threads,
                            Interrupt* interrupt) noexcept {
  const std::ptrdiff_t cols = col_end - col_begin;
  const std::ptrdiff_t n = (row_end - row_begin) * cols;
  escape_in_chunks(n, max_threads, interrupt, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    // Tile pixels b..e-1, cut where a tile row ends (the grid's pixels of one tile row are
    // consecutive; of two rows they are not, unless the tile spans the whole width).
    while (b < e) {
      const std::ptrdiff_t r = b / cols, j = b % cols;
      const std::ptrdiff_t stop = cols == grid.width ? e : std::min(e, (r + 1) * cols);
      const std::ptrdiff_t p = (row_begin + r) * grid.width + col_begin + j;
      escape_grid(grid, kind, cr, ci, maxiter, out + b, p, p + (stop - b), interrupt);
      b = stop;
    }
  });
}

}  // namespace hotloop
