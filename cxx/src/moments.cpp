#include "hotloop/moments.hpp"

#include <cmath>
#include <limits>
#include <type_traits>

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

// Values read between two polls of the Interrupt (Ctrl-C), ~0.3-2 ms of work per pass: the lane
// loops run block by block with their accumulators carried over, and a block is a whole number of
// kLanes groups, so every lane adds the same values in the same order as in one loop over
// everything (results do not depend on kPollBlock, bit for bit).
constexpr std::ptrdiff_t kPollBlock = std::ptrdiff_t{1} << 20;
static_assert(kPollBlock % kLanes == 0, "blocks must not split a group of lanes");

#if defined(__GNUC__)
#define HOTLOOP_INLINE_LAMBDA __attribute__((always_inline))
#else
#define HOTLOOP_INLINE_LAMBDA
#endif

// How the passes poll for Ctrl-C, chosen once per call (see polls()). Every pass runs its loop as
// poll.blocks(n, body): body(b, e) over [0, n).
// NoPoll: body(0, n), the plain loop. Inputs of one block, or calls without an Interrupt, pay
// nothing: measured with callgrind, checking for an Interrupt at run time in every pass cost
// std of 50 values ~45 instructions (of ~1000).
struct NoPoll {
  static constexpr bool stopped() noexcept { return false; }
  static constexpr Interrupt* interrupt() noexcept { return nullptr; }
  static constexpr std::ptrdiff_t block() noexcept { return kPollBlock; }
  template <class Body>
  HOTLOOP_INLINE void blocks(std::ptrdiff_t n, Body&& body) const noexcept {
    body(std::ptrdiff_t{0}, n);
  }
};

// Polling: blocks of kPollBlock values (smaller ones in tests: detail::moments_in_blocks), a
// poll between two blocks, no more blocks once it says stop (the pass's results are then
// unspecified; the caller checks stopped()).
struct Polling {
  Interrupt* stop;
  std::ptrdiff_t size;  // a multiple of kLanes
  bool stopped() const noexcept { return stop->stopped(); }
  Interrupt* interrupt() const noexcept { return stop; }
  std::ptrdiff_t block() const noexcept { return size; }
  template <class Body>
  HOTLOOP_INLINE void blocks(std::ptrdiff_t n, Body&& body) const noexcept {
    for (std::ptrdiff_t b = 0; b < n; b += size) {
      body(b, n - b > size ? b + size : n);
      if (n - b > size && stop->poll()) return;
    }
  }
};

// Whether a call on n values polls interrupt (may be null): only when it has more than a block.
HOTLOOP_INLINE bool polls(std::ptrdiff_t n, const Interrupt* interrupt) noexcept {
  return interrupt != nullptr && n > kPollBlock;
}

HOTLOOP_INLINE bool stopped(const Interrupt* interrupt) noexcept {
  return interrupt != nullptr && interrupt->stopped();
}

