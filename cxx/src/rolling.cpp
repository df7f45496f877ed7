#include "hotloop/rolling.hpp"

#include <cmath>
#include <limits>

#include "hotloop/config.hpp"
#include "hotloop/detail/twosum.hpp"

namespace hotloop {
namespace {

using detail::comp_add;

constexpr double kU = 0x1p-53;  // unit roundoff of double
constexpr double kTol = kRollingTolerance;
constexpr double kMax = std::numeric_limits<double>::max();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::ptrdiff_t kTile = 128;

// False for NaN and +-inf; written as a comparison so that it vectorises.
HOTLOOP_INLINE bool is_finite(double v) noexcept { return std::fabs(v) <= kMax; }

HOTLOOP_INLINE double clamp_m2(double m2) noexcept { return m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2); }

// Summary of the current window: shifted sums, their rounding-error bounds, and counts.
struct Window {
  double K = 0.0;   // shift, close to the window mean after every rebuild
  double S1 = 0.0;  // sum(x - K) over finite values
  double S2 = 0.0;  // sum((x - K)^2) over finite values
  double E1 = 0.0;  // bound on the accumulated rounding error of S1 since the last rebuild
  double E2 = 0.0;  // same for S2
  std::ptrdiff_t cnt = 0, npos = 0, nneg = 0;  // finite values, +inf, -inf

  // Exact recomputation over x[lo..hi): a shifted, compensated two-pass.
  template <class T>
  void rebuild(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo, std::ptrdiff_t hi) noexcept {
    cnt = npos = nneg = 0;
    double K0 = 0.0, h = 0.0, l = 0.0;
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double v = static_cast<double>(x[i * xs]);
      if (is_finite(v)) {
        if (cnt++ == 0) K0 = v;
        comp_add(h, l, v - K0);
      } else if (v > 0) {
        ++npos;
      } else if (v < 0) {
        ++nneg;
      }
    }
    K = cnt > 0 ? K0 + (h + l) / static_cast<double>(cnt) : 0.0;
    double h1 = 0.0, l1 = 0.0, h2 = 0.0, l2 = 0.0;
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double v = static_cast<double>(x[i * xs]);
      if (is_finite(v)) {
        const double d = v - K;
        comp_add(h1, l1, d);
        comp_add(h2, l2, d * d);
      }
    }
    S1 = h1 + l1;
    S2 = h2 + l2;
    E1 = E2 = 0.0;
  }

  // A value enters (sign = +1) or leaves (sign = -1). NaNs are not counted.
  // x - K rounds the same way on entry and exit, so only the accumulation itself adds error.
  HOTLOOP_INLINE void update(double v, double sign, std::ptrdiff_t one) noexcept {
    if (is_finite(v)) {
      const double d = v - K;
      S1 += sign * d;
      E1 += kU * std::fabs(S1);
      S2 += sign * (d * d);
      E2 += kU * std::fabs(S2);
      cnt += one;
      if (cnt == 0) S1 = S2 = E1 = E2 = 0.0;  // an empty window sums to exactly 0
    } else if (v > 0) {
      npos += one;
    } else if (v < 0) {
      nneg += one;
    }
  }

  // Whether the sums still meet the accuracy target for this statistic.
  HOTLOOP_INLINE bool accurate(RollingStat stat) const noexcept {
    if (cnt == 0) return true;
    if (!(std::fabs(S2) <= kMax)) return false;  // overflowed or NaN: rebuild
    const double c = static_cast<double>(cnt);
    const double inv_c = 1.0 / c;
    const double m2 = S2 - S1 * (S1 * inv_c);
    return stat == RollingStat::mean
               ? within_bound<RollingStat::mean>(S1, S2, m2, c, inv_c, E1, E2, K)
               : within_bound<RollingStat::var>(S1, S2, m2, c, inv_c, E1, E2, K);
  }

  // The bound test, shared with the vectorised tiles. The error of M2, from the accumulated
  // errors, the cancellation in S2 - S1^2/c and the rounding of x - K, must stay below
  // kTol * M2. The mean also needs its absolute error below kTol * sqrt(mean^2 + var), i.e.
  // about kTol * (|mean| + std) with var = M2 / c.
  // The mean keeps the M2 test too: a window of equal values then fails it after noisy values
  // have passed, is rebuilt with K equal to that value, and its mean is that value exactly.
  // inv_c is 1 / c.
  template <RollingStat S>
  static HOTLOOP_INLINE bool within_bound(double s1, double s2, double m2, double c, double inv_c,
                                          double e1, double e2, double K) noexcept {
    const bool m2_ok = e2 + 2.0 * std::fabs(s1) * (e1 * inv_c) + 8.0 * kU * s2 <= kTol * m2;
    if constexpr (S == RollingStat::mean) {
      const double t = K * c + s1;
      const double spread = c * (m2 > 0.0 ? m2 : 0.0);
      return m2_ok && e1 * e1 <= kTol * kTol * (t * t + spread);
    } else {
      return m2_ok;
    }
  }

  HOTLOOP_INLINE double value(RollingStat stat, std::ptrdiff_t min_periods,
                              std::ptrdiff_t ddof) const noexcept {
    const std::ptrdiff_t nobs = cnt + npos + nneg;
    if (nobs == 0 || nobs < min_periods) return kNaN;
    if (stat == RollingStat::mean) {
      if (npos > 0 && nneg > 0) return kNaN;
      if (npos > 0) return kInf;
      if (nneg > 0) return -kInf;
      return K + S1 / static_cast<double>(cnt);
    }
    if (npos > 0 || nneg > 0 || cnt <= ddof) return kNaN;
    const double m2 = clamp_m2(S2 - S1 * (S1 / static_cast<double>(cnt)));
    const double var = m2 / static_cast<double>(cnt - ddof);
    return stat == RollingStat::std ? std::sqrt(var) : var;
  }
};

