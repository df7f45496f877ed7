// Rolling covariance and correlation of two series (rolling.hpp, "Shape statistics").
//
// A window of complete pairs (x and y both non-NaN) is summarised by shifted sums of each series,
// dx = x 2^ex - Kx and dy = y 2^ey - Ky (own shift and scale each: rolling_shifted.hpp):
// Sx, Sy, Sxx, Syy and the cross sum Sxy, with running bounds of their accumulated rounding
// error. With ax = Sx / n, ay = Sy / n:
//   Mxx = Sxx - ax Sx,  Myy = Syy - ay Sy,  Cxy = Sxy - ax Sy.
// Before each output the errors of these are bounded, and the window is recomputed exactly when
// error(Cxy) could exceed tol sqrt(Mxx Myy), or error(Mxx) tol Mxx (likewise y). A series that is
// constant over the window thereby ends with every d exactly 0: its Mxx == 0 exactly (corr NaN)
// and Cxy == 0 exactly (cov 0).
#include <cmath>
#include <limits>

#include "hotloop/detail/float_types.hpp"
#include "hotloop/detail/twosum.hpp"
#include "hotloop/rolling.hpp"
#include "hotloop/threads.hpp"
#include "rolling_shifted.hpp"

namespace hotloop {
namespace {

using detail::comp_add;
using rolling_shifted::clamp0;
using rolling_shifted::in_range;
using rolling_shifted::is_finite;
using rolling_shifted::kNaN;
using rolling_shifted::kU;

constexpr double kTol = kRollingShapeTolerance;

// One series of the pair: its scale and shift.
struct Axis {
  double K = 0.0, sc = 1.0;
  int e = 0;

  void set_scale(int exponent) noexcept {
    e = exponent;
    sc = std::ldexp(1.0, exponent);
  }
};

struct PairWindow {
  Axis X, Y;
  double Sx = 0.0, Sy = 0.0, Sxx = 0.0, Syy = 0.0, Sxy = 0.0;
  double Ex = 0.0, Ey = 0.0, Exx = 0.0, Eyy = 0.0, Exy = 0.0;
  std::ptrdiff_t cnt = 0, nbad = 0;  // complete finite pairs; complete pairs with an infinity

  // Exact recomputation over the pairs lo <= i < hi.
  template <class T>
  void rebuild(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys, std::ptrdiff_t lo,
               std::ptrdiff_t hi) noexcept {
    cnt = nbad = 0;
    double Kx0 = 0.0, Ky0 = 0.0, hx = 0.0, lx = 0.0, hy = 0.0, ly = 0.0, ax = 0.0, ay = 0.0;
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double u = static_cast<double>(x[i * xs]), v = static_cast<double>(y[i * ys]);
      if (!(u == u) || !(v == v)) continue;
      if (!(is_finite(u) && is_finite(v))) {
        ++nbad;
        continue;
      }
      if (cnt++ == 0) {
        Kx0 = u;
        Ky0 = v;
      }
      comp_add(hx, lx, u - Kx0);
      comp_add(hy, ly, v - Ky0);
      ax = std::fabs(u) > ax ? std::fabs(u) : ax;
      ay = std::fabs(v) > ay ? std::fabs(v) : ay;
    }
    X.set_scale(rolling_shifted::coarse_exponent(ax));
    Y.set_scale(rolling_shifted::coarse_exponent(ay));
    if (X.e != 0 || Y.e != 0) {
      // Differences of huge values may have overflowed: centre again on scaled values.
      Kx0 *= X.sc;
      Ky0 *= Y.sc;
      hx = lx = hy = ly = 0.0;
      for (std::ptrdiff_t i = lo; i < hi; ++i) {
        const double u = static_cast<double>(x[i * xs]), v = static_cast<double>(y[i * ys]);
        if (!(is_finite(u) && is_finite(v))) continue;
        comp_add(hx, lx, u * X.sc - Kx0);
        comp_add(hy, ly, v * Y.sc - Ky0);
      }
    }
    const double c = static_cast<double>(cnt);
    X.K = cnt > 0 ? Kx0 + (hx + lx) / c : 0.0;
    Y.K = cnt > 0 ? Ky0 + (hy + ly) / c : 0.0;
    double dx, dy;
    sums(x, xs, y, ys, lo, hi, dx, dy);
    const int upx = rolling_shifted::spread_exponent(dx, X.e);
    const int upy = rolling_shifted::spread_exponent(dy, Y.e);
    if (upx != 0 || upy != 0) {
      X.set_scale(X.e + upx);
      X.K = std::ldexp(X.K, upx);
      Y.set_scale(Y.e + upy);
      Y.K = std::ldexp(Y.K, upy);
      sums(x, xs, y, ys, lo, hi, dx, dy);
    }
    Ex = kU * std::fabs(Sx);
    Ey = kU * std::fabs(Sy);
    Exx = kU * Sxx;
    Eyy = kU * Syy;
    Exy = kU * std::fabs(Sxy);
  }

