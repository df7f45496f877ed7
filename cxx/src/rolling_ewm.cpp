// Exponentially weighted statistics (rolling.hpp, last section): the scalar recurrences for
// every case, and a vectorised path for the steady state.
#include <cmath>
#include <cstring>
#include <limits>

#include "hotloop/detail/float_types.hpp"
#include "hotloop/detail/simd.hpp"
#include "hotloop/detail/twosum.hpp"
#include "hotloop/rolling.hpp"
#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

using detail::broadcast;
using detail::eight_wide;
using detail::two_prod;
using detail::two_sum;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMax = std::numeric_limits<double>::max();
// Below this, a deficit counts as zero: it changes the weights by less than 2^-60 relative.
constexpr double kSnap = 0x1p-60;

HOTLOOP_INLINE bool is_finite(double v) noexcept { return std::fabs(v) <= kMax; }

// What a statistic keeps: the mean only; one variance; two means and variances and the
// covariance (cov keeps the variances too: they tell when to re-centre).
enum Kind : int { kMean = 0, kVar = 1, kPair = 2 };

constexpr Kind kind_of(EwmStat s) noexcept {
  return s == EwmStat::var || s == EwmStat::std    ? kVar
         : s == EwmStat::cov || s == EwmStat::corr ? kPair
                                                   : kMean;
}

// Constants of a constant alpha. r_inf = 1 - f (exact: Sterbenz, f >= 1/2) is a new value's
// share r = nw / W once W has reached its limit W_inf = nw / r_inf. adjust=true: new weight
// nw = 1, W grows from 1 (the first observation) to W_inf. adjust=false: pandas' recurrence
// y = (f^k y' + alpha x) / (f^k + alpha), k the steps since the last observation, i.e. W is
// renormalised to 1 after each observation; alpha is taken as r_inf there (they differ by at
// most 2^-54, the rounding of f) so that the steady state has r = r_inf and lam = f exactly.
struct Decay {
  double f = 0.0, nw = 1.0, r_inf = 1.0, w_inf = 1.0;
  double g0 = 0.0;            // the deficit G = 1 - W / W_inf after the first observation (W = 1)
  double u_inf = 0.0;         // the limit of U = 1 - sum(w^2) / W^2: 2 f / (1 + f)
  double weight_per_w = 0.0;  // numbagg's weight / W: alpha
  double nw_vary = 1.0;       // the new weight of the plain recurrences (VARY)
  bool renormalise = false;   // adjust=false: W = 1 after every observation

  explicit Decay(const EwmParams& p) noexcept {
    f = 1.0 - p.alpha;
    r_inf = 1.0 - f;
    renormalise = !p.adjust && !p.numbagg;
    nw = renormalise ? r_inf : 1.0;
    w_inf = r_inf > 0.0 ? nw / r_inf : kInf;
    g0 = r_inf > 0.0 ? (nw - r_inf) / nw : 0.0;
    u_inf = 2.0 * f / (1.0 + f);
    weight_per_w = p.alpha;
    nw_vary = renormalise ? p.alpha : 1.0;
  }
};

// Per-series state. Means are of x - kx (y - ky), c* are the normalised weighted sums of
// products of deviations (the biased variances and covariance).
struct State {
  double kx = 0.0, mx = 0.0, cxx = 0.0;
  double ky = 0.0, my = 0.0, cyy = 0.0, cxy = 0.0;
  double g_hi = 0.0, g_lo = 0.0;  // constant alpha: G = 1 - W / W_inf, double-double
  double w = 0.0;                 // per-position alphas: W itself
  double weight = 0.0;            // per-position alphas: numbagg's weight
  // U = 1 - sum(w^2) / W^2, held as U itself while below u_inf / 2 (u_direct), else as
  // U - u_inf (which then reaches 0 exactly instead of stagnating near it).
  double u = 0.0;
  bool u_direct = true;
  bool started = false;
  // numbagg: infinities are values. pinf/ninf: the mean holds +inf/-inf; poison_var: the
  // variances are NaN from now on; poison_mean: the mean too (inf times a decay of 0).
  bool pinf = false, ninf = false, poison_var = false, poison_mean = false;
  std::ptrdiff_t nobs = 0;
};

// The bias denominator U after an observation of share r (old weights scaled by lam = 1 - r).
// Exact identity: U' = lam (2 r + lam U) = U + r (2 lam - (1 + lam) U). The second form is used
// for r < 1/2 (lam = fl(1 - r) then carries an error far above r's: the first form would turn it
// into an error of U relative to r); the first for r >= 1/2, where lam = 1 - r is exact.
HOTLOOP_INLINE double next_u(double u, double r, double lam) noexcept {
  return r < 0.5 ? u + r * (2.0 * lam - (1.0 + lam) * u) : lam * (2.0 * r + lam * u);
}

