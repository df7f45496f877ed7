// Rolling skewness, kurtosis and standard error of the mean (rolling.hpp, "Shape statistics").
//
// Each window is summarised by the shifted power sums Sk = sum(d^k), d = x 2^e - K, k = 1..4
// (1..2 for the sem), with K near the window's mean, and by running upper bounds Ek of the
// rounding error each sum has accumulated since the last exact recomputation. Central moments
// come from the binomial formulas with a = S1 / n:
//   M2 = S2 - a S1,  M3 = S3 - a (3 S2 - 2 a S1),  M4 = S4 - a (4 S3 - a (6 S2 - 3 a S1)).
// Before each output the error of the moments it needs is bounded from the Ek, from the rounding
// of d and of its powers, and from the cancellation in these formulas; when the bound could
// exceed the tolerance of rolling.hpp the window is recomputed exactly (shifted, compensated
// two-pass over its values, K re-centred on its mean, scale chosen again). A window of equal
// values thereby ends with every d exactly 0: M2 == 0 exactly, which is how skew and kurt know
// it (NaN, as pandas) and why its sem is exactly 0.
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

// The window of a shape statistic. P is the highest power summed: 2 for the sem, 4 for skew and
// kurt (skew needs S4 only to bound sum |d|^3 <= sqrt(S2 S4), a bound that stays tight when the
// window is long, where S2^1.5 would not).
template <int P>
struct ShapeWindow {
  double K = 0.0;  // shift (scaled), near the window mean after every recomputation
  double S1 = 0.0, S2 = 0.0, S3 = 0.0, S4 = 0.0;
  double E1 = 0.0, E2 = 0.0, E3 = 0.0, E4 = 0.0;
  double sc = 1.0;  // 2^e
  int e = 0;
  std::ptrdiff_t cnt = 0, ninf = 0;  // finite values, infinities

  // Exact recomputation over x[lo..hi).
  template <class T>
  void rebuild(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    cnt = ninf = 0;
    double K0 = 0.0, h = 0.0, l = 0.0, amax = 0.0;
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double v = static_cast<double>(x[i * xs]);
      if (is_finite(v)) {
        if (cnt++ == 0) K0 = v;
        comp_add(h, l, v - K0);
        amax = std::fabs(v) > amax ? std::fabs(v) : amax;
      } else if (v == v) {
        ++ninf;
      }
    }
    set_scale(rolling_shifted::coarse_exponent(amax));
    if (e != 0) {
      // Differences of huge values may have overflowed: centre again on scaled values.
      K0 *= sc;
      h = l = 0.0;
      for (std::ptrdiff_t i = lo; i < hi; ++i) {
        const double v = static_cast<double>(x[i * xs]);
        if (is_finite(v)) comp_add(h, l, v * sc - K0);
      }
    }
    K = cnt > 0 ? K0 + (h + l) / static_cast<double>(cnt) : 0.0;
    const int up = rolling_shifted::spread_exponent(sums(x, xs, lo, hi), e);
    if (up != 0) {
      set_scale(e + up);
      K = std::ldexp(K, up);
      sums(x, xs, lo, hi);
    }
    // What is left of the compensated sums' error: the final rounding of hi + lo.
    E1 = kU * std::fabs(S1);
    E2 = kU * S2;
    E3 = kU * std::fabs(S3);
    E4 = kU * S4;
  }

  void set_scale(int exponent) noexcept {
    e = exponent;
    sc = std::ldexp(1.0, exponent);
  }

  // The power sums around K by compensated summation; returns max |d|. The powers are formed
  // exactly as update() forms them.
  template <class T>
  double sums(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    double h1 = 0.0, l1 = 0.0, h2 = 0.0, l2 = 0.0, h3 = 0.0, l3 = 0.0, h4 = 0.0, l4 = 0.0;
    double dmax = 0.0;
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double v = static_cast<double>(x[i * xs]);
      if (!is_finite(v)) continue;
      const double d = v * sc - K;
      const double d2 = d * d;
      comp_add(h1, l1, d);
      comp_add(h2, l2, d2);
      if constexpr (P >= 4) {
        comp_add(h3, l3, d2 * d);
        comp_add(h4, l4, d2 * d2);
      }
      dmax = std::fabs(d) > dmax ? std::fabs(d) : dmax;
    }
    S1 = h1 + l1;
    S2 = h2 + l2;
    S3 = h3 + l3;
    S4 = h4 + l4;
    return dmax;
  }

  // A value enters (sign = +1, one = 1) or leaves (-1, -1). NaNs are not counted. d and its
  // powers round the same way on entry and exit; each addition adds at most u |S| of error.
  HOTLOOP_INLINE void update(double v, double sign, std::ptrdiff_t one) noexcept {
    if (is_finite(v)) {
      const double d = v * sc - K;
      const double d2 = d * d;
      S1 += sign * d;
      E1 += kU * std::fabs(S1);
      S2 += sign * d2;
      E2 += kU * std::fabs(S2);
      if constexpr (P >= 4) {
        S3 += sign * (d2 * d);
        E3 += kU * std::fabs(S3);
        S4 += sign * (d2 * d2);
        E4 += kU * std::fabs(S4);
      }
      cnt += one;
      if (cnt == 0) S1 = S2 = S3 = S4 = E1 = E2 = E3 = E4 = 0.0;  // an empty window is exact
    } else if (v == v) {
      ninf += one;
    }
  }
};