  // The sums around the shifts by compensated summation; dmax_x, dmax_y: the largest |d|.
  template <class T>
  void sums(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys, std::ptrdiff_t lo,
            std::ptrdiff_t hi, double& dmax_x, double& dmax_y) noexcept {
    double h[5] = {}, l[5] = {};
    dmax_x = dmax_y = 0.0;
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double u = static_cast<double>(x[i * xs]), v = static_cast<double>(y[i * ys]);
      if (!(is_finite(u) && is_finite(v))) continue;
      const double dx = u * X.sc - X.K, dy = v * Y.sc - Y.K;
      comp_add(h[0], l[0], dx);
      comp_add(h[1], l[1], dy);
      comp_add(h[2], l[2], dx * dx);
      comp_add(h[3], l[3], dy * dy);
      comp_add(h[4], l[4], dx * dy);
      dmax_x = std::fabs(dx) > dmax_x ? std::fabs(dx) : dmax_x;
      dmax_y = std::fabs(dy) > dmax_y ? std::fabs(dy) : dmax_y;
    }
    Sx = h[0] + l[0];
    Sy = h[1] + l[1];
    Sxx = h[2] + l[2];
    Syy = h[3] + l[3];
    Sxy = h[4] + l[4];
  }

  // A pair enters (sign = +1, one = 1) or leaves (-1, -1). Pairs with a NaN do not count.
  HOTLOOP_INLINE void update(double u, double v, double sign, std::ptrdiff_t one) noexcept {
    if (!(u == u) || !(v == v)) return;
    if (!(is_finite(u) && is_finite(v))) {
      nbad += one;
      return;
    }
    const double dx = u * X.sc - X.K, dy = v * Y.sc - Y.K;
    Sx += sign * dx;
    Ex += kU * std::fabs(Sx);
    Sy += sign * dy;
    Ey += kU * std::fabs(Sy);
    Sxx += sign * (dx * dx);
    Exx += kU * std::fabs(Sxx);
    Syy += sign * (dy * dy);
    Eyy += kU * std::fabs(Syy);
    Sxy += sign * (dx * dy);
    Exy += kU * std::fabs(Sxy);
    cnt += one;
    if (cnt == 0) Sx = Sy = Sxx = Syy = Sxy = Ex = Ey = Exx = Eyy = Exy = 0.0;
  }
};

// q clamped to [-1, 1] (a NaN stays NaN): rounding may take a correlation of +-1 just past it.
template <class F>
HOTLOOP_INLINE F clamp1(F q) noexcept {
  const F a = q > F(1) ? F(1) : q;
  return a < F(-1) ? F(-1) : a;
}

// What depends on the count n of a window only.
struct PairCount {
  double c = 0.0, inv_c = 0.0, inv_dof = 0.0;  // inv_dof = 1 / (n - ddof)

