#include "hotloop/moments.hpp"

#include <cmath>
#include <limits>

#include "hotloop/detail/float_types.hpp"
#include "hotloop/detail/twosum.hpp"

namespace hotloop {
namespace {

using detail::comp_add;
using detail::dd_add;
using detail::two_sum;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Independent accumulators: enough to hide the add latency and to fill an AVX-512 register.
constexpr int kLanes = 8;

// Compensated total of the lane accumulators, as an unevaluated sum h + l. When h is not finite
// the lo parts hold inf - inf garbage and l is 0, so h is +inf, -inf or NaN as plain summation
// gives.
HOTLOOP_INLINE void lanes_total(const double* hi, const double* lo, double& h, double& l) noexcept {
  h = 0.0;
  l = 0.0;
  for (int k = 0; k < kLanes; ++k) {
    comp_add(h, l, hi[k]);
    l += lo[k];
  }
  if (!std::isfinite(h)) l = 0.0;
}

HOTLOOP_INLINE double lanes_total(const double* hi, const double* lo) noexcept {
  double h, l;
  lanes_total(hi, lo, h, l);
  return h + l;
}

// Adds v - K to the compensated accumulator (hi, lo) exactly: the rounding error of the
// difference itself goes into lo as well, so even sums that cancel heavily stay accurate.
HOTLOOP_INLINE void add_difference(double& hi, double& lo, double v, double K) noexcept {
  double d, e;
  two_sum(v, -K, d, e);
  comp_add(hi, lo, d);
  lo += e;
}

// Pass 1: sum(x - K) and the number of values used.
// CONTIG fixes the stride to 1 at compile time so the lanes become vector loads.
// EXACT: keep every rounding error (for the mean itself); without it a plain sum, enough for the
// centre of pass 2, which corrects for any offset of its centre.
template <class T, bool SKIPNA, bool CONTIG, bool EXACT>
HOTLOOP_INLINE void shifted_sum(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, double K,
                                double& sum_hi, double& sum_lo, double& count) noexcept {
  const std::ptrdiff_t s = CONTIG ? 1 : stride;
  double hi[kLanes] = {}, lo[kLanes] = {}, cnt[kLanes] = {};
  std::ptrdiff_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const double v = static_cast<double>(x[(i + k) * s]);
      if constexpr (SKIPNA) {
        const bool ok = v == v;
        if constexpr (EXACT) {
          add_difference(hi[k], lo[k], ok ? v : K, K);
        } else {
          hi[k] += ok ? v - K : 0.0;
        }
        cnt[k] += ok ? 1.0 : 0.0;
      } else if constexpr (EXACT) {
        add_difference(hi[k], lo[k], v, K);
      } else {
        hi[k] += v - K;
      }
    }
  }
  for (; i < n; ++i) {
    const double v = static_cast<double>(x[i * s]);
    if (!SKIPNA || v == v) {
      if constexpr (EXACT) {
        add_difference(hi[0], lo[0], v, K);
      } else {
        hi[0] += v - K;
      }
      cnt[0] += 1.0;
    }
  }
  lanes_total(hi, lo, sum_hi, sum_lo);
  if constexpr (SKIPNA) {
    count = 0.0;
    for (int k = 0; k < kLanes; ++k) count += cnt[k];
  } else {
    count = static_cast<double>(n);
  }
}

// Pass 2: sum(x - m) and sum((x - m)^2). d = fl(x - m) and its rounding error e are both kept:
// sum(x - m) = sum(d + e) and (x - m)^2 = d^2 + 2de + e^2, of which e^2 is negligible.
template <class T, bool SKIPNA, bool CONTIG>
HOTLOOP_INLINE void centred_sums(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, double m,
                                 double& s1, double& s2) noexcept {
  const std::ptrdiff_t s = CONTIG ? 1 : stride;
  double h1[kLanes] = {}, l1[kLanes] = {}, h2[kLanes] = {}, l2[kLanes] = {};
  std::ptrdiff_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      double v = static_cast<double>(x[(i + k) * s]);
      if constexpr (SKIPNA) v = v == v ? v : m;
      double d, e;
      two_sum(v, -m, d, e);
      comp_add(h1[k], l1[k], d);
      l1[k] += e;
      comp_add(h2[k], l2[k], d * d);
      l2[k] += 2.0 * d * e;
    }
  }
  for (; i < n; ++i) {
    const double v = static_cast<double>(x[i * s]);
    if (!SKIPNA || v == v) {
      double d, e;
      two_sum(v, -m, d, e);
      comp_add(h1[0], l1[0], d);
      l1[0] += e;
      comp_add(h2[0], l2[0], d * d);
      l2[0] += 2.0 * d * e;
    }
  }
  s1 = lanes_total(h1, l1);
  s2 = lanes_total(h2, l2);
}