// One value, as a double, times the scale f when SCALED (f is a power of two: exact, barring
// underflow of values far below the largest, see rescaled()).
template <bool SCALED, class T>
HOTLOOP_INLINE double load(T v, double f) noexcept {
  if constexpr (SCALED) {
    return static_cast<double>(v) * f;
  } else {
    return static_cast<double>(v);
  }
}

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
// SCALED: every value is multiplied by f (a power of two) as it is read; see rescaled().
// Stops early (results unspecified) when poll says so.
template <class T, bool SKIPNA, bool CONTIG, bool EXACT, bool SCALED, class Poll>
HOTLOOP_INLINE void shifted_sum(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, double f,
                                double K, double& sum_hi, double& sum_lo, double& count,
                                const Poll& poll) noexcept {
  const std::ptrdiff_t s = CONTIG ? 1 : stride;
  double hi[kLanes] = {}, lo[kLanes] = {}, cnt[kLanes] = {};
  const std::ptrdiff_t full = n - n % kLanes;
  poll.blocks(full, [&](std::ptrdiff_t b, std::ptrdiff_t e) HOTLOOP_INLINE_LAMBDA {
    for (std::ptrdiff_t i = b; i < e; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) {
        const double v = load<SCALED>(x[(i + k) * s], f);
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
  });
  for (std::ptrdiff_t i = full; i < n; ++i) {
    const double v = load<SCALED>(x[i * s], f);
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
template <class T, bool SKIPNA, bool CONTIG, bool SCALED, class Poll>
HOTLOOP_INLINE void centred_sums(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, double f,
                                 double m, double& s1, double& s2, const Poll& poll) noexcept {
  const std::ptrdiff_t s = CONTIG ? 1 : stride;
  double h1[kLanes] = {}, l1[kLanes] = {}, h2[kLanes] = {}, l2[kLanes] = {};
  const std::ptrdiff_t full = n - n % kLanes;
  poll.blocks(full, [&](std::ptrdiff_t b, std::ptrdiff_t end) HOTLOOP_INLINE_LAMBDA {
    for (std::ptrdiff_t i = b; i < end; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) {
        double v = load<SCALED>(x[(i + k) * s], f);
        if constexpr (SKIPNA) v = v == v ? v : m;
        double d, e;
        two_sum(v, -m, d, e);
        comp_add(h1[k], l1[k], d);
        l1[k] += e;
        comp_add(h2[k], l2[k], d * d);
        l2[k] += 2.0 * d * e;
      }
    }
  });
  for (std::ptrdiff_t i = full; i < n; ++i) {
    const double v = load<SCALED>(x[i * s], f);
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
// With SCALED, the values are x * f and so are the results (m2: x * f squared).
// Stopped by poll, it returns early with unspecified results.
template <class T, bool SKIPNA, bool CONTIG, bool SCALED = false, class Poll>
HOTLOOP_INLINE Moments two_pass(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, double K,
                                bool need_m2, const Poll& poll, double f = 1.0) noexcept {
  double sum_hi, sum_lo, count;
  if (need_m2) {
    shifted_sum<T, SKIPNA, CONTIG, false, SCALED>(x, n, stride, f, K, sum_hi, sum_lo, count, poll);
  } else {
    shifted_sum<T, SKIPNA, CONTIG, true, SCALED>(x, n, stride, f, K, sum_hi, sum_lo, count, poll);
  }
  Moments r{static_cast<std::int64_t>(count), kNaN, kNaN, 0.0, 0};
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
  // inf or NaN in the data: the variance is NaN.
  if (!std::isfinite(m0) || poll.stopped()) return r;
  double s1, s2;
  centred_sums<T, SKIPNA, CONTIG, SCALED>(x, n, stride, f, m0, s1, s2, poll);
  two_sum(m0, s1 / count, r.mean, r.mean_lo);
  const double m2 = s2 - s1 * (s1 / count);
  r.m2 = m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2);
  return r;
}

// The window of magnitudes in which the plain passes are accurate: below 2^-400 the squares of
// the deviations can underflow (or be subnormal), above 2^401 sums of n values, or their
// squares, can overflow (n < 2^63 values of squares below 2^806 cannot).
constexpr double kWindowLo = 0x1p-400;
constexpr double kWindowHi = 0x1p401;

// The exponent e by which data whose largest magnitude is M get scaled (x * 2^-e) so that
// M * 2^-e lies in the window: 0 inside it; above, M * 2^-e lands in [2^400, 2^401), so that the
// smaller values keep as many bits as possible; below, in [1, 2) (scaling up is exact), at most
// by 2^1000 so that the factor stays a normal double (subnormal M then lands at >= 2^-74).
int scale_exponent(double M) noexcept {
  if (!(M > 0.0) || (M >= kWindowLo && M < kWindowHi) || !std::isfinite(M)) return 0;
  const int lg = std::ilogb(M);
  return M >= kWindowHi ? lg - 400 : (lg < -1000 ? -1000 : lg);
}

// v * 2^e, without the library call in the usual case e == 0.
HOTLOOP_INLINE double unscaled(double v, int e) noexcept { return e == 0 ? v : std::ldexp(v, e); }

// Whether the plain passes' results can be trusted, judged from the results alone so that data
// inside the window pay nothing more:
// - any overflow leaves an inf or NaN in the mean or in M2 (inf and NaN never turn finite);
// - underflow errors are absolute, at most 2^-1074 per product, so M2 >= count * 2^-1000 is
//   accurate (and its quotient by count - ddof normal, so the standard deviation is too);
// - M2 == 0 with |mean| >= 2^-400 means equal values: unequal ones in that range differ from
//   their mean by at least 2^-55 |mean|, whose square is far from underflowing.
// Anything else (M2 tiny, or 0 with a tiny mean, or a tiny nonzero mean) is checked again.
HOTLOOP_INLINE bool trusted(const Moments& r, bool need_m2) noexcept {
  const double am = std::fabs(r.mean);
  if (!(am <= std::numeric_limits<double>::max())) return false;  // inf or NaN
  if (!need_m2) return am >= 0x1p-960 || am == 0.0;
  if (r.m2 >= static_cast<double>(r.count) * 0x1p-1000) {
    return r.m2 <= std::numeric_limits<double>::max();
  }
  return r.m2 == 0.0 && am >= kWindowLo;
}

// The largest magnitude of the non-NaN values, and which non-finite values occur.
struct Extremes {
  double maxabs;
  bool nan, posinf, neginf;
};

template <bool CONTIG, class Poll>
HOTLOOP_INLINE Extremes extremes(const double* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                                 const Poll& poll) noexcept {
  const std::ptrdiff_t s = CONTIG ? 1 : stride;
  double mx[kLanes] = {}, nan[kLanes] = {};
  const std::ptrdiff_t full = n - n % kLanes;
  poll.blocks(full, [&](std::ptrdiff_t b, std::ptrdiff_t e) HOTLOOP_INLINE_LAMBDA {
    for (std::ptrdiff_t i = b; i < e; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) {
        const double v = x[(i + k) * s], a = std::fabs(v);
        mx[k] = a > mx[k] ? a : mx[k];  // a NaN compares false: ignored
        nan[k] = v != v ? 1.0 : nan[k];
      }
    }
  });
  for (std::ptrdiff_t i = full; i < n; ++i) {
    const double v = x[i * s], a = std::fabs(v);
    mx[0] = a > mx[0] ? a : mx[0];
    nan[0] = v != v ? 1.0 : nan[0];
  }
  Extremes ex{0.0, false, false, false};
  for (int k = 0; k < kLanes; ++k) {
    ex.maxabs = mx[k] > ex.maxabs ? mx[k] : ex.maxabs;
    ex.nan = ex.nan || nan[k] != 0.0;
  }
  if (std::isinf(ex.maxabs) && !poll.stopped()) {
    poll.blocks(n, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
      for (std::ptrdiff_t j = b; j < e; ++j) {
        const double v = x[j * s];
        ex.posinf = ex.posinf || v == std::numeric_limits<double>::infinity();
        ex.neginf = ex.neginf || v == -std::numeric_limits<double>::infinity();
      }
    });
  }
  return ex;
}

// The passes again on x * 2^-e, for data the plain passes could not be trusted with (see
// trusted()). Sets scale to e: the results' mean and mean_lo are then in units of 2^e and m2 in
// units of 2^(2e) (m2_exp = 2e). Non-finite data get the policy's answer decided from the data
// themselves: an overflow of the finite values can have turned the plain mean into the wrong
// infinity or a NaN.
template <bool SKIPNA, bool CONTIG, class Poll>
HOTLOOP_INLINE Moments rescaled(const double* x, std::ptrdiff_t n, std::ptrdiff_t stride, double K,
                                bool need_m2, const Moments& plain, int& scale,
                                const Poll& poll) noexcept {
  const Extremes ex = extremes<CONTIG>(x, n, stride, poll);
  Moments r = plain;
  if (poll.stopped()) return r;
  if ((ex.nan && !SKIPNA) || ex.posinf || ex.neginf) {
    const double inf = std::numeric_limits<double>::infinity();
    r.mean = (ex.nan && !SKIPNA) || (ex.posinf && ex.neginf) ? kNaN : (ex.posinf ? inf : -inf);
    r.mean_lo = 0.0;
    r.m2 = need_m2 ? kNaN : 0.0;
    r.m2_exp = 0;
    return r;
  }
  const int e = scale_exponent(ex.maxabs);
  if (e == 0) return plain;  // inside the window after all (e.g. a tiny mean of normal values)
  const double f = std::ldexp(1.0, -e);
  r = SKIPNA ? two_pass<double, true, CONTIG, true>(x, n, stride, K * f, need_m2, poll, f)
             : two_pass<double, false, CONTIG, true>(x, n, stride, K * f, need_m2, poll, f);
  r.m2_exp = need_m2 ? 2 * e : 0;
  scale = e;
  return r;
}

// rescaled() for any stride and skipna, out of line: the rare path stays out of the hot
// function's code (it still gets its own SIMD clones). interrupt: null when the call does not
// poll (see polls()).
template <class Poll>
HOTLOOP_INLINE Moments rescaled_with(const double* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                                     bool skipna, double K, bool need_m2, const Moments& plain,
                                     int& scale, const Poll& poll) noexcept {
  if (stride == 1) {
    return skipna ? rescaled<true, true>(x, n, 1, K, need_m2, plain, scale, poll)
                  : rescaled<false, true>(x, n, 1, K, need_m2, plain, scale, poll);
  }
  return skipna ? rescaled<true, false>(x, n, stride, K, need_m2, plain, scale, poll)
                : rescaled<false, false>(x, n, stride, K, need_m2, plain, scale, poll);
}

[[gnu::noinline, gnu::cold]] HOTLOOP_CLONES Moments rescaled_any(
    const double* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna, double K, bool need_m2,
    const Moments& plain, int& scale, Interrupt* interrupt, std::ptrdiff_t block) noexcept {
  if (interrupt != nullptr) {
    return rescaled_with(x, n, stride, skipna, K, need_m2, plain, scale, Polling{interrupt, block});
  }
  return rescaled_with(x, n, stride, skipna, K, need_m2, plain, scale, NoPoll{});
}

// The first finite value (0 when there is none): the shift of pass 1. Usually the first value;
// blocks matter only to stop in a long run of NaNs.
template <class T, class Poll>
HOTLOOP_INLINE double first_finite(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                                   const Poll& poll) noexcept {
  double K = 0.0;
  bool found = false;
  poll.blocks(n, [&](std::ptrdiff_t b, std::ptrdiff_t e) HOTLOOP_INLINE_LAMBDA {
    for (std::ptrdiff_t i = b; i < e && !found; ++i) {
      const double v = static_cast<double>(x[i * stride]);
      if (std::isfinite(v)) {
        K = v;
        found = true;
      }
    }
  });
  return K;
}

// moments() with the mean (and mean_lo) in units of 2^scale and m2 * 2^m2_exp, m2_exp = 2 scale;
// scale is 0 unless the data lie outside the window. RunningStats merges these, so that the
// mean of tiny or subnormal batches keeps its bits.
// Stopped by poll, it returns early with unspecified results.
template <class T, class Poll>
HOTLOOP_INLINE Moments moments_body(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                                    bool skipna, bool need_m2, int& scale,
                                    const Poll& poll) noexcept {
  scale = 0;
  // The shift: the first finite value. Equal values then sum to exactly 0 in pass 1.
  const double K = first_finite(x, n, stride, poll);
  Moments r;
  if (stride == 1) {
    r = skipna ? two_pass<T, true, true>(x, n, 1, K, need_m2, poll)
               : two_pass<T, false, true>(x, n, 1, K, need_m2, poll);
  } else {
    r = skipna ? two_pass<T, true, false>(x, n, stride, K, need_m2, poll)
               : two_pass<T, false, false>(x, n, stride, K, need_m2, poll);
  }
  // float data (|x| < 2^128, subnormals >= 2^-149) always lie in the window, as doubles.
  if constexpr (std::is_same_v<T, double>) {
    if (__builtin_expect(r.count > 0 && !trusted(r, need_m2) && !poll.stopped(), 0)) {
      r = rescaled_any(x, n, stride, skipna, K, need_m2, r, scale, poll.interrupt(), poll.block());
    }
  }
  return r;
}

// moments_body() polling interrupt (not null) between blocks of `block` values, for calls on more
// than one block: out of line, so that the calls that do not poll keep the plain function (its
// own SIMD clones here too).
template <class T>
[[gnu::noinline]] HOTLOOP_CLONES Moments moments_blocked(const T* x, std::ptrdiff_t n,
                                                         std::ptrdiff_t stride, bool skipna,
                                                         bool need_m2, int& scale,
                                                         Interrupt* interrupt,
                                                         std::ptrdiff_t block) noexcept {
  return moments_body(x, n, stride, skipna, need_m2, scale, Polling{interrupt, block});
}

// moments_body() polling interrupt when the call has more than one block, else not at all.
template <class T>
HOTLOOP_INLINE Moments moments_polling(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                                       bool skipna, bool need_m2, int& scale,
                                       Interrupt* interrupt) noexcept {
  if (__builtin_expect(polls(n, interrupt), 0)) {
    return moments_blocked(x, n, stride, skipna, need_m2, scale, interrupt, kPollBlock);
  }
  return moments_body(x, n, stride, skipna, need_m2, scale, NoPoll{});
}

}  // namespace