// What depends on the count n of a window only, computed once per count.
struct Count {
  double c = 0.0, inv_c = 0.0, sqrt_c = 0.0;
  double skew = 0.0;                  // n sqrt(n - 1) / (n - 2)
  double kurt_a = 0.0, kurt_b = 0.0;  // kurt = kurt_a M4 / M2^2 - kurt_b
  double sem = 0.0;                   // 1 / ((n - ddof) n)

  Count() = default;
  Count(std::ptrdiff_t n, std::ptrdiff_t ddof) noexcept {
    c = static_cast<double>(n);
    inv_c = 1.0 / c;
    sqrt_c = std::sqrt(c);
    skew = c * std::sqrt(c - 1.0) / (c - 2.0);
    const double den = (c - 2.0) * (c - 3.0);
    kurt_a = (c * c - 1.0) * c / den;
    kurt_b = 3.0 * (c - 1.0) * (c - 1.0) / den;
    sem = 1.0 / ((c - static_cast<double>(ddof)) * c);
  }
};

// Upper bounds of sum |d| <= sqrt(n S2) and sum |d|^3 <= sqrt(S2 S4) (Cauchy-Schwarz), for the
// error bounds: exact square roots on the scalar path; in a tile, the arithmetic-geometric mean
// inequality sqrt(p q) <= (p l + q / l) / 2, true for any l > 0, with l fixed for the tile from
// its first window (tight while the sums stay near it), so that outputs need no square root.
struct AbsBounds {
  double h1 = 0.0, l1 = 1.0, il1 = 1.0;  // sum |d| <= h1 (S2 il1 + l1), h1 = sqrt(n) / 2
  double l3 = 1.0, il3 = 1.0;            // sum |d|^3 <= (S2 l3 + S4 il3) / 2

  AbsBounds() = default;
  AbsBounds(const Count& k, double S2, double S4) noexcept {
    h1 = 0.5 * k.sqrt_c;
    if (S2 > 0.0) {
      l1 = std::sqrt(S2);
      il1 = 1.0 / l1;
      if (S4 > 0.0) {
        l3 = std::sqrt(S4 / S2);
        il3 = 1.0 / l3;
      }
    }
  }
};