// r.mean_lo: sum(x - mean) / n, the part of the mean below its rounding, so that
// mean + mean_lo is the mean to about u^2 (0 when it is not computed).
template <class T, bool SKIPNA, bool CONTIG>
HOTLOOP_INLINE Moments two_pass(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, double K,
                                bool need_m2) noexcept {
  double sum_hi, sum_lo, count;
  if (need_m2) {
    shifted_sum<T, SKIPNA, CONTIG, false>(x, n, stride, K, sum_hi, sum_lo, count);
  } else {
    shifted_sum<T, SKIPNA, CONTIG, true>(x, n, stride, K, sum_hi, sum_lo, count);
  }
  Moments r{static_cast<std::int64_t>(count), kNaN, kNaN, 0.0};
  if (r.count == 0) return r;
  if (!need_m2) {
    r.mean = detail::shifted_quotient(K, sum_hi, sum_lo, count);
    r.m2 = 0.0;
    return r;
  }
  // Pass 2 only needs a centre near the mean (its sums correct for the offset), so a plain sum
  // and quotient serve; the mean is then refined from sum(x - m0), exactly as double-double.
  const double m0 = K + (sum_hi + sum_lo) / count;
  r.mean = m0;
  if (!std::isfinite(m0)) return r;  // inf or NaN in the data: the variance is NaN.
  double s1, s2;
  centred_sums<T, SKIPNA, CONTIG>(x, n, stride, m0, s1, s2);
  two_sum(m0, s1 / count, r.mean, r.mean_lo);
  const double m2 = s2 - s1 * (s1 / count);
  r.m2 = m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2);
  return r;
}

}  // namespace

// Compiled once per instruction set (HOTLOOP_CLONES), for each float type (the list at the end).
template <class T>
HOTLOOP_CLONES Moments moments(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna,
                               bool need_m2) noexcept {
  // The shift: the first finite value. Equal values then sum to exactly 0 in pass 1.
  double K = 0.0;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(x[i * stride]);
    if (std::isfinite(v)) {
      K = v;
      break;
    }
  }
  if (stride == 1) {
    return skipna ? two_pass<T, true, true>(x, n, 1, K, need_m2)
                  : two_pass<T, false, true>(x, n, 1, K, need_m2);
  }
  return skipna ? two_pass<T, true, false>(x, n, stride, K, need_m2)
                : two_pass<T, false, false>(x, n, stride, K, need_m2);
}

// ---------------------------------------------------------------------------------------------
// RunningStats

void RunningStats::merge_finite(std::int64_t nb, double mean_b_hi, double mean_b_lo, double m2_b_hi,
                                double m2_b_lo) noexcept {
  if (nb == 0) return;
  if (n_finite_ == 0) {
    n_finite_ = nb;
    mean_hi_ = mean_b_hi;
    mean_lo_ = mean_b_lo;
    m2_hi_ = m2_b_hi;
    m2_lo_ = m2_b_lo;
    return;
  }
  // Chan, Golub & LeVeque's pairwise update, with the means and M2 kept as double-doubles:
  //   delta = mean_b - mean_a;  mean += delta * nb / n;  M2 += M2_b + delta^2 * na * nb / n.
  const double na = static_cast<double>(n_finite_);
  const double n = na + static_cast<double>(nb);
  double s, e;
  two_sum(mean_b_hi, -mean_hi_, s, e);
  const double delta = s + (e + (mean_b_lo - mean_lo_));
  const double wb = static_cast<double>(nb) / n;
  dd_add(mean_hi_, mean_lo_, delta * wb);
  dd_add(m2_hi_, m2_lo_, m2_b_hi);
  dd_add(m2_hi_, m2_lo_, m2_b_lo);
  dd_add(m2_hi_, m2_lo_, delta * delta * (na * wb));
  n_finite_ += nb;
}