// The same for a constant alpha, in the representation of State::u. g is the deficit after the
// observation: r = r_inf / (1 - g), and U - u_inf evolves as
//   e' = lam^2 e + 2 r (lam - f) / (1 + f),   lam - f = -r_inf g / (1 - g),
// two terms of one sign: no cancellation, and e -> 0 exactly once g = 0.
HOTLOOP_INLINE void push_u(State& s, const Decay& d, double r, double lam, double g) noexcept {
  if (s.u_direct) {
    const double u = next_u(s.u, r, lam);
    if (u >= 0.5 * d.u_inf) {
      s.u_direct = false;
      s.u = u - d.u_inf;  // exact (Sterbenz)
    } else {
      s.u = u;
    }
  } else if (r < 0.5) {
    s.u = lam * lam * s.u - 2.0 * r * d.r_inf * g / ((1.0 - g) * (1.0 + d.f));
    if (std::fabs(s.u) <= kSnap * d.u_inf) s.u = 0.0;
  } else {
    // A share above 1/2 (after a long gap): U falls; recompute it directly.
    const double u = lam * (2.0 * r + lam * (d.u_inf + s.u));
    if (u < 0.5 * d.u_inf) {
      s.u_direct = true;
      s.u = u;
    } else {
      s.u = u - d.u_inf;
    }
  }
}

HOTLOOP_INLINE double u_value(const State& s, const Decay& d, bool vary) noexcept {
  return vary || s.u_direct ? s.u : d.u_inf + s.u;
}

// c' = (1 - r) (c + r q1 q2): as c + r (lam q1 q2 - c) for r < 1/2 (lam's rounding then touches
// the new term only; no gain error), as lam (c + r q1 q2) with the exact lam = 1 - r otherwise
// (no cancellation of c against r c).
HOTLOOP_INLINE void push_c(double& c, double q1, double q2, double r, double lam) noexcept {
  if (r < 0.5) {
    c += r * (lam * (q1 * q2) - c);
  } else {
    c = lam * (c + r * (q1 * q2));
  }
}

// Re-centring: k + m is split exactly into k' + m' (TwoSum) with k' the mean, so nothing
// changes but the rounding of later x - k, which is exact again near k'. For the variances when
// the mean has drifted more than four standard deviations from k (c: the variance; a NaN c
// never re-centres); for the mean alone, which keeps no variance, when k is large against both
// the mean and q, the latest deviation (the mean's rounding is relative to |k|). Neither fires
// again and again while the mean hovers around 0.
HOTLOOP_INLINE void shift_to_mean(double& k, double& m) noexcept {
  double s, e;
  two_sum(k, m, s, e);
  k = s;
  m = e;
}

HOTLOOP_INLINE void recentre(double& k, double& m, double c) noexcept {
  if (m * m > 16.0 * c) shift_to_mean(k, m);
}

HOTLOOP_INLINE void recentre_mean(double& k, double& m, double q) noexcept {
  if (std::fabs(k) > 2.0 * std::fabs(k + m) + 4.0 * std::fabs(q)) shift_to_mean(k, m);
}

// The shift moved onto the value v: k + m = v + m' (m' rounded once).
HOTLOOP_INLINE void rebase(double& k, double& m, double v) noexcept {
  double s, e;
  two_sum(k, -v, s, e);
  m = s + (e + m);
  k = v;
}

// The deficit after one more decayed step and a new value: G -> f G (double-double, so that
// its relative error stays a few eps however many steps it takes to reach 0).
HOTLOOP_INLINE void deficit_observe(State& s, const Decay& d) noexcept {
  double p, pe;
  two_prod(d.f, s.g_hi, p, pe);
  const double lo = d.f * s.g_lo + pe;
  const double hi = p + lo;
  s.g_lo = lo - (hi - p);
  s.g_hi = hi;
  if (std::fabs(s.g_hi) <= kSnap) s.g_hi = s.g_lo = 0.0;
}

// A decayed step without a value (a NaN, ignore_na=false): W -> f W, i.e. G -> G + r_inf (1 - G).
HOTLOOP_INLINE void deficit_decay(State& s, const Decay& d) noexcept {
  const double t = d.r_inf * ((1.0 - s.g_hi) - s.g_lo);
  double hi, e;
  two_sum(s.g_hi, t, hi, e);
  const double lo = s.g_lo + e;
  s.g_hi = hi + lo;
  s.g_lo = lo - (s.g_hi - hi);
}

template <Kind KIND>
struct Row {
  const EwmParams& p;
  const Decay& d;
  EwmStat stat;
  bool need_u;
  std::ptrdiff_t minp;