// The statistic S of a window of k.c finite values (at least 3 for skew, 4 for kurt, more than
// ddof for sem) from its sums, to r; returns whether the error test passes.
// TILE: for the vectorised tiles, with no clamp of M2 at 0 and no select after a division or a
// square root (GCC would move those into a branch, since they may trap, and the loop would not
// vectorise). They are not needed there: an output that passes the test has M2 >= 0, and one with
// M2 == 0 has every sum 0, so 0 / 0 gives its NaN; an output that fails is computed again. The
// tiles also bound sum |d| and sum |d|^3 through `b` (AbsBounds).
//
// The bounds (first order in u, with slack for the rest): |error of Sk| <= Dk, where
//   D1 = E1 + u sum |d|  (rounding of d: u |d| each),
//   D2 = E2 + 3u S2,  D3 = E3 + 5u sum |d|^3,  D4 = E4 + 7u S4
// (d rounds once, d^k k - 1 more times: (2k - 1) u |d|^k); then each moment's error is
// sum |dM/dSk| Dk, the second and higher order terms (in D1 D / n), and the rounding of its own
// formula.
template <RollingShape S, bool TILE>
HOTLOOP_INLINE bool shape_value(double S1, double S2, double S3, double S4, double E1, double E2,
                                double E3, double E4, const Count& k, const AbsBounds& b,
                                double& r) noexcept {
  const double a = S1 * k.inv_c;
  const double aa = std::fabs(a);
  const double M2 = S2 - a * S1;
  const double A1 = TILE ? b.h1 * (S2 * b.il1 + b.l1) : std::sqrt(k.c * S2);
  const double D1 = E1 + kU * A1;
  const double D2 = E2 + 3.0 * kU * S2;
  const double q1 = D1 * k.inv_c;  // second-order terms carry D1^2 / n
  const double err2 = D2 + 2.0 * aa * D1 + q1 * D1 + 2.0 * kU * std::fabs(a * S1);
  const bool ok2 = in_range(S1, S2) & (err2 <= kTol * M2);
  // A NaN M2 fails the test above (the caller then recomputes), so a plain clamp is enough.
  const double m2 = TILE ? M2 : (M2 > 0.0 ? M2 : 0.0);
  if constexpr (S == RollingShape::sem) {
    r = std::sqrt(m2 * k.sem);
    return ok2;
  } else {
    const double A3 = TILE ? 0.5 * (S2 * b.l3 + S4 * b.il3) : std::sqrt(S2 * S4);
    const double D3 = E3 + 5.0 * kU * A3;
    if constexpr (S == RollingShape::skew) {
      const double M3 = S3 - a * (3.0 * S2 - 2.0 * a * S1);
      // dM3/dS1 evaluated, not bounded term by term: its terms cancel (it is -3 M2 / n + 3 a^2).
      const double g1 = 6.0 * a * a - 3.0 * S2 * k.inv_c;
      const double err3 = D3 + 3.0 * aa * D2 + std::fabs(g1) * D1 +
                          (6.0 * aa * D1 + 3.0 * D2 + 2.0 * q1 * D1) * q1 +
                          4.0 * kU * (std::fabs(S3) + 3.0 * aa * S2 + 2.0 * a * a * std::fabs(S1));
      const double rt = std::sqrt(m2);
      // error(M3) <= tol max(|M3|, M2^1.5 / sqrt(n)): absolute error of skew <= ~2.5 tol
      // where |skew| is small, relative error where it is large.
      const bool ok3 = (err3 <= kTol * std::fabs(M3)) | (err3 * k.sqrt_c <= kTol * m2 * rt);
      const double g = k.skew * (M3 / (m2 * rt));
      r = TILE || m2 > 0.0 ? g : kNaN;
      return ok2 & ok3;
    } else {
      const double M4 = S4 - a * (4.0 * S3 - a * (6.0 * S2 - 3.0 * a * S1));
      // dM4/dS1 evaluated (it is -4 M3 / n - 4 a^3), then second and higher orders in D1.
      const double g1 = (12.0 * a * S2 - 4.0 * S3) * k.inv_c - 12.0 * a * a * a;
      const double err4 =
          E4 + 7.0 * kU * S4 + 4.0 * aa * D3 + 6.0 * a * a * D2 + std::fabs(g1) * D1 +
          (std::fabs(6.0 * S2 * k.inv_c - 18.0 * a * a) * D1 + 12.0 * aa * D2 + 4.0 * D3 +
           (12.0 * aa + 3.0 * q1) * q1 * D1) *
              q1 +
          5.0 * kU *
              (S4 + 4.0 * std::fabs(a * S3) + 6.0 * a * a * S2 + 3.0 * a * a * std::fabs(a * S1));
      const double g = k.kurt_a * (M4 / (m2 * m2)) - k.kurt_b;
      r = TILE || m2 > 0.0 ? g : kNaN;
      return ok2 & (err4 <= kTol * M4);
    }
  }
}