  PairCount() = default;
  PairCount(std::ptrdiff_t n, std::ptrdiff_t ddof) noexcept {
    c = static_cast<double>(n);
    inv_c = 1.0 / c;
    inv_dof = 1.0 / (c - static_cast<double>(ddof));
  }
};

// Upper bounds of sum |dx| <= sqrt(n Sxx), sum |dy| <= sqrt(n Syy) and sum |dx dy| <=
// sqrt(Sxx Syy): exact square roots on the scalar path; in a tile, sqrt(p q) <= (p l + q / l) / 2
// with l fixed from the tile's first window (as rolling_shape.cpp's AbsBounds).
struct PairBounds {
  double h = 0.0, lx = 1.0, ilx = 1.0, ly = 1.0, ily = 1.0, lxy = 1.0, ilxy = 1.0;

  PairBounds() = default;
  PairBounds(const PairCount& k, double Sxx, double Syy) noexcept {
    h = 0.5 * std::sqrt(k.c);
    if (Sxx > 0.0) {
      lx = std::sqrt(Sxx);
      ilx = 1.0 / lx;
    }
    if (Syy > 0.0) {
      ly = std::sqrt(Syy);
      ily = 1.0 / ly;
    }
    if (Sxx > 0.0 && Syy > 0.0) {
      lxy = ly * ilx;  // sqrt(Syy / Sxx)
      ilxy = 1.0 / lxy;
    }
  }
};

// The statistic S of a window of k.c complete finite pairs (more than ddof for cov, at least 2
// for corr) from its sums, to r (at scale 1); returns whether the error test passes. The bounds
// take the form of shape_value's (rolling_shape.cpp): Dx = Ex + u sum |dx| bounds the error of Sx,
// Exx + 3u Sxx that of Sxx, Exy + 3u sum |dx dy| that of Sxy; each central sum's error is then
// sum |dM/dS| D, the second-order terms and its own rounding. error(Cxy) <= tol sqrt(Mxx Myy) is
// tested squared. TILE: for the vectorised tiles, without the clamps and the select after a
// division (see rolling_shape.cpp's shape_value: an output that passes the test has Mxx, Myy >= 0,
// and Cxy == 0 when one of them is 0, so 0 / 0 gives corr's NaN), and with the bounds of `b`.
template <RollingPair S, bool TILE>
HOTLOOP_INLINE bool pair_value(double Sx, double Sy, double Sxx, double Syy, double Sxy, double Ex,
                               double Ey, double Exx, double Eyy, double Exy, const PairCount& k,
                               const PairBounds& b, double& r) noexcept {
  const double ax = Sx * k.inv_c, ay = Sy * k.inv_c;
  const double Mxx = Sxx - ax * Sx, Myy = Syy - ay * Sy, C = Sxy - ax * Sy;
  const double Ax = TILE ? b.h * (Sxx * b.ilx + b.lx) : std::sqrt(k.c * Sxx);
  const double Ay = TILE ? b.h * (Syy * b.ily + b.ly) : std::sqrt(k.c * Syy);
  const double Axy = TILE ? 0.5 * (Sxx * b.lxy + Syy * b.ilxy) : std::sqrt(Sxx * Syy);
  const double Dx = Ex + kU * Ax, Dy = Ey + kU * Ay;
  // First-order terms, then the second-order ones (Dx^2 / n, Dx Dy / n).
  const double errxx = Exx + 3.0 * kU * Sxx + (2.0 * std::fabs(ax) + Dx * k.inv_c) * Dx +
                       2.0 * kU * std::fabs(ax * Sx);
  const double erryy = Eyy + 3.0 * kU * Syy + (2.0 * std::fabs(ay) + Dy * k.inv_c) * Dy +
                       2.0 * kU * std::fabs(ay * Sy);
  const double errc = Exy + 3.0 * kU * Axy + std::fabs(ax) * Dy + std::fabs(ay) * Dx +
                      Dx * Dy * k.inv_c + 2.0 * kU * (std::fabs(Sxy) + std::fabs(ax * Sy));
  // NaN sums fail the test (the caller then recomputes), so plain clamps are enough.
  const double mxx = TILE ? Mxx : (Mxx > 0.0 ? Mxx : 0.0);
  const double myy = TILE ? Myy : (Myy > 0.0 ? Myy : 0.0);
  const double gg = mxx * myy;
  const bool ok = in_range(Sx, Sxx) & in_range(Sy, Syy) & (errxx <= kTol * Mxx) &
                  (erryy <= kTol * Myy) & (errc * errc <= (kTol * kTol) * gg);
  if constexpr (S == RollingPair::cov) {
    r = C * k.inv_dof;
  } else {
    // g == 0 when a series is constant over the window: NaN, as pandas.
    // The tiles clamp after rounding to T (a conversion before a select of constants would be
    // moved into a branch, see above).
    const double g = std::sqrt(gg);
    const double q = C / g;
    r = TILE ? q : (g > 0.0 ? clamp1(q) : kNaN);
  }
  return ok;
}