namespace detail {
// Declared here only: RunningStats::extend below is its one user.
template <class T>
HOTLOOP_CLONES Moments scaled_moments(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                                      bool skipna, bool need_m2, int& scale,
                                      Interrupt* interrupt) noexcept {
  return moments_polling(x, n, stride, skipna, need_m2, scale, interrupt);
}
}  // namespace detail

// The mean in units of 1 (moments_body() leaves it in units of 2^scale).
HOTLOOP_INLINE Moments unscaled_mean(Moments r, int scale) noexcept {
  if (scale != 0) {
    r.mean = std::ldexp(r.mean, scale);
    r.mean_lo = std::ldexp(r.mean_lo, scale);
  }
  return r;
}

// Compiled once per instruction set (HOTLOOP_CLONES), for each float type (the list at the end).
template <class T>
HOTLOOP_CLONES Moments moments(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna,
                               bool need_m2, Interrupt* interrupt) noexcept {
  int scale;
  const Moments r = moments_polling(x, n, stride, skipna, need_m2, scale, interrupt);
  return unscaled_mean(r, scale);
}

namespace detail {
template <class T>
Moments moments_in_blocks(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna,
                          bool need_m2, Interrupt* interrupt, std::ptrdiff_t block) noexcept {
  int scale;
  const Moments r = moments_blocked(x, n, stride, skipna, need_m2, scale, interrupt, block);
  return unscaled_mean(r, scale);
}
}  // namespace detail