constexpr std::ptrdiff_t need_of(RollingShape s, std::ptrdiff_t ddof) noexcept {
  return s == RollingShape::skew ? 3 : s == RollingShape::kurt ? 4 : ddof + 1;
}

// One output on the scalar path: the statistic to r, false when the error test fails (the
// caller then recomputes the window and calls again, ignoring the answer). Outputs that are NaN
// whatever the sums hold pass without a test. `k` caches the constants of the last count seen.
template <RollingShape S, int P>
HOTLOOP_INLINE bool evaluate(const ShapeWindow<P>& w, std::ptrdiff_t min_periods,
                             std::ptrdiff_t ddof, Count& k, double& r) noexcept {
  if (w.cnt + w.ninf < min_periods || w.ninf > 0 || w.cnt < need_of(S, ddof)) {
    r = kNaN;
    return true;
  }
  if (k.c != static_cast<double>(w.cnt)) k = Count(w.cnt, ddof);
  const bool ok =
      shape_value<S, false>(w.S1, w.S2, w.S3, w.S4, w.E1, w.E2, w.E3, w.E4, k, AbsBounds(), r);
  if (S == RollingShape::sem && w.e != 0) r = std::ldexp(r, -w.e);
  return ok;
}

constexpr std::ptrdiff_t kTile = 128;
static_assert(kRollingTile % kTile == 0, "hotloop.dask reads to the end of a moments tile");
constexpr std::ptrdiff_t kRefreshWindow = 32;

// Vectorised tile over full windows of finite values at scale 1 (e == 0): outputs i0 <= i < i1.
// Returns how many outputs it wrote and committed to the window: all m = i1 - i0; or j < m when
// output i0 + j is the first to fail the error test (outputs before it passed a bound that holds
// for them too; the caller recomputes the window ending at i0 + j and goes on from there); or -1
// when a non-finite value enters (the caller reruns the tile scalar). The window is updated only
// when all m pass. The increments (d_in^k - d_out^k) are formed element-wise: d^k rounds as it
// does in update(), so only their subtraction (u |a| each) and the running sums (prefix_sums)
// add error, charged at the tile's end to every output of the tile. Tile outputs need not match
// the scalar path bit for bit, only be deterministic.
template <RollingShape S, int P, class T, bool CONTIG>
HOTLOOP_INLINE std::ptrdiff_t shape_tile(ShapeWindow<P>& w, const T* x, std::ptrdiff_t xs_,
                                         std::ptrdiff_t W, const Count& k, T* out,
                                         std::ptrdiff_t os_, std::ptrdiff_t i0,
                                         std::ptrdiff_t i1) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const std::ptrdiff_t m = i1 - i0;
  const double K = w.K;
  double a1[kTile], a2[kTile], a3[kTile], a4[kTile];
  double nonfinite = 0.0, abs1 = 0.0, abs2 = 0.0, abs3 = 0.0, abs4 = 0.0;