  // One position: x (and y), alpha's decay f (per-position alphas: VARY). Returns the output.
  template <bool VARY, bool NUMBAGG>
  HOTLOOP_INLINE double step(State& s, double x, double y, double f_vary,
                             double alpha_vary) const noexcept {
    const bool present = KIND == kPair ? !(x != x || y != y) : x == x;
    const bool finite = KIND == kPair ? is_finite(x) && is_finite(y) : is_finite(x);
    // pandas drops infinities like NaNs; numbagg keeps them as values.
    const bool obs = NUMBAGG ? present : finite;
    if (VARY) {
      // numbagg's recurrences (every step decays, before the first observation too).
      const double w_old = f_vary * s.w;
      if (NUMBAGG) {
        if (f_vary == 0.0 && (s.pinf || s.ninf)) s.poison_mean = true;
        s.weight = s.weight * f_vary + (obs ? alpha_vary : 0.0);
      }
      s.w = w_old;
      if (obs) {
        s.w = s.started ? w_old + d.nw_vary : 1.0;  // the first observation weighs 1
        s.nobs += 1;
        const double r = s.started ? d.nw_vary / s.w : 1.0;
        // lam = 1 - r, exact when r >= 1/2 -- but not accurate then when r is near 1 (after a
        // long gap): there the old weight's own share.
        const double lam = r < 0.5 ? 1.0 - r : w_old / s.w;
        if (d.renormalise) s.w = 1.0;
        if (!finite) {
          mark_infinite(s, x);
        } else {
          if (!s.started) start(s, x, y);
          add(s, x, y, r, lam);
        }
        if (need_u) s.u = next_u(s.u, r, lam);
      }
    } else if (!s.started) {
      if (obs) {
        s.started = true;
        s.nobs = 1;
        s.g_hi = d.g0;
        s.g_lo = 0.0;
        if (std::fabs(s.g_hi) <= kSnap) s.g_hi = 0.0;
        s.u = 0.0;
        s.u_direct = true;
        if (need_u) push_u(s, d, 1.0, 0.0, 0.0);  // U = 0 in its representation
        if (finite) {
          start(s, x, y);
        } else {
          mark_infinite(s, x);
        }
      }
    } else if (obs) {
      if (NUMBAGG && d.f == 0.0 && (s.pinf || s.ninf)) s.poison_mean = true;
      // h = W / W_inf before and after the new value: r = r_inf / h, lam = f h_pre / h.
      const double h_pre = (1.0 - s.g_hi) - s.g_lo;
      deficit_observe(s, d);
      const double g = s.g_hi + s.g_lo;
      const double h = (1.0 - s.g_hi) - s.g_lo;
      const double r = g == 0.0 ? d.r_inf : d.r_inf / h;
      // 1 - r for r < 1/2; above, where 1 - r would lose the digits of a tiny lam (the first
      // value after a long gap), the old weights' share itself.
      const double lam = r < 0.5 ? 1.0 - r : d.f * h_pre / h;
      s.nobs += 1;
      if (finite) {
        add(s, x, y, r, lam);
      } else {
        mark_infinite(s, x);
      }
      if (need_u) push_u(s, d, r, lam, g);
      if (d.renormalise) s.g_hi = s.g_lo = 0.0;
    } else if (!p.ignore_na) {
      if (NUMBAGG && d.f == 0.0 && (s.pinf || s.ninf)) s.poison_mean = true;
      deficit_decay(s, d);
    }
    return value<VARY, NUMBAGG>(s);
  }

  HOTLOOP_INLINE void start(State& s, double x, double y) const noexcept {
    s.started = true;
    s.kx = x;
    s.mx = s.cxx = 0.0;
    if (KIND == kPair) {
      s.ky = y;
      s.my = s.cyy = s.cxy = 0.0;
    }
  }

  // numbagg: an infinite observation (x, or y for cov/corr).
  HOTLOOP_INLINE void mark_infinite(State& s, double x) const noexcept {
    s.started = true;
    s.poison_var = true;
    if (x == kInf) s.pinf = true;
    if (x == -kInf) s.ninf = true;
    if (x != x) s.poison_mean = true;  // cannot happen: x is present
  }

  HOTLOOP_INLINE void add(State& s, double x, double y, double r, double lam) const noexcept {
    if (r >= 0.5) {
      // The new value dominates (alpha > 1/2, the first values, after a long gap): shift onto
      // it, so that the mean -- mostly x -- is not rounded at the old shift's scale.
      rebase(s.kx, s.mx, x);
      if (KIND == kPair) rebase(s.ky, s.my, y);
    }
    const double qx = (x - s.kx) - s.mx;
    s.mx += r * qx;
    if (KIND == kMean) {
      recentre_mean(s.kx, s.mx, qx);
      return;
    }
    push_c(s.cxx, qx, qx, r, lam);
    if (KIND == kPair) {
      const double qy = (y - s.ky) - s.my;
      s.my += r * qy;
      push_c(s.cxy, qx, qy, r, lam);
      push_c(s.cyy, qy, qy, r, lam);
      recentre(s.ky, s.my, s.cyy);
    }
    recentre(s.kx, s.mx, s.cxx);
  }

  // numbagg's weight: per-position alphas carry their own; a constant alpha gives alpha W.
  template <bool VARY>
  HOTLOOP_INLINE double weight(const State& s) const noexcept {
    if (VARY) return s.weight;
    if (!s.started) return 0.0;
    return d.weight_per_w * d.w_inf * ((1.0 - s.g_hi) - s.g_lo);
  }

  template <bool VARY>
  HOTLOOP_INLINE double total_weight(const State& s) const noexcept {
    if (VARY) return s.w;
    if (!s.started) return 0.0;
    return s.g_hi == 0.0 ? d.w_inf : d.w_inf * ((1.0 - s.g_hi) - s.g_lo);
  }