void RunningStats::push(double x) noexcept {
  if (std::isfinite(x)) {
    merge_finite(1, x, 0.0, 0.0, 0.0);
  } else if (x != x) {
    if (!skipna_) ++n_nan_;
  } else if (x > 0) {
    ++n_posinf_;
  } else {
    ++n_neginf_;
  }
}

template <class T>
void RunningStats::extend(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride) noexcept {
  // One accurate two-pass over the batch, then one merge. Batches holding infinities (or whose
  // values overflow) go value by value so that the non-finite counts stay right.
  // The batch mean goes in as a double-double: merging a mean rounded to double moves M2 by
  // about 2 * |delta| * ulp(mean) * nb per batch (delta: batch mean - running mean), which at an
  // offset of 1e9 cost ~1e-11 relative error after a few hundred batches (push(): ~1e-16).
  // Most batches hold finite values only: try the plain two-pass first (the NaN-skipping one
  // is 2-4x slower) and fall back to it when a NaN showed up.
  Moments r = moments(x, n, stride, /*skipna=*/false, /*need_m2=*/true);
  if (!(std::isfinite(r.mean) && std::isfinite(r.m2))) {
    r = moments(x, n, stride, /*skipna=*/true, /*need_m2=*/true);
  }
  if (r.count == 0 || (std::isfinite(r.mean) && std::isfinite(r.m2))) {
    if (!skipna_) n_nan_ += n - r.count;
    merge_finite(r.count, r.mean, r.mean_lo, r.m2, 0.0);
    return;
  }
  for (std::ptrdiff_t i = 0; i < n; ++i) push(static_cast<double>(x[i * stride]));
}

void RunningStats::merge(const RunningStats& o) noexcept {
  n_nan_ += o.n_nan_;
  n_posinf_ += o.n_posinf_;
  n_neginf_ += o.n_neginf_;
  merge_finite(o.n_finite_, o.mean_hi_, o.mean_lo_, o.m2_hi_, o.m2_lo_);
}

double RunningStats::mean() const noexcept {
  const double inf = std::numeric_limits<double>::infinity();
  if (n_nan_ > 0 || (n_posinf_ > 0 && n_neginf_ > 0)) return kNaN;
  if (n_posinf_ > 0) return inf;
  if (n_neginf_ > 0) return -inf;
  if (n_finite_ == 0) return kNaN;
  return mean_hi_ + mean_lo_;
}

double RunningStats::m2() const noexcept {
  if (n_nan_ + n_posinf_ + n_neginf_ > 0 || n_finite_ == 0) return kNaN;
  const double m2 = m2_hi_ + m2_lo_;
  return m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2);
}

double RunningStats::var(std::int64_t ddof) const noexcept {
  const std::int64_t n = count();
  if (n <= ddof) return kNaN;
  return m2() / static_cast<double>(n - ddof);
}

double RunningStats::std(std::int64_t ddof) const noexcept { return std::sqrt(var(ddof)); }

RunningStats::State RunningStats::state() const noexcept {
  return State{skipna_,  n_finite_, n_nan_, n_posinf_, n_neginf_,
               mean_hi_, mean_lo_,  m2_hi_, m2_lo_};
}

RunningStats RunningStats::from_state(const State& s) noexcept {
  RunningStats r(s.skipna);
  r.n_finite_ = s.n_finite;
  r.n_nan_ = s.n_nan;
  r.n_posinf_ = s.n_posinf;
  r.n_neginf_ = s.n_neginf;
  r.mean_hi_ = s.mean_hi;
  r.mean_lo_ = s.mean_lo;
  r.m2_hi_ = s.m2_hi;
  r.m2_lo_ = s.m2_lo;
  return r;
}

// The entry points, for each float type.
#define HOTLOOP_MOMENTS_ENTRY_POINTS(T)                                                       \
  template Moments moments<T>(const T*, std::ptrdiff_t, std::ptrdiff_t, bool, bool) noexcept; \
  template void RunningStats::extend<T>(const T*, std::ptrdiff_t, std::ptrdiff_t) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_MOMENTS_ENTRY_POINTS)

}  // namespace hotloop