#pragma omp simd reduction(+ : nonfinite, abs1, abs2, abs3, abs4)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    const double xin = static_cast<double>(x[(i0 + j) * xs]);
    const double xout = static_cast<double>(x[(i0 + j - W) * xs]);
    const double din = xin - K, dout = xout - K;
    const double din2 = din * din, dout2 = dout * dout;
    a1[j] = din - dout;
    a2[j] = din2 - dout2;
    abs1 += std::fabs(a1[j]);
    abs2 += std::fabs(a2[j]);
    if constexpr (P >= 4) {
      a3[j] = din2 * din - dout2 * dout;
      a4[j] = din2 * din2 - dout2 * dout2;
      abs3 += std::fabs(a3[j]);
      abs4 += std::fabs(a4[j]);
    }
    nonfinite += is_finite(xin) ? 0.0 : 1.0;
  }
  if (nonfinite != 0.0) return -1;
  // Running sums (rolling_shifted.hpp), with the rounding of forming the increments: u |a|.
  double S1 = w.S1, S2 = w.S2, S3 = w.S3, S4 = w.S4;
  const double t1 = rolling_shifted::prefix_sums(a1, m, S1);
  const double t2 = rolling_shifted::prefix_sums(a2, m, S2);
  const double t3 = P >= 4 ? rolling_shifted::prefix_sums(a3, m, S3) : 0.0;
  const double t4 = P >= 4 ? rolling_shifted::prefix_sums(a4, m, S4) : 0.0;
  const double slack = 1.0 + 1e-6;  // the bound's own rounding
  const double E1 = w.E1 + kU * (7.0 * abs1 + 2.0 * t1) * slack;
  const double E2 = w.E2 + kU * (7.0 * abs2 + 2.0 * t2) * slack;
  const double E3 = P >= 4 ? w.E3 + kU * (7.0 * abs3 + 2.0 * t3) * slack : 0.0;
  const double E4 = P >= 4 ? w.E4 + kU * (7.0 * abs4 + 2.0 * t4) * slack : 0.0;
  const AbsBounds b(k, w.S2, w.S4);
  // A count of failures and a flag per output, as doubles (a narrower type would stop the loop
  // from vectorising).
  double fails = 0.0, bad[kTile];
#pragma omp simd reduction(+ : fails)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    double r;
    const double s3 = P >= 4 ? a3[j] : 0.0, s4 = P >= 4 ? a4[j] : 0.0;
    bad[j] = shape_value<S, true>(a1[j], a2[j], s3, s4, E1, E2, E3, E4, k, b, r) ? 0.0 : 1.0;
    fails += bad[j];
    out[(i0 + j) * os] = static_cast<T>(r);
  }
  if (fails != 0.0) {
    std::ptrdiff_t j = 0;
    while (bad[j] == 0.0) ++j;
    return j;
  }
  w.S1 = S1;
  w.S2 = S2;
  w.S3 = S3;
  w.S4 = S4;
  w.E1 = E1;
  w.E2 = E2;
  w.E3 = E3;
  w.E4 = E4;
  return m;
}

template <RollingShape S, int P, class T, bool CONTIG>
HOTLOOP_INLINE void shape_block(const T* x, std::ptrdiff_t xs_, std::ptrdiff_t W,
                                std::ptrdiff_t min_periods, std::ptrdiff_t ddof, T* out,
                                std::ptrdiff_t os_, std::ptrdiff_t begin,
                                std::ptrdiff_t end) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  // The block starts window - 1 values early with an exact summary of what precedes `begin`.
  const std::ptrdiff_t first = begin - W + 1 > 0 ? begin - W + 1 : 0;
  ShapeWindow<P> w;
  w.rebuild(x, xs, first, begin);
  const bool tiles = W >= need_of(S, ddof);
  const Count full(W, ddof);
  Count k;
  std::ptrdiff_t i = begin;
  while (i < end) {
    const std::ptrdiff_t tile_end = i + kTile < end ? i + kTile : end;
    // Tiles need a full window of finite values before they start. Short windows are recomputed
    // before each tile (a few values): their spread varies so much from one window to the next
    // that error bounds accumulated over many tiles would often exceed the tolerance of a window
    // of small spread, and each failure costs the rest of its tile.
    if (tiles && W <= kRefreshWindow && i - W >= first && w.cnt == W) w.rebuild(x, xs, i - W, i);
    if (tiles && i - W >= first && w.cnt == W && w.e == 0) {
      const std::ptrdiff_t done =
          shape_tile<S, P, T, CONTIG>(w, x, xs, W, full, out, os, i, tile_end);
      if (done >= 0) {
        i += done;
        if (i < tile_end) {  // output i failed the test: recompute its window
          w.rebuild(x, xs, i - W + 1, i + 1);
          double r;
          evaluate<S>(w, min_periods, ddof, k, r);
          out[i * os] = static_cast<T>(r);
          ++i;
        }
        continue;
      }
    }
    for (; i < tile_end; ++i) {
      w.update(static_cast<double>(x[i * xs]), 1.0, 1);
      if (i - W >= first) w.update(static_cast<double>(x[(i - W) * xs]), -1.0, -1);
      double r;
      if (!evaluate<S>(w, min_periods, ddof, k, r)) {
        w.rebuild(x, xs, i - W + 1 > 0 ? i - W + 1 : 0, i + 1);
        evaluate<S>(w, min_periods, ddof, k, r);
      }
      out[i * os] = static_cast<T>(r);
    }
  }
}