// Vectorised tile over full, finite windows: outputs i0 <= i < i1. Returns false, leaving the
// window untouched, when a non-finite value enters or an output fails the bound test; the caller
// then runs the tile scalar.
template <class T, bool CONTIG, RollingStat S>
HOTLOOP_INLINE bool fast_tile(Window& w, const T* x, std::ptrdiff_t xs_, std::ptrdiff_t W,
                              std::ptrdiff_t ddof, T* out, std::ptrdiff_t os_, std::ptrdiff_t i0,
                              std::ptrdiff_t i1) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const std::ptrdiff_t m = i1 - i0;
  const double K = w.K;
  double a1[kTile], a2[kTile], s1[kTile], s2[kTile], res[kTile];

  // Element-wise: what each step adds to S1 and S2. din^2 and dout^2 round identically when a
  // value enters and when it leaves, so only the subtraction's rounding (<= u|a|) is new error.
  double nonfinite = 0.0;
#pragma omp simd reduction(+ : nonfinite)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    const double xin = static_cast<double>(x[(i0 + j) * xs]);
    const double xout = static_cast<double>(x[(i0 + j - W) * xs]);
    const double din = xin - K, dout = xout - K;
    a1[j] = din - dout;
    a2[j] = din * din - dout * dout;
    nonfinite += is_finite(xin) ? 0.0 : 1.0;
  }
  if (nonfinite != 0.0) return false;

  // The running sums: the only sequential part. Four steps at a time, so the loop-carried chain
  // is one addition per four outputs; the partial sums inside a group round at most three more
  // times, which the bound below charges as 4u|a| per step.
  double S1 = w.S1, S2 = w.S2;
  std::ptrdiff_t j = 0;
  for (; j + 4 <= m; j += 4) {
    const double p1 = a1[j] + a1[j + 1], q1 = a1[j + 2] + a1[j + 3];
    const double p2 = a2[j] + a2[j + 1], q2 = a2[j + 2] + a2[j + 3];
    s1[j] = S1 + a1[j];
    s1[j + 1] = S1 + p1;
    s1[j + 2] = S1 + (p1 + a1[j + 2]);
    s2[j] = S2 + a2[j];
    s2[j + 1] = S2 + p2;
    s2[j + 2] = S2 + (p2 + a2[j + 2]);
    S1 += p1 + q1;
    S2 += p2 + q2;
    s1[j + 3] = S1;
    s2[j + 3] = S2;
  }
  for (; j < m; ++j) {
    S1 += a1[j];
    S2 += a2[j];
    s1[j] = S1;
    s2[j] = S2;
  }

  // Error bounds at the end of the tile; used for every output of the tile (conservative).
  double g1 = 0.0, g2 = 0.0;
#pragma omp simd reduction(+ : g1, g2)
  for (j = 0; j < m; ++j) {
    g1 += 4.0 * std::fabs(a1[j]) + std::fabs(s1[j]);
    g2 += 4.0 * std::fabs(a2[j]) + std::fabs(s2[j]);
  }
  const double E1 = w.E1 + kU * g1 * 1.0000001, E2 = w.E2 + kU * g2 * 1.0000001;

  // Reciprocals instead of divisions: the tile's outputs are not required to match the scalar
  // path bit for bit, only to be deterministic, and division does not vectorise cheaply.
  const double c = static_cast<double>(W);
  const double inv_c = 1.0 / c;
  const double inv_dof = 1.0 / static_cast<double>(W - ddof);
  double fails = 0.0;