// One output on the scalar path, as in rolling_shape.cpp: false when the error test fails.
template <RollingPair S>
HOTLOOP_INLINE bool evaluate(const PairWindow& w, std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                             PairCount& k, double& r) noexcept {
  const std::ptrdiff_t need = S == RollingPair::cov ? ddof + 1 : 2;
  if (w.cnt + w.nbad < min_periods || w.nbad > 0 || w.cnt < need) {
    r = kNaN;
    return true;
  }
  if (k.c != static_cast<double>(w.cnt)) k = PairCount(w.cnt, ddof);
  const bool ok = pair_value<S, false>(w.Sx, w.Sy, w.Sxx, w.Syy, w.Sxy, w.Ex, w.Ey, w.Exx, w.Eyy,
                                       w.Exy, k, PairBounds(), r);
  if (S == RollingPair::cov && (w.X.e != 0 || w.Y.e != 0)) r = std::ldexp(r, -(w.X.e + w.Y.e));
  return ok;
}

constexpr std::ptrdiff_t kTile = 128;
static_assert(kRollingTile % kTile == 0, "hotloop.dask reads to the end of a moments tile");

// Vectorised tile over full windows of finite pairs at scale 1: outputs i0 <= i < i1, with the
// contract of rolling_shape.cpp's shape_tile (returns m, the first failing output, or -1 when a
// non-finite value or a NaN enters).
template <RollingPair S, class T, bool CONTIG>
HOTLOOP_INLINE std::ptrdiff_t pair_tile(PairWindow& w, const T* x, std::ptrdiff_t xs_, const T* y,
                                        std::ptrdiff_t ys_, std::ptrdiff_t W, const PairCount& k,
                                        T* out, std::ptrdiff_t os_, std::ptrdiff_t i0,
                                        std::ptrdiff_t i1) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t ys = CONTIG ? 1 : ys_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const std::ptrdiff_t m = i1 - i0;
  const double Kx = w.X.K, Ky = w.Y.K;
  double ax[kTile], ay[kTile], axx[kTile], ayy[kTile], axy[kTile];
  double nonfinite = 0.0, b1 = 0.0, b2 = 0.0, b3 = 0.0, b4 = 0.0, b5 = 0.0;