template <RollingShape S, int P, class T>
HOTLOOP_INLINE void shape_dispatch(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                                   std::ptrdiff_t mp, std::ptrdiff_t ddof, T* out,
                                   std::ptrdiff_t os, std::ptrdiff_t begin,
                                   std::ptrdiff_t end) noexcept {
  if (xs == 1 && os == 1) {
    shape_block<S, P, T, true>(x, 1, W, mp, ddof, out, 1, begin, end);
  } else {
    shape_block<S, P, T, false>(x, xs, W, mp, ddof, out, os, begin, end);
  }
}

}  // namespace

// Compiled once per instruction set (HOTLOOP_CLONES), for each float type.
template <class T>
HOTLOOP_CLONES void rolling_shape_block(const T* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                                        std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                                        RollingShape stat, T* out, std::ptrdiff_t out_stride,
                                        std::ptrdiff_t begin, std::ptrdiff_t end) noexcept {
  if (begin >= end) return;
  switch (stat) {
    case RollingShape::skew:
      return shape_dispatch<RollingShape::skew, 4>(x, x_stride, window, min_periods, ddof, out,
                                                   out_stride, begin, end);
    case RollingShape::kurt:
      return shape_dispatch<RollingShape::kurt, 4>(x, x_stride, window, min_periods, ddof, out,
                                                   out_stride, begin, end);
    case RollingShape::sem:
      return shape_dispatch<RollingShape::sem, 2>(x, x_stride, window, min_periods, ddof, out,
                                                  out_stride, begin, end);
  }
}

template <class T>
void rolling_shape_rows(const T* x, T* out, const RollingRows& rows, std::ptrdiff_t window,
                        std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingShape stat,
                        int n_threads) noexcept {
  // ~6 ns per output on one core (cxx/bench/rolling_benchmark). Every block restarts exactly,
  // so any schedule gives bit-identical output.
  for_each_rows_block(rows, rolling_block_size(window), window, 6.0, n_threads,
                      [&](std::ptrdiff_t r, std::ptrdiff_t begin, std::ptrdiff_t end) {
                        rolling_shape_block(x + rows.x_offsets[r], rows.x_stride, window,
                                            min_periods, ddof, stat, out + rows.out_offsets[r],
                                            rows.out_stride, begin, end);
                      });
}

#define HOTLOOP_ROLLING_SHAPE_ENTRY_POINTS(T)                                                    \
  template void rolling_shape_block<T>(const T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, \
                                       std::ptrdiff_t, RollingShape, T*, std::ptrdiff_t,         \
                                       std::ptrdiff_t, std::ptrdiff_t) noexcept;                 \
  template void rolling_shape_rows<T>(const T*, T*, const RollingRows&, std::ptrdiff_t,          \
                                      std::ptrdiff_t, std::ptrdiff_t, RollingShape, int) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_ROLLING_SHAPE_ENTRY_POINTS)

}  // namespace hotloop