  template <bool VARY, bool NUMBAGG>
  HOTLOOP_INLINE double value(const State& s) const noexcept {
    if (NUMBAGG) {
      if (!(weight<VARY>(s) >= p.min_weight)) return kNaN;
      if (stat == EwmStat::count) return total_weight<VARY>(s);
      // Every weight decayed to 0 (alpha = 1 and a NaN; a gap that underflowed): numbagg's
      // ratios are 0 / 0, its sum 0 (pandas keeps the last statistic instead).
      if (s.started && total_weight<VARY>(s) == 0.0) {
        return stat == EwmStat::sum && !s.poison_mean ? 0.0 : kNaN;
      }
    } else if (s.nobs < minp) {
      return kNaN;
    }
    if (!s.started) return kNaN;
    switch (KIND) {
      case kMean: {
        double m;
        if (NUMBAGG && (s.poison_mean || (s.pinf && s.ninf))) {
          m = kNaN;
        } else if (NUMBAGG && (s.pinf || s.ninf)) {
          m = s.pinf ? kInf : -kInf;
        } else {
          m = s.kx + s.mx;
        }
        return stat == EwmStat::sum ? total_weight<VARY>(s) * m : m;
      }
      case kVar:
        return variance<VARY, NUMBAGG>(s, s.cxx);
      default: {
        if (stat == EwmStat::cov) return variance<VARY, NUMBAGG>(s, s.cxy);
        if (NUMBAGG && s.poison_var) return kNaN;
        if (NUMBAGG && !(u_value(s, d, VARY) > 0.0)) return kNaN;
        if (!(s.cxx > 0.0 && s.cyy > 0.0)) return kNaN;
        const double v = s.cxy / (std::sqrt(s.cxx) * std::sqrt(s.cyy));
        return v > 1.0 ? 1.0 : v < -1.0 ? -1.0 : v;
      }
    }
  }

  template <bool VARY, bool NUMBAGG>
  HOTLOOP_INLINE double variance(const State& s, double c) const noexcept {
    if (NUMBAGG && s.poison_var) return kNaN;
    if (!p.bias) {
      const double u = u_value(s, d, VARY);
      if (!(u > 0.0)) return kNaN;
      c /= u;
    }
    return stat == EwmStat::std ? std::sqrt(c) : c;
  }
};

// ---------------------------------------------------------------------------------------------
// The steady state, eight outputs at a time.
//
// Once G = 0 (and U = u_inf when the bias correction is needed) every new value has the share
// r = r_inf and old weights decay by lam = f, with r + lam = 1 exactly. A statistic s follows
// s_j = lam s_{j-1} + b_j (the mean with b = r (x - k); the variances with b = lam r q1 q2, q the
// deviation from the previous mean), so eight consecutive ones are
//   s_j = sum_{i <= j} lam^(j-i) b_i + lam^(j+1) s_prev,
// the sum by three shift-and-multiply-add steps in registers (Hillis & Steele) and s_prev the
// only dependency carried from one group of eight to the next. Every coefficient is positive
// and a product of at most seven factors lam: the same accuracy as the scalar recurrence.

#if defined(__GNUC__) && !defined(__clang__)
#define HOTLOOP_EWM_VECTOR 1
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64)));

struct Steady {
  double lam, r, lam_r;
  double lam2, lam4;
  v8d pw;  // lam^1 .. lam^8
};

HOTLOOP_INLINE v8d scan8(v8d b, const Steady& k) noexcept {
  const v8d z = {};
  b += k.lam * __builtin_shuffle(b, z, v8l{8, 0, 1, 2, 3, 4, 5, 6});
  b += k.lam2 * __builtin_shuffle(b, z, v8l{8, 8, 0, 1, 2, 3, 4, 5});
  b += k.lam4 * __builtin_shuffle(b, z, v8l{8, 8, 8, 8, 0, 1, 2, 3});
  return b;
}

// The running state s in every lane, against a vector a. With SPLAT, by detail::broadcast (a
// shuffle of lane 0): GCC 12 built the implicit broadcast of `vector op scalar` in the AVX2
// version with eight scalar stores and two vector loads of them, a store-forwarding stall per
// group (the ewm mean took 5.9 ns per output, 1.05 with the shuffle). Without, the implicit
// broadcast: one instruction with AVX-512, where the shuffle cost 4 to 10% more time (see
// eight_wide).
template <bool SPLAT>
HOTLOOP_INLINE v8d minus_s(v8d a, double s) noexcept {
  if constexpr (SPLAT) return a - broadcast<v8d>(s);
  return a - s;
}
template <bool SPLAT>
HOTLOOP_INLINE v8d times_s(v8d a, double s) noexcept {
  if constexpr (SPLAT) return a * broadcast<v8d>(s);
  return a * s;
}
template <bool SPLAT>
HOTLOOP_INLINE v8d plus_s(v8d a, double s) noexcept {
  if constexpr (SPLAT) return broadcast<v8d>(s) + a;
  return s + a;
}

// Lanes shifted up by one, lane 0 = prev: the previous element's value for each lane.
HOTLOOP_INLINE v8d previous8(v8d v, double prev) noexcept {
  v8d p = {};
  p[0] = prev;
  return __builtin_shuffle(v, p, v8l{8, 0, 1, 2, 3, 4, 5, 6});
}

template <class T, bool CONTIG>
HOTLOOP_INLINE v8d load8(const T* x, std::ptrdiff_t xs) noexcept {
  v8d v;
  if (CONTIG) {
    if constexpr (sizeof(T) == 8) {
      std::memcpy(&v, x, sizeof v);
    } else {
      typedef T v8t __attribute__((vector_size(8 * sizeof(T))));
      v8t t;
      std::memcpy(&t, x, sizeof t);
      v = __builtin_convertvector(t, v8d);
    }
  } else {
    for (int k = 0; k < 8; ++k) v[k] = static_cast<double>(x[k * xs]);
  }
  return v;
}

template <class T, bool CONTIG>
HOTLOOP_INLINE void store8(T* out, std::ptrdiff_t os, v8d v) noexcept {
  if (CONTIG) {
    if constexpr (sizeof(T) == 8) {
      std::memcpy(out, &v, sizeof v);
    } else {
      typedef T v8t __attribute__((vector_size(8 * sizeof(T))));
      const v8t t = __builtin_convertvector(v, v8t);
      std::memcpy(out, &t, sizeof t);
    }
  } else {
    for (int k = 0; k < 8; ++k) out[k * os] = static_cast<T>(v[k]);
  }
}