// ---------------------------------------------------------------------------------------------
// RunningStats

// Always inlined: push() is its hot caller (one value at a time).
HOTLOOP_INLINE void RunningStats::merge_finite(std::int64_t nb, double mean_b_hi, double mean_b_lo,
                                               double m2_b_hi, double m2_b_lo) noexcept {
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

void RunningStats::rescale_to(int scale) noexcept {
  if (scale == scale_) return;
  const int d = scale_ - scale;
  mean_hi_ = std::ldexp(mean_hi_, d);
  mean_lo_ = std::ldexp(mean_lo_, d);
  m2_hi_ = std::ldexp(m2_hi_, 2 * d);
  m2_lo_ = std::ldexp(m2_lo_, 2 * d);
  scale_ = scale;
}

void RunningStats::grow_maxabs(double a) noexcept {
  // maxabs_ only grows, so the scale changes a few times at most (once per binade of a new
  // maximum outside the window); scaling down drops bits only below 2^-1074 of the new unit.
  maxabs_ = a;
  rescale_to(scale_exponent(a));
}

void RunningStats::merge_scaled(std::int64_t nb, double mean_b_hi, double mean_b_lo, double m2_b_hi,
                                double m2_b_lo, int scale_b, double maxabs_b) noexcept {
  if (nb == 0) return;
  if (maxabs_b > maxabs_) grow_maxabs(maxabs_b);
  const int d = scale_b - scale_;
  if (d != 0) {
    mean_b_hi = std::ldexp(mean_b_hi, d);
    mean_b_lo = std::ldexp(mean_b_lo, d);
    m2_b_hi = std::ldexp(m2_b_hi, 2 * d);
    m2_b_lo = std::ldexp(m2_b_lo, 2 * d);
  }
  merge_finite(nb, mean_b_hi, mean_b_lo, m2_b_hi, m2_b_lo);
}

void RunningStats::push(double x) noexcept {
  if (std::isfinite(x)) {
    const double a = std::fabs(x);
    if (a > maxabs_) grow_maxabs(a);
    merge_finite(1, scale_ == 0 ? x : std::ldexp(x, -scale_), 0.0, 0.0, 0.0);
  } else if (x != x) {
    if (!skipna_) ++n_nan_;
  } else if (x > 0) {
    ++n_posinf_;
  } else {
    ++n_neginf_;
  }
}

template <class T>
void RunningStats::extend(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride,
                          Interrupt* interrupt) noexcept {
  // One accurate two-pass over the batch, then one merge. Batches holding infinities go value
  // by value so that the non-finite counts stay right.
  // The batch mean goes in as a double-double: merging a mean rounded to double moves M2 by
  // about 2 * |delta| * ulp(mean) * nb per batch (delta: batch mean - running mean), which at an
  // offset of 1e9 cost ~1e-11 relative error after a few hundred batches (push(): ~1e-16).
  // It goes in scaled as the kernel computed it, so that tiny and subnormal batches keep their
  // bits. Most batches hold finite values only: try the plain two-pass first (the NaN-skipping
  // one is 2-4x slower) and fall back to it when a NaN showed up.
  int scale;
  Moments r =
      detail::scaled_moments(x, n, stride, /*skipna=*/false, /*need_m2=*/true, scale, interrupt);
  if (!(std::isfinite(r.mean) && std::isfinite(r.m2)) && !stopped(interrupt)) {
    r = detail::scaled_moments(x, n, stride, /*skipna=*/true, /*need_m2=*/true, scale, interrupt);
  }
  if (stopped(interrupt)) return;
  if (r.count == 0 || (std::isfinite(r.mean) && std::isfinite(r.m2))) {
    if (!skipna_) n_nan_ += n - r.count;
    if (r.count == 0) return;
    // A bound on the batch's largest magnitude within a factor 2 below and 2^33 above (every
    // value lies within sqrt(M2) of the mean), enough to choose the scale (see grow_maxabs).
    const double spread = std::sqrt(r.m2);
    double maxabs_b = std::fabs(r.mean);
    maxabs_b = spread > maxabs_b ? spread : maxabs_b;
    if (scale != 0) {
      const double big = std::numeric_limits<double>::max();
      maxabs_b = std::ldexp(maxabs_b, scale);
      maxabs_b = maxabs_b < big ? maxabs_b : big;
    }
    merge_scaled(r.count, r.mean, r.mean_lo, r.m2, 0.0, scale, maxabs_b);
    return;
  }
  const auto push_all = [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t i = b; i < e; ++i) push(static_cast<double>(x[i * stride]));
  };
  if (polls(n, interrupt)) {
    Polling{interrupt, kPollBlock}.blocks(n, push_all);
  } else {
    push_all(0, n);
  }
}