#pragma omp simd reduction(+ : nonfinite, b1, b2, b3, b4, b5)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    const double xin = static_cast<double>(x[(i0 + j) * xs]);
    const double yin = static_cast<double>(y[(i0 + j) * ys]);
    const double dxi = xin - Kx, dyi = yin - Ky;
    const double dxo = static_cast<double>(x[(i0 + j - W) * xs]) - Kx;
    const double dyo = static_cast<double>(y[(i0 + j - W) * ys]) - Ky;
    ax[j] = dxi - dxo;
    ay[j] = dyi - dyo;
    axx[j] = dxi * dxi - dxo * dxo;
    ayy[j] = dyi * dyi - dyo * dyo;
    axy[j] = dxi * dyi - dxo * dyo;
    b1 += std::fabs(ax[j]);
    b2 += std::fabs(ay[j]);
    b3 += std::fabs(axx[j]);
    b4 += std::fabs(ayy[j]);
    b5 += std::fabs(axy[j]);
    nonfinite += is_finite(xin) & is_finite(yin) ? 0.0 : 1.0;
  }
  if (nonfinite != 0.0) return -1;
  double Sx = w.Sx, Sy = w.Sy, Sxx = w.Sxx, Syy = w.Syy, Sxy = w.Sxy;
  const double t1 = rolling_shifted::prefix_sums(ax, m, Sx);
  const double t2 = rolling_shifted::prefix_sums(ay, m, Sy);
  const double t3 = rolling_shifted::prefix_sums(axx, m, Sxx);
  const double t4 = rolling_shifted::prefix_sums(ayy, m, Syy);
  const double t5 = rolling_shifted::prefix_sums(axy, m, Sxy);
  const double slack = 1.0 + 1e-6;  // the bound's own rounding
  const double Ex = w.Ex + kU * (7.0 * b1 + 2.0 * t1) * slack;
  const double Ey = w.Ey + kU * (7.0 * b2 + 2.0 * t2) * slack;
  const double Exx = w.Exx + kU * (7.0 * b3 + 2.0 * t3) * slack;
  const double Eyy = w.Eyy + kU * (7.0 * b4 + 2.0 * t4) * slack;
  const double Exy = w.Exy + kU * (7.0 * b5 + 2.0 * t5) * slack;
  const PairBounds b(k, w.Sxx, w.Syy);
  // Failures counted and flagged per output as doubles (see rolling_shape.cpp's shape_tile).
  double fails = 0.0, bad[kTile];
#pragma omp simd reduction(+ : fails)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    double r;
    bad[j] =
        pair_value<S, true>(ax[j], ay[j], axx[j], ayy[j], axy[j], Ex, Ey, Exx, Eyy, Exy, k, b, r)
            ? 0.0
            : 1.0;
    fails += bad[j];
    const T v = static_cast<T>(r);
    out[(i0 + j) * os] = S == RollingPair::corr ? clamp1(v) : v;
  }
  if (fails != 0.0) {
    std::ptrdiff_t j = 0;
    while (bad[j] == 0.0) ++j;
    return j;
  }
  w.Sx = Sx;
  w.Sy = Sy;
  w.Sxx = Sxx;
  w.Syy = Syy;
  w.Sxy = Sxy;
  w.Ex = Ex;
  w.Ey = Ey;
  w.Exx = Exx;
  w.Eyy = Eyy;
  w.Exy = Exy;
  return m;
}

template <RollingPair S, class T, bool CONTIG>
HOTLOOP_INLINE void pair_block(const T* x, std::ptrdiff_t xs_, const T* y, std::ptrdiff_t ys_,
                               std::ptrdiff_t W, std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                               T* out, std::ptrdiff_t os_, std::ptrdiff_t begin,
                               std::ptrdiff_t end) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t ys = CONTIG ? 1 : ys_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const std::ptrdiff_t first = begin - W + 1 > 0 ? begin - W + 1 : 0;
  PairWindow w;
  w.rebuild(x, xs, y, ys, first, begin);
  const bool tiles = W >= (S == RollingPair::cov ? ddof + 1 : 2);
  const PairCount full(W, ddof);
  PairCount k;
  std::ptrdiff_t i = begin;
  while (i < end) {
    const std::ptrdiff_t tile_end = i + kTile < end ? i + kTile : end;
    if (tiles && i - W >= first && w.cnt == W && w.X.e == 0 && w.Y.e == 0) {
      const std::ptrdiff_t done =
          pair_tile<S, T, CONTIG>(w, x, xs, y, ys, W, full, out, os, i, tile_end);
      if (done >= 0) {
        i += done;
        if (i < tile_end) {  // output i failed the test: recompute its window
          w.rebuild(x, xs, y, ys, i - W + 1, i + 1);
          double r;
          evaluate<S>(w, min_periods, ddof, k, r);
          out[i * os] = static_cast<T>(r);
          ++i;
        }
        continue;
      }
    }
    for (; i < tile_end; ++i) {
      w.update(static_cast<double>(x[i * xs]), static_cast<double>(y[i * ys]), 1.0, 1);
      if (i - W >= first) {
        w.update(static_cast<double>(x[(i - W) * xs]), static_cast<double>(y[(i - W) * ys]), -1.0,
                 -1);
      }
      double r;
      if (!evaluate<S>(w, min_periods, ddof, k, r)) {
        w.rebuild(x, xs, y, ys, i - W + 1 > 0 ? i - W + 1 : 0, i + 1);
        evaluate<S>(w, min_periods, ddof, k, r);
      }
      out[i * os] = static_cast<T>(r);
    }
  }
}