// Lane-wise square root; the simd loop is what makes GCC emit the vector instruction.
HOTLOOP_INLINE v8d sqrt8(v8d v) noexcept {
  double a[8];
  std::memcpy(a, &v, sizeof a);
#pragma omp simd
  for (int k = 0; k < 8; ++k) a[k] = std::sqrt(a[k]);
  std::memcpy(&v, a, sizeof a);
  return v;
}

// Eight outputs from position 0 of x (and y) on, in the steady state; false (nothing written,
// state untouched) when one of the values is not finite. That shows in the last mean of the
// group, whose coefficients are all positive (NaN and inf propagate, inf * 0 is NaN): no test
// of the inputs themselves is needed.
template <class T, bool CONTIG, Kind KIND, bool SPLAT>
HOTLOOP_INLINE bool steady8(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys, State& s,
                            const Steady& k, EwmStat stat, double scale, T* out,
                            std::ptrdiff_t os) noexcept {
  const v8d dx = minus_s<SPLAT>(load8<T, CONTIG>(x, xs), s.kx);
  const v8d mx = scan8(k.r * dx, k) + times_s<SPLAT>(k.pw, s.mx);
  v8d dy = {}, my = {};
  if (KIND == kPair) {
    dy = minus_s<SPLAT>(load8<T, CONTIG>(y, ys), s.ky);
    my = scan8(k.r * dy, k) + times_s<SPLAT>(k.pw, s.my);
    if (!is_finite(mx[7]) || !is_finite(my[7])) return false;
  } else if (!is_finite(mx[7])) {
    return false;
  }
  if (KIND == kMean) {
    v8d res = plus_s<SPLAT>(mx, s.kx);
    if (stat == EwmStat::sum) res *= scale;
    if (stat == EwmStat::count) res = v8d{} + scale;
    store8<T, CONTIG>(out, os, res);
    s.mx = mx[7];
    recentre_mean(s.kx, s.mx, dx[7] - mx[7]);
    return true;
  }
  const v8d qx = dx - previous8(mx, s.mx);
  s.mx = mx[7];
  const v8d cxx = scan8(k.lam_r * (qx * qx), k) + times_s<SPLAT>(k.pw, s.cxx);
  s.cxx = cxx[7];
  if (KIND == kVar) {
    const v8d var = cxx * scale;
    store8<T, CONTIG>(out, os, stat == EwmStat::std ? sqrt8(var) : var);
    recentre(s.kx, s.mx, s.cxx);
    return true;
  }
  const v8d qy = dy - previous8(my, s.my);
  s.my = my[7];
  const v8d cxy = scan8(k.lam_r * (qx * qy), k) + times_s<SPLAT>(k.pw, s.cxy);
  const v8d cyy = scan8(k.lam_r * (qy * qy), k) + times_s<SPLAT>(k.pw, s.cyy);
  s.cxy = cxy[7];
  s.cyy = cyy[7];
  recentre(s.kx, s.mx, s.cxx);
  recentre(s.ky, s.my, s.cyy);
  if (stat == EwmStat::cov) {
    store8<T, CONTIG>(out, os, cxy * scale);
    return true;
  }
  // NaN unless both variances are positive (sqrt(0) * sqrt(c) is 0; variances are never
  // negative), then clamped to [-1, 1]. Selects against vector constants: comparisons with a
  // scalar operand are lowered lane by lane here.
  const v8d zero = {}, one = zero + 1.0, nan = zero + kNaN;
  const v8d den = sqrt8(cxx) * sqrt8(cyy);
  v8d res = cxy / den;
  res = den > zero ? res : nan;
  res = res > one ? one : res;
  res = res < -one ? -one : res;
  store8<T, CONTIG>(out, os, res);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Eight outputs away from the steady state: the first observations, and NaNs with
// ignore_na=false (each one decays the weights and starts a new approach to the limit).
//
// Every lane is an affine map of the state, s_j = a_j s_{j-1} + b_j, now with coefficients that
// vary from lane to lane; the maps are composed in registers (Hillis & Steele on the pairs
// (a, b)). First the deficit G (an observation: G -> f G, or G -> 0 with adjust=false; a NaN:
// G -> f G + r_inf, or unchanged with ignore_na=true), which gives each observation its share
// r = r_inf / (1 - f G_prev); then the mean and the variances, as deviations from their values
// at the start of the group (so that the rounding of lam = 1 - r, which carries an error far
// above r's when r is small, only touches the group's own increments; hence shares below 1/4,
// where the group's decay keeps those increments from cancelling the start value); and U's
// distance to its limit as in push_u. G is carried in double here (its double-double low part
// restarts at 0 after each group): G <= 1/2, so its absolute error, a few ulps per group,
// changes the shares by a few ulps. Groups outside these bounds (an infinite value for numbagg,
// a share >= 1/4, U not yet near its limit) run scalar.

HOTLOOP_INLINE v8d shift1(v8d v, double fill) noexcept {
  return __builtin_shuffle(v, v8d{} + fill, v8l{8, 0, 1, 2, 3, 4, 5, 6});
}

// s_j = a_j s_{j-1} + b_j for the eight lanes, from s_prev.
HOTLOOP_INLINE v8d affine8(v8d a, v8d b, double s_prev) noexcept {
  const v8d z = {}, o = z + 1.0;
  b += a * __builtin_shuffle(b, z, v8l{8, 0, 1, 2, 3, 4, 5, 6});
  a *= __builtin_shuffle(a, o, v8l{8, 0, 1, 2, 3, 4, 5, 6});
  b += a * __builtin_shuffle(b, z, v8l{8, 8, 0, 1, 2, 3, 4, 5});
  a *= __builtin_shuffle(a, o, v8l{8, 8, 0, 1, 2, 3, 4, 5});
  b += a * __builtin_shuffle(b, z, v8l{8, 8, 8, 8, 0, 1, 2, 3});
  a *= __builtin_shuffle(a, o, v8l{8, 8, 8, 8, 0, 1, 2, 3});
  return b + a * s_prev;
}

template <class T, bool CONTIG, Kind KIND, bool NUMBAGG>
HOTLOOP_INLINE bool general8(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys, State& s,
                             const Decay& d, const EwmParams& p, EwmStat stat, bool need_u, T* out,
                             std::ptrdiff_t os) noexcept {
  const v8d zero = {}, one = zero + 1.0, nan = zero + kNaN;
  const v8d xv = load8<T, CONTIG>(x, xs);
  const v8d yv = KIND == kPair ? load8<T, CONTIG>(y, ys) : zero;
  // Observations: finite values (pandas); non-NaN values, none of them infinite (numbagg).
  v8l obs;
  if (NUMBAGG) {
    const v8l present = KIND == kPair ? (xv == xv) & (yv == yv) : xv == xv;
    const v8l finite = KIND == kPair ? (xv - xv == zero) & (yv - yv == zero) : xv - xv == zero;
    long long infinite = 0;
    for (int j = 0; j < 8; ++j) infinite |= present[j] & ~finite[j];
    if (infinite) return false;
    obs = present;
  } else {
    obs = KIND == kPair ? (xv - xv == zero) & (yv - yv == zero) : xv - xv == zero;
  }
  // The deficit before each lane, and each observation's share.
  const double g0 = s.g_hi + s.g_lo;
  const v8d fv = zero + d.f;
  const v8d ga = obs ? (d.renormalise ? zero : fv) : (p.ignore_na ? one : fv);
  const v8d gb = obs || p.ignore_na ? zero : zero + d.r_inf;
  const v8d g_incl = affine8(ga, gb, g0);
  const v8d g_prev = shift1(g_incl, g0);
  const v8d g_obs = fv * g_prev;  // the deficit after an observation's decay
  // Every share is below 1/4: the caller checked g0 <= g_limit (see series_impl).
  const v8d r = obs ? d.r_inf / (one - g_obs) : zero;
  const v8d lam = one - r;  // 1 in the NaN lanes
  // A statistic s with s' = s + r (b - s) per observation is, from its value s0 at the start,
  // s_j = s0 + sum_i c_ji r_i (b_i - s0) = s0 (1 - C_j) + B_j with C = scan(lam, r) and
  // B = scan(lam, r b): the scans do not wait for s0 (one multiply-add carries the group), and
  // a constant b = s0 stays s0 up to rounding (no gain error from lam's rounding).
  const v8d c_sum = affine8(lam, r, 0.0);
  const v8d keep = one - c_sum;
  const v8d dx = obs ? xv - s.kx : zero;
  const v8d mx = keep * s.mx + affine8(lam, r * dx, 0.0);
  if (!is_finite(mx[7])) return false;
  const v8d w = d.w_inf * (one - g_incl);  // W after each lane
  v8d res;
  v8d u = one, e = zero;
  if (need_u) {
    // U - u_inf: e' = lam^2 e - 2 r^2 G / (1 + f) after an observation, unchanged after a NaN.
    const v8d eb = obs ? (-2.0 / (1.0 + d.f)) * (r * r) * g_obs : zero;
    e = affine8(lam * lam, eb, s.u);
    u = d.u_inf + e;
  }
  if (KIND == kMean) {
    res = s.kx + mx;
    if (stat == EwmStat::sum) res *= w;
    if (stat == EwmStat::count) res = w;
  } else {
    // The variances likewise, with b = lam q1 q2 (q: the deviation from the previous mean).
    const v8d qx = obs ? dx - shift1(mx, s.mx) : zero;
    const v8d cxx = keep * s.cxx + affine8(lam, r * lam * (qx * qx), 0.0);
    if (KIND == kVar) {
      res = p.bias ? cxx : cxx / u;
      if (stat == EwmStat::std) res = sqrt8(res);
    } else {
      const v8d dy = obs ? yv - s.ky : zero;
      const v8d my = keep * s.my + affine8(lam, r * dy, 0.0);
      if (!is_finite(my[7])) return false;  // nothing changed yet
      const v8d qy = obs ? dy - shift1(my, s.my) : zero;
      const v8d cxy = keep * s.cxy + affine8(lam, r * lam * (qx * qy), 0.0);
      const v8d cyy = keep * s.cyy + affine8(lam, r * lam * (qy * qy), 0.0);
      if (stat == EwmStat::cov) {
        res = p.bias ? cxy : cxy / u;
      } else {
        const v8d den = sqrt8(cxx) * sqrt8(cyy);
        res = cxy / den;
        res = den > zero ? res : nan;
        res = res > one ? one : res;
        res = res < -one ? -one : res;
      }
      s.my = my[7];
      s.cxy = cxy[7];
      s.cyy = cyy[7];
      recentre(s.ky, s.my, s.cyy);
    }
    s.cxx = cxx[7];
  }
  if (NUMBAGG) {  // numbagg's weight, alpha W, against min_weight
    const v8d weight = d.weight_per_w * w;
    res = weight >= p.min_weight ? res : nan;
  }
  store8<T, CONTIG>(out, os, res);
  if (need_u) {
    s.u = e[7];
    if (std::fabs(s.u) <= kSnap * d.u_inf) s.u = 0.0;
  }
  s.mx = mx[7];
  if (KIND == kMean) {
    recentre_mean(s.kx, s.mx, dx[7] - mx[7]);
  } else {
    recentre(s.kx, s.mx, s.cxx);
  }
  s.g_hi = g_incl[7];
  s.g_lo = 0.0;
  if (std::fabs(s.g_hi) <= kSnap) s.g_hi = 0.0;
  // s.nobs is not advanced: it only decides validity until it reaches min_periods, which it
  // has (pandas), or is unused (numbagg).
  return true;
}
#endif

template <class T, Kind KIND, bool VARY, bool NUMBAGG, bool CONTIG>
HOTLOOP_INLINE void series_impl(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys,
                                const double* alphas, std::ptrdiff_t as, std::ptrdiff_t n,
                                EwmStat stat, const EwmParams& p, T* out,
                                std::ptrdiff_t os) noexcept {
  const Decay d(p);
  const bool need_u = KIND != kMean && !p.bias && (stat != EwmStat::corr || NUMBAGG);
  const Row<KIND> row{p, d, stat, need_u, p.min_periods > 1 ? p.min_periods : 1};
  State s;
  std::ptrdiff_t i = 0;
#ifdef HOTLOOP_EWM_VECTOR
  Steady k{};
  double scale = 1.0;
  if (!VARY) {
    k.lam = d.f;
    k.r = d.r_inf;
    k.lam_r = d.f * d.r_inf;
    k.lam2 = d.f * d.f;
    k.lam4 = k.lam2 * k.lam2;
    double pw = 1.0;
    for (int j = 0; j < 8; ++j) k.pw[j] = pw *= d.f;
    scale = stat == EwmStat::sum || stat == EwmStat::count ? d.w_inf
            : need_u && d.u_inf > 0.0                      ? 1.0 / d.u_inf
                                                           : 1.0;
  }
  // In the steady state every output is valid when the first is (numbagg's weight is then
  // constant, pandas' count only grows).
  const bool steady_weight_ok = !NUMBAGG || d.weight_per_w * d.w_inf >= p.min_weight;
  const bool vector_ok = !VARY && steady_weight_ok && !(need_u && !(d.u_inf > 0.0));
  // The general groups need every share below 1/4 (see general8). Shares grow with the deficit
  // G, which a NaN raises to f G + r_inf: after up to seven NaNs from g0 a share is at most
  // r_inf / (1 - f (1 - f^8 (1 - g0))), below 1/4 whenever g0 <= g_limit.
  double g_limit = -1.0;
  if (!VARY && d.r_inf < 0.25) {
    const double f8 = (d.f * d.f) * (d.f * d.f) * ((d.f * d.f) * (d.f * d.f));
    g_limit = 1.0 - (1.0 - (1.0 - 4.0 * d.r_inf) / d.f) / f8;
    g_limit = g_limit < 0.5 ? g_limit * (1.0 - 0x1p-20) : 0.5;  // margin for rounding
  }
  const bool general_ok = g_limit >= 0.0;
  const bool wide = eight_wide();  // which form of steady8 (see minus_s)
#endif
  while (i < n) {
#ifdef HOTLOOP_EWM_VECTOR
    if (!VARY && s.started && !s.pinf && !s.ninf && !s.poison_var &&
        (NUMBAGG || s.nobs >= row.minp)) {
      if (vector_ok && s.g_hi == 0.0 && (!need_u || (!s.u_direct && s.u == 0.0))) {
        bool ran = false;
        while (i + 8 <= n) {
          const T* yi = y + (KIND == kPair ? i * ys : 0);
          if (!(wide ? steady8<T, CONTIG, KIND, false>(x + i * xs, xs, yi, ys, s, k, stat, scale,
                                                       out + i * os, os)
                     : steady8<T, CONTIG, KIND, true>(x + i * xs, xs, yi, ys, s, k, stat, scale,
                                                      out + i * os, os)))
            break;
          s.nobs += 8;
          i += 8;
          ran = true;
        }
        if (ran) continue;
      }
      // Not yet (or no longer) steady, or a group holding NaN: the general groups.
      if (general_ok && i + 8 <= n && s.g_hi <= g_limit && s.g_hi >= -0.5 &&
          (!need_u || !s.u_direct) &&
          general8<T, CONTIG, KIND, NUMBAGG>(x + i * xs, xs, y + (KIND == kPair ? i * ys : 0), ys,
                                             s, d, p, stat, need_u, out + i * os, os)) {
        i += 8;
        continue;
      }
      // Else eight scalar steps (or the tail), then back to the groups.
      const std::ptrdiff_t e = i + 8 < n ? i + 8 : n;
      for (; i < e; ++i) {
        out[i * os] = static_cast<T>(row.template step<VARY, NUMBAGG>(
            s, static_cast<double>(x[i * xs]), KIND == kPair ? static_cast<double>(y[i * ys]) : 0.0,
            0.0, 0.0));
      }
      continue;
    }
#endif
    double f_vary = 0.0, a_vary = 0.0;
    if (VARY) {
      a_vary = alphas ? alphas[i * as] : p.alpha;
      f_vary = 1.0 - a_vary;
    }
    out[i * os] = static_cast<T>(row.template step<VARY, NUMBAGG>(
        s, static_cast<double>(x[i * xs]), KIND == kPair ? static_cast<double>(y[i * ys]) : 0.0,
        f_vary, a_vary));
    ++i;
  }
}

template <class T, Kind KIND, bool VARY, bool NUMBAGG>
HOTLOOP_INLINE void series_contig(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys,
                                  const double* alphas, std::ptrdiff_t as, std::ptrdiff_t n,
                                  EwmStat stat, const EwmParams& p, T* out,
                                  std::ptrdiff_t os) noexcept {
  if (!VARY && xs == 1 && os == 1 && (KIND != kPair || ys == 1)) {
    series_impl<T, KIND, VARY, NUMBAGG, true>(x, 1, y, 1, alphas, as, n, stat, p, out, 1);
  } else {
    series_impl<T, KIND, VARY, NUMBAGG, false>(x, xs, y, ys, alphas, as, n, stat, p, out, os);
  }
}

template <class T, Kind KIND>
HOTLOOP_INLINE void series_kind(const T* x, std::ptrdiff_t xs, const T* y, std::ptrdiff_t ys,
                                const double* alphas, std::ptrdiff_t as, std::ptrdiff_t n,
                                EwmStat stat, const EwmParams& p, T* out,
                                std::ptrdiff_t os) noexcept {
  // Per-position alphas, and a decay of exactly 1 (alpha = 0, or below 2^-54), have no
  // limiting weight: plain recurrences.
  const bool vary = alphas != nullptr || !(1.0 - p.alpha < 1.0);
  if (p.numbagg) {
    if (vary) {
      series_contig<T, KIND, true, true>(x, xs, y, ys, alphas, as, n, stat, p, out, os);
    } else {
      series_contig<T, KIND, false, true>(x, xs, y, ys, alphas, as, n, stat, p, out, os);
    }
  } else if (vary) {
    series_contig<T, KIND, true, false>(x, xs, y, ys, alphas, as, n, stat, p, out, os);
  } else {
    series_contig<T, KIND, false, false>(x, xs, y, ys, alphas, as, n, stat, p, out, os);
  }
}

}  // namespace