void RunningStats::merge(const RunningStats& o) noexcept {
  n_nan_ += o.n_nan_;
  n_posinf_ += o.n_posinf_;
  n_neginf_ += o.n_neginf_;
  merge_scaled(o.n_finite_, o.mean_hi_, o.mean_lo_, o.m2_hi_, o.m2_lo_, o.scale_, o.maxabs_);
}

double RunningStats::mean() const noexcept {
  const double inf = std::numeric_limits<double>::infinity();
  if (n_nan_ > 0 || (n_posinf_ > 0 && n_neginf_ > 0)) return kNaN;
  if (n_posinf_ > 0) return inf;
  if (n_neginf_ > 0) return -inf;
  if (n_finite_ == 0) return kNaN;
  return unscaled(mean_hi_ + mean_lo_, scale_);
}

// M2 in units of 2^(2 scale_); NaN as m2() says.
double RunningStats::scaled_m2() const noexcept {
  if (n_nan_ + n_posinf_ + n_neginf_ > 0 || n_finite_ == 0) return kNaN;
  const double m2 = m2_hi_ + m2_lo_;
  return m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2);
}

double RunningStats::m2() const noexcept { return unscaled(scaled_m2(), 2 * scale_); }

double RunningStats::var(std::int64_t ddof) const noexcept {
  const std::int64_t n = count();
  if (n <= ddof) return kNaN;
  return unscaled(scaled_m2() / static_cast<double>(n - ddof), 2 * scale_);
}