template <RollingPair S, class T>
HOTLOOP_INLINE void pair_dispatch(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys,
                                  std::ptrdiff_t W, std::ptrdiff_t mp, std::ptrdiff_t ddof, T* out,
                                  std::ptrdiff_t os, std::ptrdiff_t begin,
                                  std::ptrdiff_t end) noexcept {
  if (xs == 1 && ys == 1 && os == 1) {
    pair_block<S, T, true>(x, 1, y, 1, W, mp, ddof, out, 1, begin, end);
  } else {
    pair_block<S, T, false>(x, xs, y, ys, W, mp, ddof, out, os, begin, end);
  }
}

}  // namespace

template <class T>
HOTLOOP_CLONES void rolling_pair_block(const T* x, std::ptrdiff_t x_stride, const T* y,
                                       std::ptrdiff_t y_stride, std::ptrdiff_t window,
                                       std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                                       RollingPair stat, T* out, std::ptrdiff_t out_stride,
                                       std::ptrdiff_t begin, std::ptrdiff_t end) noexcept {
  if (begin >= end) return;
  if (stat == RollingPair::cov) {
    pair_dispatch<RollingPair::cov>(x, x_stride, y, y_stride, window, min_periods, ddof, out,
                                    out_stride, begin, end);
  } else {
    pair_dispatch<RollingPair::corr>(x, x_stride, y, y_stride, window, min_periods, ddof, out,
                                     out_stride, begin, end);
  }
}

template <class T>
void rolling_pair_rows(const T* x, const T* y, T* out, const RollingRows& rows,
                       const std::ptrdiff_t* y_offsets, std::ptrdiff_t y_stride,
                       std::ptrdiff_t window, std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                       RollingPair stat, int n_threads) noexcept {
  // ~8 ns per output on one core (cxx/bench/rolling_benchmark).
  for_each_rows_block(rows, rolling_block_size(window), window, 8.0, n_threads,
                      [&](std::ptrdiff_t r, std::ptrdiff_t begin, std::ptrdiff_t end) {
                        rolling_pair_block(x + rows.x_offsets[r], rows.x_stride, y + y_offsets[r],
                                           y_stride, window, min_periods, ddof, stat,
                                           out + rows.out_offsets[r], rows.out_stride, begin, end);
                      });
}

#define HOTLOOP_ROLLING_PAIR_ENTRY_POINTS(T)                                                     \
  template void rolling_pair_block<T>(                                                           \
      const T*, std::ptrdiff_t, const T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,        \
      std::ptrdiff_t, RollingPair, T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t) noexcept; \
  template void rolling_pair_rows<T>(const T*, const T*, T*, const RollingRows&,                 \
                                     const std::ptrdiff_t*, std::ptrdiff_t, std::ptrdiff_t,      \
                                     std::ptrdiff_t, std::ptrdiff_t, RollingPair, int) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_ROLLING_PAIR_ENTRY_POINTS)

}  // namespace hotloop