// Compiled once per instruction set (HOTLOOP_CLONES), for each float type (the list below).
template <class T>
HOTLOOP_CLONES void ewm_series(const T* x, std::ptrdiff_t x_stride, const T* y,
                               std::ptrdiff_t y_stride, const double* alphas,
                               std::ptrdiff_t alpha_stride, std::ptrdiff_t n, EwmStat stat,
                               const EwmParams& p, T* out, std::ptrdiff_t out_stride) noexcept {
  if (n <= 0) return;
  switch (kind_of(stat)) {
    case kMean:
      return series_kind<T, kMean>(x, x_stride, y, y_stride, alphas, alpha_stride, n, stat, p, out,
                                   out_stride);
    case kVar:
      return series_kind<T, kVar>(x, x_stride, y, y_stride, alphas, alpha_stride, n, stat, p, out,
                                  out_stride);
    case kPair:
      return series_kind<T, kPair>(x, x_stride, y, y_stride, alphas, alpha_stride, n, stat, p, out,
                                   out_stride);
  }
}

template <class T>
void ewm_rows(const T* x, const T* y, const double* alphas, T* out, const RollingRows& rows,
              const EwmOperands& more, EwmStat stat, const EwmParams& p, int n_threads) noexcept {
  const std::ptrdiff_t n = rows.n;
  if (rows.rows <= 0 || n <= 0) return;
  // ~1-10 ns per output on one core (cxx/bench/rolling_benchmark): 4 as the estimate.
  const std::ptrdiff_t grain = rolling_rows_grain(n, 4.0);
  parallel_for(rows.rows, n_threads, grain, [&](std::ptrdiff_t t0, std::ptrdiff_t t1) {
    for (std::ptrdiff_t r = t0; r < t1; ++r) {
      ewm_series(x + rows.x_offsets[r], rows.x_stride, y ? y + more.y_offsets[r] : nullptr,
                 more.y_stride, alphas ? alphas + more.alpha_offsets[r] : nullptr,
                 more.alpha_stride, n, stat, p, out + rows.out_offsets[r], rows.out_stride);
    }
  });
}

#define HOTLOOP_EWM_ENTRY_POINTS(T)                                                              \
  template void ewm_series<T>(const T*, std::ptrdiff_t, const T*, std::ptrdiff_t, const double*, \
                              std::ptrdiff_t, std::ptrdiff_t, EwmStat, const EwmParams&, T*,     \
                              std::ptrdiff_t) noexcept;                                          \
  template void ewm_rows<T>(const T*, const T*, const double*, T*, const RollingRows&,           \
                            const EwmOperands&, EwmStat, const EwmParams&, int) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_EWM_ENTRY_POINTS)

}  // namespace hotloop