double RunningStats::std(std::int64_t ddof) const noexcept {
  const std::int64_t n = count();
  if (n <= ddof) return kNaN;
  return unscaled(std::sqrt(scaled_m2() / static_cast<double>(n - ddof)), scale_);
}

RunningStats::State RunningStats::state() const noexcept {
  return State{skipna_,  n_finite_, n_nan_, n_posinf_, n_neginf_, mean_hi_,
               mean_lo_, m2_hi_,    m2_lo_, scale_,    maxabs_};
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
  r.scale_ = s.scale;
  r.maxabs_ = s.maxabs;
  // A state written with another scale rule (or by hand) is brought to this one's.
  r.rescale_to(scale_exponent(s.maxabs));
  return r;
}

// The entry points, for each float type.
#define HOTLOOP_MOMENTS_ENTRY_POINTS(T)                                                         \
  template Moments detail::moments_in_blocks<T>(const T*, std::ptrdiff_t, std::ptrdiff_t, bool, \
                                                bool, Interrupt*, std::ptrdiff_t) noexcept;     \
  template Moments moments<T>(const T*, std::ptrdiff_t, std::ptrdiff_t, bool, bool,             \
                              Interrupt*) noexcept;                                             \
  template void RunningStats::extend<T>(const T*, std::ptrdiff_t, std::ptrdiff_t,               \
                                        Interrupt*) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_MOMENTS_ENTRY_POINTS)

}  // namespace hotloop