#pragma omp simd reduction(+ : fails)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    const double m2 = s2[j] - s1[j] * (s1[j] * inv_c);
    const bool ok =
        std::fabs(s2[j]) <= kMax && Window::within_bound<S>(s1[j], s2[j], m2, c, inv_c, E1, E2, K);
    fails += ok ? 0.0 : 1.0;
    if constexpr (S == RollingStat::mean) {
      res[j] = K + s1[j] * inv_c;
    } else if constexpr (S == RollingStat::var) {
      res[j] = clamp_m2(m2) * inv_dof;
    } else {
      res[j] = std::sqrt(clamp_m2(m2) * inv_dof);
    }
  }
  if (fails != 0.0) return false;

  for (std::ptrdiff_t j = 0; j < m; ++j) out[(i0 + j) * os] = static_cast<T>(res[j]);
  w.S1 = S1;
  w.S2 = S2;
  w.E1 = E1;
  w.E2 = E2;
  return true;
}

template <class T, bool CONTIG, RollingStat S>
HOTLOOP_INLINE void block_impl(const T* x, std::ptrdiff_t xs_, std::ptrdiff_t W,
                               std::ptrdiff_t min_periods, std::ptrdiff_t ddof, T* out,
                               std::ptrdiff_t os_, std::ptrdiff_t begin,
                               std::ptrdiff_t end) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  constexpr RollingStat stat = S;
  // The block starts window - 1 values early with an exact summary of what precedes `begin`.
  const std::ptrdiff_t first = begin - W + 1 > 0 ? begin - W + 1 : 0;
  Window w;
  w.rebuild(x, xs, first, begin);
  std::ptrdiff_t i = begin;
  while (i < end) {
    const std::ptrdiff_t tile_end = i + kTile < end ? i + kTile : end;
    // Fast tiles need a full window of finite values before the tile starts.
    if (i - W >= first && w.cnt == W &&
        fast_tile<T, CONTIG, S>(w, x, xs, W, ddof, out, os, i, tile_end)) {
      i = tile_end;
      continue;
    }
    for (; i < tile_end; ++i) {
      w.update(static_cast<double>(x[i * xs]), 1.0, 1);
      if (i - W >= first) w.update(static_cast<double>(x[(i - W) * xs]), -1.0, -1);
      if (!w.accurate(stat)) w.rebuild(x, xs, i - W + 1 > 0 ? i - W + 1 : 0, i + 1);
      out[i * os] = static_cast<T>(w.value(stat, min_periods, ddof));
    }
  }
}

template <class T>
HOTLOOP_INLINE void block_dispatch(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                                   std::ptrdiff_t mp, std::ptrdiff_t ddof, RollingStat stat, T* out,
                                   std::ptrdiff_t os, std::ptrdiff_t begin,
                                   std::ptrdiff_t end) noexcept {
  if (begin >= end) return;
  const bool contig = xs == 1 && os == 1;
  switch (stat) {
    case RollingStat::mean:
      return contig
                 ? block_impl<T, true, RollingStat::mean>(x, 1, W, mp, ddof, out, 1, begin, end)
                 : block_impl<T, false, RollingStat::mean>(x, xs, W, mp, ddof, out, os, begin, end);
    case RollingStat::var:
      return contig
                 ? block_impl<T, true, RollingStat::var>(x, 1, W, mp, ddof, out, 1, begin, end)
                 : block_impl<T, false, RollingStat::var>(x, xs, W, mp, ddof, out, os, begin, end);
    case RollingStat::std:
      return contig
                 ? block_impl<T, true, RollingStat::std>(x, 1, W, mp, ddof, out, 1, begin, end)
                 : block_impl<T, false, RollingStat::std>(x, xs, W, mp, ddof, out, os, begin, end);
  }
}

HOTLOOP_CLONES void block_f64(const double* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                              std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                              double* out, std::ptrdiff_t os, std::ptrdiff_t begin,
                              std::ptrdiff_t end) noexcept {
  block_dispatch(x, xs, W, min_periods, ddof, stat, out, os, begin, end);
}

HOTLOOP_CLONES void block_f32(const float* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                              std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                              float* out, std::ptrdiff_t os, std::ptrdiff_t begin,
                              std::ptrdiff_t end) noexcept {
  block_dispatch(x, xs, W, min_periods, ddof, stat, out, os, begin, end);
}

}  // namespace

void rolling_moments_block(const double* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                           std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                           double* out, std::ptrdiff_t out_stride, std::ptrdiff_t begin,
                           std::ptrdiff_t end) noexcept {
  block_f64(x, x_stride, window, min_periods, ddof, stat, out, out_stride, begin, end);
}

void rolling_moments_block(const float* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                           std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                           float* out, std::ptrdiff_t out_stride, std::ptrdiff_t begin,
                           std::ptrdiff_t end) noexcept {
  block_f32(x, x_stride, window, min_periods, ddof, stat, out, out_stride, begin, end);
}

}  // namespace hotloop
