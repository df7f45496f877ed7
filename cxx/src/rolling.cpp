#include "hotloop/rolling.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "hotloop/detail/float_types.hpp"
#include "hotloop/detail/simd.hpp"
#include "hotloop/detail/twosum.hpp"
#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

using detail::comp_add;
using detail::eight_wide;

constexpr double kU = 0x1p-53;  // unit roundoff of double
constexpr double kTol = kRollingTolerance;
constexpr double kMax = std::numeric_limits<double>::max();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// Outputs per vectorised tile: the variance's tiles stay at 128, where a failed test (redone
// value by value) is cheaper and rarer than in a longer tile, whose error bound is larger
// (rolling_std, n = 1e6, window 10: 2.1 ms with 128, 2.4 ms with 256); the sum's and the mean's
// take kRollingTile, which divides every tile boundary evenly.
constexpr std::ptrdiff_t kTile = 128;
constexpr std::ptrdiff_t kSumTile = kRollingTile;
static_assert(kSumTile % kTile == 0, "hotloop.dask reads to the end of a kRollingTile tile");
constexpr int kLanes = 8;  // independent partial sums in a window's exact recomputation

// False for NaN and +-inf; written as a comparison so that it vectorises.
HOTLOOP_INLINE bool is_finite(double v) noexcept { return std::fabs(v) <= kMax; }

HOTLOOP_INLINE double clamp_m2(double m2) noexcept { return m2 > 0.0 ? m2 : (m2 == m2 ? 0.0 : m2); }

// Scaling. The window works on scaled values v * 2^e (exact: a power of two) so that squares
// neither overflow nor underflow: e < 0 when the window holds values above kScaleDown (up to
// 1.8e308, whose squares and differences overflow), e > 0 when all its deviations from the mean
// are below kScaleUp (their squares would underflow, taking the variance and the error test
// with them). Ordinary data keep e = 0, take the vectorised path and are unchanged bit for bit.
// A value that arrives later out of range shows in the sums: above kBig or not finite (too
// large), or a nonzero window whose S2 fell below kSmall (too small, or underflowed): the test
// fails and the window is rebuilt with a new e.
constexpr double kScaleDown = 0x1p400;
constexpr double kScaleUp = 0x1p-400;
constexpr double kBig = 0x1p900;
constexpr double kSmall = 0x1p-800;
constexpr int kMaxUpScale = 1000;  // 2^e stays a normal double

// Whether the sums are in the range where the rounding-error bounds hold (see Scaling).
HOTLOOP_INLINE bool in_range(double s1, double s2) noexcept {
  return (std::fabs(s2) <= kBig) & ((s2 >= kSmall) | ((s2 == 0.0) & (s1 == 0.0)));
}

#if defined(__GNUC__) && !defined(__clang__)
#define HOTLOOP_VECTOR_EXT 1
// Eight doubles as one value (GCC vector extensions): one zmm register with AVX-512, two ymm
// with AVX2, four xmm on baseline x86-64 -- the same arithmetic, in the same order, on each.
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64)));

HOTLOOP_INLINE v8d load8(const double* p) noexcept {
  v8d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

HOTLOOP_INLINE void store8(double* p, v8d v) noexcept { std::memcpy(p, &v, sizeof v); }

HOTLOOP_INLINE v8d abs8(v8d v) noexcept {
  constexpr long long m = 0x7fffffffffffffffLL;
  return reinterpret_cast<v8d>(reinterpret_cast<v8l>(v) & v8l{m, m, m, m, m, m, m, m});
}

// Inclusive prefix sums of the 8 lanes in three shift-and-add steps (Hillis & Steele):
// lane i ends as ((a_i + a_i-1) + (a_i-2 + a_i-3)) + (the same four steps earlier).
HOTLOOP_INLINE v8d prefix8(v8d v) noexcept {
  const v8d z = {};
  v += __builtin_shuffle(v, z, v8l{8, 0, 1, 2, 3, 4, 5, 6});
  v += __builtin_shuffle(v, z, v8l{8, 8, 0, 1, 2, 3, 4, 5});
  v += __builtin_shuffle(v, z, v8l{8, 8, 8, 8, 0, 1, 2, 3});
  return v;
}

typedef float v8f __attribute__((vector_size(32)));
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));

typedef double v2d __attribute__((vector_size(16)));
typedef long long v2l __attribute__((vector_size(16)));
typedef float v2f __attribute__((vector_size(8)));
typedef float v4f __attribute__((vector_size(16)));

// The integer (mask) and float vector types that go with a vector of N doubles.
template <class V>
struct Lanes;
template <>
struct Lanes<v2d> {
  typedef v2l L;
  typedef v2f F;
  static constexpr int N = 2;
};
template <>
struct Lanes<v4d> {
  typedef v4l L;
  typedef v4f F;
  static constexpr int N = 4;
};

template <>
struct Lanes<v8d> {
  typedef v8l L;
  typedef v8f F;
  static constexpr int N = 8;
};

template <class V>
HOTLOOP_INLINE V absv(V v) noexcept {
  typedef typename Lanes<V>::L L;
  return reinterpret_cast<V>(reinterpret_cast<L>(v) & (L{} + 0x7fffffffffffffffLL));
}

// v where m is all ones, +0.0 where it is zero.
template <class V>
HOTLOOP_INLINE V maskv(V v, typename Lanes<V>::L m) noexcept {
  typedef typename Lanes<V>::L L;
  return reinterpret_cast<V>(reinterpret_cast<L>(v) & m);
}

// The larger of a and b lane by lane (b where they compare false), by bitwise selection.
template <class V>
HOTLOOP_INLINE V maxv(V a, V b) noexcept {
  typedef typename Lanes<V>::L L;
  const L m = a > b;
  return reinterpret_cast<V>((reinterpret_cast<L>(a) & m) | (reinterpret_cast<L>(b) & ~m));
}

// out[k] = lane k % N of v[k / N], for the 8 lanes of 8 / N vectors of N.
template <class V, int G, class U>
HOTLOOP_INLINE void unpack8(const V (&v)[G], U* out) noexcept {
  constexpr int N = 8 / G;
  for (int k = 0; k < 8; ++k) out[k] = static_cast<U>(v[k / N][k % N]);
}

template <class V, class T>
HOTLOOP_INLINE V loadv_as_double(const T* p) noexcept {
  if constexpr (sizeof(T) == sizeof(double)) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  } else {
    typename Lanes<V>::F f;
    std::memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, V);
  }
}

// Whether the exact recomputation may take 4-wide vectors: in the clones for AVX2 and AVX-512
// (the CPU has AVX2 exactly when one of them runs), or in a single build for AVX2. GCC 12 turns
// comparisons of vectors wider than the target's registers into scalar code, so the baseline
// clone keeps 2-wide ones (measured, 999 values: 0.8 us with 4-wide vectors on AVX2, 11 us on
// baseline x86-64; 1.6 us with 2-wide on both). Both give the same bits: lane k does the same
// operations in the same order whatever the width.
HOTLOOP_INLINE bool four_wide() noexcept {
#if defined(HOTLOOP_NO_MULTIVERSION) || !(defined(__x86_64__) || defined(__i386__))
#ifdef __AVX2__
  return true;
#else
  return false;
#endif
#else
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#endif
}

template <class V, class T>
HOTLOOP_INLINE void storev_as(T* p, V v) noexcept {
  if constexpr (sizeof(T) == sizeof(double)) {
    std::memcpy(p, &v, sizeof v);
  } else {
    const typename Lanes<V>::F f = __builtin_convertvector(v, typename Lanes<V>::F);
    std::memcpy(p, &f, sizeof f);
  }
}
#endif

// Summary of the current window: shifted sums, their rounding-error bounds, and counts.
struct Window {
  double K = 0.0;   // shift (scaled), close to the window mean after every rebuild
  double S1 = 0.0;  // sum(x * sc - K) over finite values
  double S2 = 0.0;  // sum((x * sc - K)^2) over finite values
  double E1 = 0.0;  // bound on the accumulated rounding error of S1 since the last rebuild
  double E2 = 0.0;  // same for S2
  double sc = 1.0;  // 2^e, the scale (see Scaling)
  int e = 0;
  std::ptrdiff_t cnt = 0, npos = 0, nneg = 0;  // finite values, +inf, -inf

  // Exact recomputation over x[lo..hi): a shifted, compensated two-pass, scaled if needed.
  // Every block of the parallel wrapper starts with one, over window - 1 values (the sum's and
  // the mean's with rebuild_sum's single pass), so its cost sets how small blocks can be: the
  // passes run on kLanes independent compensated sums (one chain of dependent additions would take
  // a float add's latency per value), combined at the end with the same compensation. Non-finite
  // values contribute an exact 0.
  template <class T>
  HOTLOOP_INLINE void rebuild(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo,
                              std::ptrdiff_t hi) noexcept {
    double K0 = first_scaled(x, xs, lo, hi, 1.0);
    double H, Lo, A;
    first_pass(x, xs, lo, hi, K0, H, Lo, A);
    e = 0;
    sc = 1.0;
    if (A > kScaleDown) {
      // Differences of huge values may have overflowed: centre again on scaled values.
      set_scale(-(std::ilogb(A) + 1));
      K0 = first_scaled(x, xs, lo, hi, sc);
      H = Lo = 0.0;
      for (std::ptrdiff_t i = lo; i < hi; ++i) {
        const double v = static_cast<double>(x[i * xs]);
        if (is_finite(v)) comp_add(H, Lo, v * sc - K0);
      }
    }
    K = cnt > 0 ? K0 + (H + Lo) / static_cast<double>(cnt) : 0.0;
    const double dmax = second_pass(x, xs, lo, hi);
    if (e == 0 && dmax != 0.0 && dmax < kScaleUp) {
      // Tiny deviations: scale up (K too, exactly) so that their squares stay normal.
      const int up = -(std::ilogb(dmax) + 1);
      set_scale(up < kMaxUpScale ? up : kMaxUpScale);
      K = std::ldexp(K, e);
      second_pass(x, xs, lo, hi);
    }
    E1 = E2 = 0.0;
  }

  // For the sum and the mean, whose vectorised tiles keep S1 only: the first pass alone, with
  // K the window's first finite value (the full rebuild makes a second pass for S1 and S2
  // about the mean; this one costs half as much, which is what a block's start costs the sum
  // at long windows). E1 takes the compensated sum's own error: u|S1| for the final rounding,
  // and (n u)^2 sum |x - K| for the rest (Ogita, Rump and Oishi's Sum2), which is
  // negligible. S2 is left stale. Returns false, the window to be rebuilt in full, when the
  // values need scaling.
  template <class T>
  HOTLOOP_INLINE bool rebuild_sum(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo,
                                  std::ptrdiff_t hi) noexcept {
    const double K0 = first_scaled(x, xs, lo, hi, 1.0);
    double H, Lo, A;
    first_pass(x, xs, lo, hi, K0, H, Lo, A);
    if (!(A <= kScaleDown)) return false;
    e = 0;
    sc = 1.0;
    K = K0;
    S1 = H + Lo;
    S2 = 0.0;
    const double n = static_cast<double>(hi - lo);
    E1 = 2.0 * kU * std::fabs(S1) + (n * kU) * (n * kU) * (n * 2.0 * A) * 2.0;
    E2 = 0.0;
    return true;
  }

  // Compensated sum of x - K0 over the finite values of x[lo..hi) (H + Lo), the largest |x|
  // among them (A), and the counts.
  template <class T>
  HOTLOOP_INLINE void first_pass(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo,
                                 std::ptrdiff_t hi, double K0, double& H, double& Lo,
                                 double& A) noexcept {
    double h[kLanes] = {}, l[kLanes] = {}, amax[kLanes] = {};
    std::ptrdiff_t fin[kLanes] = {}, pos[kLanes] = {}, neg[kLanes] = {};
    std::ptrdiff_t from = lo;
#ifdef HOTLOOP_VECTOR_EXT
    if (xs == 1) from = first_pass8(x, lo, hi, K0, h, l, amax, fin, pos, neg);
#endif
    for_lanes(from, hi, [&](std::ptrdiff_t i, int k) {
      const double v = static_cast<double>(x[i * xs]);
      const bool f = is_finite(v);
      const double d = f ? v - K0 : 0.0;
      comp_add(h[k], l[k], d);
      const double a = f ? std::fabs(v) : 0.0;
      amax[k] = a > amax[k] ? a : amax[k];
      fin[k] += f;
      pos[k] += !f & (v > 0);
      neg[k] += !f & (v < 0);
    });
    H = Lo = A = 0.0;
    cnt = npos = nneg = 0;
    for (int k = 0; k < kLanes; ++k) {
      comp_add(H, Lo, h[k]);
      Lo += l[k];
      A = amax[k] > A ? amax[k] : A;
      cnt += fin[k];
      npos += pos[k];
      nneg += neg[k];
    }
  }

  void set_scale(int exponent) noexcept {
    e = exponent;
    sc = std::ldexp(1.0, exponent);
  }

  // The first finite value of x[lo..hi) times scale (0 when there is none).
  template <class T>
  static double first_scaled(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo, std::ptrdiff_t hi,
                             double scale) noexcept {
    for (std::ptrdiff_t i = lo; i < hi; ++i) {
      const double v = static_cast<double>(x[i * xs]);
      if (is_finite(v)) return v * scale;
    }
    return 0.0;
  }

  // S1 and S2 around K; returns max |x * sc - K|.
  template <class T>
  HOTLOOP_INLINE double second_pass(const T* x, std::ptrdiff_t xs, std::ptrdiff_t lo,
                                    std::ptrdiff_t hi) noexcept {
    double h1[kLanes] = {}, l1[kLanes] = {}, h2[kLanes] = {}, l2[kLanes] = {};
    double dm[kLanes] = {};
    std::ptrdiff_t from = lo;
#ifdef HOTLOOP_VECTOR_EXT
    if (xs == 1) from = second_pass8(x, lo, hi, h1, l1, h2, l2, dm);
#endif
    for_lanes(from, hi, [&](std::ptrdiff_t i, int k) {
      const double v = static_cast<double>(x[i * xs]);
      const double d = is_finite(v) ? v * sc - K : 0.0;
      comp_add(h1[k], l1[k], d);
      comp_add(h2[k], l2[k], d * d);
      dm[k] = std::fabs(d) > dm[k] ? std::fabs(d) : dm[k];
    });
    double H1 = 0.0, L1 = 0.0, H2 = 0.0, L2 = 0.0, dmax = 0.0;
    for (int k = 0; k < kLanes; ++k) {
      comp_add(H1, L1, h1[k]);
      L1 += l1[k];
      comp_add(H2, L2, h2[k]);
      L2 += l2[k];
      dmax = dm[k] > dmax ? dm[k] : dmax;
    }
    S1 = H1 + L1;
    S2 = H2 + L2;
    return dmax;
  }

#ifdef HOTLOOP_VECTOR_EXT
  // The whole groups of kLanes values of a contiguous x[lo..hi) for rebuild's first pass, lane k
  // taking the group's value k (N lanes per vector of N, see four_wide): the same operations, in
  // the same order per lane, as the scalar lanes, so that every stride gives the same bits.
  // Returns where the scalar lanes take over.
  template <class T>
  static HOTLOOP_INLINE std::ptrdiff_t first_pass8(const T* x, std::ptrdiff_t lo, std::ptrdiff_t hi,
                                                   double K0, double* h, double* l, double* amax,
                                                   std::ptrdiff_t* fin, std::ptrdiff_t* pos,
                                                   std::ptrdiff_t* neg) noexcept {
    return four_wide() ? first_pass_v<v4d>(x, lo, hi, K0, h, l, amax, fin, pos, neg)
                       : first_pass_v<v2d>(x, lo, hi, K0, h, l, amax, fin, pos, neg);
  }

  template <class V, class T>
  static HOTLOOP_INLINE std::ptrdiff_t first_pass_v(const T* x, std::ptrdiff_t lo,
                                                    std::ptrdiff_t hi, double K0, double* h,
                                                    double* l, double* amax, std::ptrdiff_t* fin,
                                                    std::ptrdiff_t* pos,
                                                    std::ptrdiff_t* neg) noexcept {
    constexpr int N = Lanes<V>::N, G = kLanes / N;
    typedef typename Lanes<V>::L L;
    const V zero = {}, k0 = zero + K0, big = zero + kMax;
    V vh[G] = {}, vl[G] = {}, va[G] = {};
    L vf[G] = {}, vp[G] = {}, vn[G] = {};
    std::ptrdiff_t i = lo;
    for (; i + kLanes <= hi; i += kLanes) {
      for (int j = 0; j < G; ++j) {
        const V v = loadv_as_double<V>(x + i + N * j);
        const L f = absv(v) <= big;  // all ones where finite
        const V d = maskv(v - k0, f);
        detail::comp_add(vh[j], vl[j], d);
        const V a = maskv(absv(v), f);
        va[j] = maxv(a, va[j]);
        vf[j] -= f;
        vp[j] -= ~f & (v > zero);
        vn[j] -= ~f & (v < zero);
      }
    }
    unpack8(vh, h);
    unpack8(vl, l);
    unpack8(va, amax);
    unpack8(vf, fin);
    unpack8(vp, pos);
    unpack8(vn, neg);
    return i;
  }

  // The same for second_pass.
  template <class T>
  HOTLOOP_INLINE std::ptrdiff_t second_pass8(const T* x, std::ptrdiff_t lo, std::ptrdiff_t hi,
                                             double* h1, double* l1, double* h2, double* l2,
                                             double* dm) const noexcept {
    return four_wide() ? second_pass_v<v4d>(x, lo, hi, h1, l1, h2, l2, dm)
                       : second_pass_v<v2d>(x, lo, hi, h1, l1, h2, l2, dm);
  }

  template <class V, class T>
  HOTLOOP_INLINE std::ptrdiff_t second_pass_v(const T* x, std::ptrdiff_t lo, std::ptrdiff_t hi,
                                              double* h1, double* l1, double* h2, double* l2,
                                              double* dm) const noexcept {
    constexpr int N = Lanes<V>::N, G = kLanes / N;
    const V zero = {}, big = zero + kMax, scv = zero + sc, kv = zero + K;
    V vh1[G] = {}, vl1[G] = {}, vh2[G] = {}, vl2[G] = {}, vd[G] = {};
    std::ptrdiff_t i = lo;
    for (; i + kLanes <= hi; i += kLanes) {
      for (int j = 0; j < G; ++j) {
        const V v = loadv_as_double<V>(x + i + N * j);
        const V d = maskv(v * scv - kv, absv(v) <= big);
        detail::comp_add(vh1[j], vl1[j], d);
        detail::comp_add(vh2[j], vl2[j], d * d);
        vd[j] = maxv(absv(d), vd[j]);
      }
    }
    unpack8(vh1, h1);
    unpack8(vl1, l1);
    unpack8(vh2, h2);
    unpack8(vl2, l2);
    unpack8(vd, dm);
    return i;
  }
#endif

  // Calls f(i, k) for lo <= i < hi: whole groups of kLanes first, lane k taking the group's
  // value k, then the rest on lanes 0, 1, ...
  template <class F>
  static HOTLOOP_INLINE void for_lanes(std::ptrdiff_t lo, std::ptrdiff_t hi, F&& f) noexcept {
    std::ptrdiff_t i = lo;
    for (; i + kLanes <= hi; i += kLanes) {
      for (int k = 0; k < kLanes; ++k) f(i + k, k);
    }
    for (int k = 0; i < hi; ++i, ++k) f(i, k);
  }

  // A value enters (sign = +1) or leaves (sign = -1). NaNs are not counted.
  // x - K rounds the same way on entry and exit, so only the accumulation itself adds error.
  HOTLOOP_INLINE void update(double v, double sign, std::ptrdiff_t one) noexcept {
    if (is_finite(v)) {
      const double d = v * sc - K;
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
    if (!in_range(S1, S2)) return false;  // overflowed, underflowed or NaN: rebuild
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
    // Bitwise & on the comparisons, not &&: no branches, so the tile's loop vectorises.
    const bool m2_ok = e2 + 2.0 * std::fabs(s1) * (e1 * inv_c) + 8.0 * kU * s2 <= kTol * m2;
    if constexpr (S == RollingStat::mean) {
      const double t = K * c + s1;
      const double spread = c * (m2 > 0.0 ? m2 : 0.0);
      return m2_ok & (e1 * e1 <= kTol * kTol * (t * t + spread));
    } else {
      return m2_ok;
    }
  }

  HOTLOOP_INLINE double value(RollingStat stat, std::ptrdiff_t min_periods,
                              std::ptrdiff_t ddof) const noexcept {
    const std::ptrdiff_t nobs = cnt + npos + nneg;
    if (nobs < min_periods) return kNaN;
    // pandas: the sum of an empty window is 0 (when min_periods allows it), its mean NaN.
    if (nobs == 0) return stat == RollingStat::sum ? 0.0 : kNaN;
    if (stat == RollingStat::mean || stat == RollingStat::sum) {
      if (npos > 0 && nneg > 0) return kNaN;
      if (npos > 0) return kInf;
      if (nneg > 0) return -kInf;
      const double c = static_cast<double>(cnt);
      const double r = stat == RollingStat::mean ? K + S1 / c : K * c + S1;
      return e == 0 ? r : std::ldexp(r, -e);
    }
    if (npos > 0 || nneg > 0 || cnt <= ddof) return kNaN;
    const double m2 = clamp_m2(S2 - S1 * (S1 / static_cast<double>(cnt)));
    const double var = m2 / static_cast<double>(cnt - ddof);
    if (e == 0) return stat == RollingStat::std ? std::sqrt(var) : var;
    return stat == RollingStat::std ? std::ldexp(std::sqrt(var), -e) : std::ldexp(var, -2 * e);
  }
};

// prefix8 of a group of eight held as two vectors of four (lanes 0-3 and 4-7): every lane
// takes the same additions in the same order, zeros included (-0.0 + 0.0 is +0.0). Two
// variables rather than an array of two: GCC 12 kept the array in memory (3 times slower).
HOTLOOP_INLINE void prefix_halves(v4d& lo, v4d& hi) noexcept {
  const v4d z = {};
  hi += __builtin_shuffle(lo, hi, v4l{3, 4, 5, 6});
  lo += __builtin_shuffle(lo, z, v4l{4, 0, 1, 2});
  hi += __builtin_shuffle(lo, hi, v4l{2, 3, 4, 5});
  lo += __builtin_shuffle(lo, z, v4l{4, 4, 0, 1});
  hi += lo;
  lo += z;
}

// Running sums over a tile: s[j] = S + a[0] + ... + a[j], S updated to the total; returns the
// sum of |s[j]|. Eight steps at a time with an in-register prefix sum, so the only loop-carried
// dependency is one addition per eight outputs. Within a group a partial sum is rounded at most
// three times before the carry is added, which the caller's error bound charges.
// GCC 12 warns that store8 may write past the tile after inlining and unrolling; it cannot:
// j + 8 <= m <= kTile. The false positive is silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
HOTLOOP_INLINE double running_sums(const double* a, double* s, std::ptrdiff_t m, double& S,
                                   double& abs_carry) noexcept {
  double abs_sum = 0.0;
  std::ptrdiff_t j = 0;
  abs_carry = 0.0;
#ifdef HOTLOOP_VECTOR_EXT
  if (eight_wide() || !four_wide()) {
    v8d acc = {};
    for (; j + 8 <= m; j += 8) {
      const v8d p = prefix8(load8(a + j));
      const v8d r = p + S;
      store8(s + j, r);
      S += p[7];  // == r[7], off the vector's critical path
      acc += abs8(r);
    }
    for (int k = 0; k < 8; ++k) abs_sum += acc[k];
    abs_carry = acc[7];
  } else {
    // AVX2: the same additions on the two halves of each group of eight (see eight_wide).
    v4d acc_lo = {}, acc_hi = {};
    for (; j + 8 <= m; j += 8) {
      v4d lo = loadv_as_double<v4d>(a + j), hi = loadv_as_double<v4d>(a + j + 4);
      prefix_halves(lo, hi);
      const v4d r_lo = lo + S, r_hi = hi + S;
      storev_as<v4d>(s + j, r_lo);
      storev_as<v4d>(s + j + 4, r_hi);
      S += hi[3];
      acc_lo += absv(r_lo);
      acc_hi += absv(r_hi);
    }
    for (int k = 0; k < 4; ++k) abs_sum += acc_lo[k];
    for (int k = 0; k < 4; ++k) abs_sum += acc_hi[k];
    abs_carry = acc_hi[3];
  }
#endif
  for (; j < m; ++j) {
    S += a[j];
    s[j] = S;
    abs_sum += std::fabs(S);
    abs_carry += std::fabs(S);
  }
  return abs_sum;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Vectorised tile over full, finite windows: outputs i0 <= i < i1. Returns false when a
// non-finite value enters or an output fails the bound test; the window is then untouched and
// the caller reruns the tile scalar, overwriting whatever this wrote to `out`.
template <class T, bool CONTIG, RollingStat S>
HOTLOOP_INLINE bool fast_tile(Window& w, const T* x, std::ptrdiff_t xs_, std::ptrdiff_t W,
                              std::ptrdiff_t ddof, T* out, std::ptrdiff_t os_, std::ptrdiff_t i0,
                              std::ptrdiff_t i1) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const std::ptrdiff_t m = i1 - i0;
  const double K = w.K;
  constexpr RollingStat kTest = S == RollingStat::sum ? RollingStat::mean : S;
  double a1[kTile], a2[kTile], s1[kTile], s2[kTile];

  // Element-wise: what each step adds to S1 and S2. din^2 and dout^2 round identically when a
  // value enters and when it leaves, so only the subtraction's rounding (<= u|a|) is new error.
  double nonfinite = 0.0, abs_a1 = 0.0, abs_a2 = 0.0;
#pragma omp simd reduction(+ : nonfinite, abs_a1, abs_a2)
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    const double xin = static_cast<double>(x[(i0 + j) * xs]);
    const double xout = static_cast<double>(x[(i0 + j - W) * xs]);
    const double din = xin - K, dout = xout - K;
    a1[j] = din - dout;
    a2[j] = din * din - dout * dout;
    abs_a1 += std::fabs(a1[j]);
    abs_a2 += std::fabs(a2[j]);
    nonfinite += is_finite(xin) ? 0.0 : 1.0;
  }
  if (nonfinite != 0.0) return false;

  double S1 = w.S1, S2 = w.S2;
  double carry1, carry2;
  const double abs_s1 = running_sums(a1, s1, m, S1, carry1);
  const double abs_s2 = running_sums(a2, s2, m, S2, carry2);

  // Error bounds at the end of the tile, used for every output of the tile (conservative). What
  // carries on to later tiles (E1, E2): u|a| for forming a and 3u|a| for the in-register partial
  // sums of each group's total (charged per step), and u|S| for the addition of that total to
  // the running sum, once per group (running_sums' carry). What each output adds of its own
  // (E1_out, E2_out): the 3 roundings of its partial sum (3u|a|) and its addition of the carry
  // (u|s|). Charging everything to the carried bound, as a plain running sum must, made it grow
  // about 7 times as fast along a series, and the test fail that much sooner.
  const double slack = 1.0 + 1e-6;  // the bound's own rounding
  const double E1 = w.E1 + kU * (4.0 * abs_a1 + carry1) * slack;
  const double E2 = w.E2 + kU * (4.0 * abs_a2 + carry2) * slack;
  const double E1_out = E1 + kU * (3.0 * abs_a1 + abs_s1) * slack;
  const double E2_out = E2 + kU * (3.0 * abs_a2 + abs_s2) * slack;

  // Reciprocals instead of divisions: the tile's outputs are not required to match the scalar
  // path bit for bit, only to be deterministic, and division does not vectorise cheaply.
  const double c = static_cast<double>(W);
  const double inv_c = 1.0 / c;
  const double inv_dof = 1.0 / static_cast<double>(W - ddof);
  // An integer count (associative, so no `omp simd` needed: with it, GCC's per-lane arrays
  // stopped this loop from vectorising in the AVX2 and baseline clones).
  long long fails = 0;
  for (std::ptrdiff_t j = 0; j < m; ++j) {
    const double m2 = s2[j] - s1[j] * (s1[j] * inv_c);
    fails += in_range(s1[j], s2[j]) ? 0 : 1;
    fails += Window::within_bound<kTest>(s1[j], s2[j], m2, c, inv_c, E1_out, E2_out, K) ? 0 : 1;
    // A NaN m2 fails the test above, so a plain clamp at 0 is enough here.
    const double var = (m2 > 0.0 ? m2 : 0.0) * inv_dof;
    double r;
    if constexpr (S == RollingStat::mean) {
      r = K + s1[j] * inv_c;
    } else if constexpr (S == RollingStat::sum) {
      r = K * c + s1[j];
    } else if constexpr (S == RollingStat::var) {
      r = var;
    } else {
      r = std::sqrt(var);
    }
    out[(i0 + j) * os] = static_cast<T>(r);
  }
  if (fails != 0) return false;

  w.S1 = S1;
  w.S2 = S2;
  w.E1 = E1;
  w.E2 = E2;
  return true;
}

// The sum and the mean need neither S2 nor the variance's test, only a bound on the error of
// S1 against what the mean's accuracy is measured by: c * sqrt(mean^2 + var) = sqrt(c * sum x^2)
// (see within_bound). That is at least |sum x| = |t|, the window's own sum, and, by
// Cauchy-Schwarz, at least B = sum |x|. The tile tests E1 <= kTol * |t| first, which costs one
// comparison per output and holds whenever the data are not centred on zero; only tiles that
// fail it form the running B (one more running sum, as costly as S2). Windows of equal values
// must give that value exactly: they are found by counting equal neighbours (a window of W equal
// values is W - 1 equal pairs in a row), written exactly and left out of the test.
// Measured (cxx/bench, n = 1e6, one thread): about 30% less time than the moments tile, which
// keeps S2 and tests every output; bottleneck's move_sum is bound by its one-addition-per-output
// dependency chain, which the in-register prefix sums avoid.
#ifdef HOTLOOP_VECTOR_EXT

// The first r (1..8) values at p as doubles, zeros in the other lanes (reads p[0..r-1] only).
template <class T>
HOTLOOP_INLINE v8d load_first_as_double(const T* p, std::ptrdiff_t r) noexcept {
  T buf[8] = {};
  std::memcpy(buf, p, static_cast<std::size_t>(r) * sizeof(T));
  return loadv_as_double<v8d>(buf);
}

// sum_tile's passes in one loop over a contiguous tile of m <= kSumTile outputs (x and out point
// at the tile's first output): the same sums and outputs as the three loops of the generic path,
// but each value is loaded once and nothing but s1 goes through memory. Measured (n = 1e6): about
// 30% less time per output than the three loops.
// It returns min_m2 (as the loops do): the least, over the tile's outputs, of max(t^2,
// c * (x_j^2 + x_{j-1}^2)). When W >= 2 both are lower bounds on the window's c * sum x^2, and
// the second stays far from zero where the windows' sums cross zero (centred data; |t| alone
// made the test fail on most tiles of N(0, 1) data at windows up to 50).
// abs_carry is the sum of |S1| after each group of 8, lane 7 of the |s| accumulator (r[7] is
// the new S1 exactly), and after each addition of a short last group: only those roundings
// carry on to later tiles (see sum_tile).
// sum_pass_fused's accumulators, lane by lane.
struct FusedSums {
  v8d a1 = {}, in = {}, out = {}, s1 = {};
  v8d lowest = v8d{} + std::numeric_limits<double>::infinity();
  v8l eq = {};
  double tail_carry = 0.0;
};

// One group of eight outputs of sum_pass_fused, at s1 + j; returns the outputs. In the last
// group of a tile whose length is not a multiple of eight only lanes 0..r-1 hold values (the
// others zeros: no value, no equal pair, no bound), and their running sums are formed one
// addition at a time, as running_sums' tail does for the other layouts (strided rows, the same
// series, must give the same bits); every such addition's rounding carries on (tail_carry).
template <RollingStat S>
HOTLOOP_INLINE v8d fused_group(FusedSums& f, double& S1, double* s1, std::ptrdiff_t j, v8d xin,
                               v8d xout, v8d xprev, std::ptrdiff_t r, double K, double Kc, v8d cv,
                               double inv_c) noexcept {
  const v8l lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8l live = lane < r;
  const v8d a = xin - xout;
  f.a1 += abs8(a);
  f.in += abs8(xin);
  f.out += abs8(xout);
  v8d sums;
  if (r == 8) {
    f.eq -= (xin == xprev);  // -1 in each lane where equal
    const v8d p = prefix8(a);
    sums = p + S1;
    S1 += p[7];
    f.s1 += abs8(sums);
  } else {
    f.eq -= (xin == xprev) & live;
    sums = v8d{};
    for (std::ptrdiff_t k = 0; k < r; ++k) {
      S1 += a[k];
      sums[k] = S1;
      f.tail_carry += std::fabs(S1);
    }
    f.s1 += live ? abs8(sums) : v8d{};
  }
  store8(s1 + j, sums);
  const v8d t = sums + Kc;
  const v8d tt = t * t;
  const v8d q = cv * (xin * xin + xprev * xprev);
  const v8d l = tt > q ? tt : q;
  f.lowest = (l < f.lowest) & live ? l : f.lowest;
  return S == RollingStat::mean ? sums * inv_c + K : t;
}

template <class T, RollingStat S>
HOTLOOP_INLINE void sum_pass_fused(const T* x, std::ptrdiff_t m, std::ptrdiff_t W, T* out, double K,
                                   double Kc, double c, double inv_c, double& S1, double* s1,
                                   double& abs_a1, double& abs_in, double& abs_out, double& abs_s1,
                                   double& abs_carry, double& min_m2, long long& equal) noexcept {
  FusedSums f;
  const v8d cv = v8d{} + c;
  std::ptrdiff_t j = 0;
  for (; j + 8 <= m; j += 8)
    storev_as<v8d>(out + j, fused_group<S>(f, S1, s1, j, loadv_as_double<v8d>(x + j),
                                           loadv_as_double<v8d>(x + j - W),
                                           loadv_as_double<v8d>(x + j - 1), 8, K, Kc, cv, inv_c));
  if (j < m) {
    // s1 has room for the whole group: j + 8 <= kSumTile whenever j < m <= kSumTile.
    const std::ptrdiff_t r = m - j;
    const v8d v = fused_group<S>(f, S1, s1, j, load_first_as_double(x + j, r),
                                 load_first_as_double(x + j - W, r),
                                 load_first_as_double(x + j - 1, r), r, K, Kc, cv, inv_c);
    T buf[8];
    storev_as<v8d>(buf, v);
    std::memcpy(out + j, buf, static_cast<std::size_t>(r) * sizeof(T));
  }
  for (int k = 0; k < 8; ++k) {
    abs_a1 += f.a1[k];
    abs_in += f.in[k];
    abs_out += f.out[k];
    abs_s1 += f.s1[k];
    min_m2 = f.lowest[k] < min_m2 ? f.lowest[k] : min_m2;
    equal += f.eq[k];
  }
  abs_carry = f.s1[7] + f.tail_carry;
}
#endif

struct SumTrack {
  double B = 0.0;   // sum |x| over the window (finite values), when b_valid
  double EB = 0.0;  // bound on the rounding error of B
  bool b_valid = false;
  std::ptrdiff_t run = -1;  // equal neighbours x[p] == x[p-1] in a row ending at the window's
                            // last value, capped at W - 1; -1 when not known
  bool refresh = false;     // the cheap bound tests failed: rebuild before the next tile
};

// Values up to this magnitude keep every sum of the fast tiles finite (see Scaling).
constexpr double kSumTileMax = kScaleDown;

template <class T, bool CONTIG>
void sum_track_start(SumTrack& st, const T* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                     std::ptrdiff_t i) noexcept {
  // The window of output i - 1 is x[i - W .. i - 1], all finite.
  if (!st.b_valid) {
    // A vectorised reduction: the bound below holds for any order of the additions.
    double b = 0.0;
#pragma omp simd reduction(+ : b)
    for (std::ptrdiff_t p = i - W; p < i; ++p) b += std::fabs(static_cast<double>(x[p * xs]));
    st.B = b;
    st.EB = kU * static_cast<double>(W) * b * (1.0 + 1e-6);  // W additions of values >= 0
    st.b_valid = true;
  }
  if (st.run < 0) {
    std::ptrdiff_t r = 0;
    while (r < W - 1 && x[(i - 1 - r) * xs] == x[(i - 2 - r) * xs]) ++r;
    st.run = r;
  }
}

// Vectorised tile of the sum or the mean over full, finite windows, as fast_tile: false (and the
// state untouched) when a non-finite or huge value enters or the bound fails. On success w.S1
// and w.E1 are up to date but w.S2 and w.E2 are not: the caller rebuilds before a scalar step.
template <class T, bool CONTIG, RollingStat S>
HOTLOOP_INLINE bool sum_tile(Window& w, SumTrack& st, const T* x, std::ptrdiff_t xs_,
                             std::ptrdiff_t W, T* out, std::ptrdiff_t os_, std::ptrdiff_t i0,
                             std::ptrdiff_t i1) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const std::ptrdiff_t m = i1 - i0;
  const double K = w.K;
  double a1[kSumTile], s1[kSumTile];
  const double c = static_cast<double>(W);
  const double inv_c = 1.0 / c;
  const double Kc = K * c;

  // xin - xout rounds once (<= u|a|), as (xin - K) - (xout - K) would: S1 stays sum(x - K).
  double abs_a1 = 0.0, abs_in = 0.0, abs_out = 0.0, abs_s1 = 0.0;
  double min_m2 = std::numeric_limits<double>::infinity();
  double abs_carry = 0.0;
  long long equal = 0;
  double S1 = w.S1;
  bool fused = false;
#ifdef HOTLOOP_VECTOR_EXT
  if constexpr (CONTIG) {
    // Where eight doubles fill a register only (see eight_wide): the three loops below give
    // the same bits, and GCC keeps their vectors at the target's own width.
    if (eight_wide()) {
      sum_pass_fused<T, S>(x + i0, m, W, out + i0, K, Kc, c, inv_c, S1, s1, abs_a1, abs_in, abs_out,
                           abs_s1, abs_carry, min_m2, equal);
      fused = true;
    }
  }
#endif
  if (!fused) {
#pragma omp simd reduction(+ : abs_a1, abs_in, abs_out, equal)
    for (std::ptrdiff_t j = 0; j < m; ++j) {
      const double xin = static_cast<double>(x[(i0 + j) * xs]);
      const double xout = static_cast<double>(x[(i0 + j - W) * xs]);
      const double xprev = static_cast<double>(x[(i0 + j - 1) * xs]);
      a1[j] = xin - xout;
      abs_a1 += std::fabs(a1[j]);
      abs_in += std::fabs(xin);
      abs_out += std::fabs(xout);
      equal += xin == xprev ? 1 : 0;
    }
    abs_s1 = running_sums(a1, s1, m, S1, abs_carry);
    // min_m2 as the fused pass forms it, so that both take the same decisions.
#pragma omp simd reduction(min : min_m2)
    for (std::ptrdiff_t j = 0; j < m; ++j) {
      const double t = s1[j] + Kc;
      out[(i0 + j) * os] = static_cast<T>(S == RollingStat::mean ? s1[j] * inv_c + K : t);
      const double xin = static_cast<double>(x[(i0 + j) * xs]);
      const double xprev = static_cast<double>(x[(i0 + j - 1) * xs]);
      const double tt = t * t;
      const double q = c * (xin * xin + xprev * xprev);
      const double l = tt > q ? tt : q;
      min_m2 = l < min_m2 ? l : min_m2;
    }
  }
  // NaN, inf or a value too large for unscaled sums (the sum of |x| then exceeds the limit).
  if (!(abs_in <= kSumTileMax)) return false;

  // As in fast_tile: what carries on (E1) apart from each output's own errors (E1_out).
  // Every output also carries the rounding of K * c (the same for the whole tile), which is
  // not small against the window's sum when K is far from the window's mean.
  const double slack = 1.0 + 1e-6;
  const double E1 = w.E1 + kU * (4.0 * abs_a1 + abs_carry) * slack;
  const double E1_out = E1 + kU * (3.0 * abs_a1 + abs_s1 + std::fabs(Kc)) * slack;
  // B at the end of the tile, from two m-term sums (each within (m - 1)u of exact) and their
  // difference.
  const double B = st.B + (abs_in - abs_out);
  const double EB =
      st.EB + kU * (static_cast<double>(m + 1) * (abs_in + abs_out) + std::fabs(B)) * slack;

  // The computed t is within E1 + u|t| of the true sum: test against that lower bound.
  const double tol_e1 = E1_out * (1.0 + kTol) / (1.0 - 4.0 * kU);
  std::ptrdiff_t run;
  if (st.run + equal >= W - 1) {
    // Some window may hold equal values only: exact outputs there, the others tested against
    // max(|t|, B) (B formed one step at a time, within the same bound EB).
    run = st.run;
    double bj = st.B, lower = std::numeric_limits<double>::infinity();
    for (std::ptrdiff_t j = 0; j < m; ++j) {
      const double v = static_cast<double>(x[(i0 + j) * xs]);
      bj += std::fabs(v) - std::fabs(static_cast<double>(x[(i0 + j - W) * xs]));
      run = v == static_cast<double>(x[(i0 + j - 1) * xs]) ? (run < W - 1 ? run + 1 : run) : 0;
      if (run >= W - 1) {
        out[(i0 + j) * os] = static_cast<T>(S == RollingStat::mean ? v : c * v);
      } else {
        const double at = std::fabs(Kc + s1[j]);
        const double b = bj - EB;
        const double l = at > b ? at : b;
        lower = l < lower ? l : lower;
      }
    }
    if (!(tol_e1 <= kTol * lower)) return false;
  } else {
    run = 0;
    while (run < m - 1 && x[(i1 - 1 - run) * xs] == x[(i1 - 2 - run) * xs]) ++run;
    if (run == m - 1 && x[i0 * xs] == x[(i0 - 1) * xs]) run += 1 + st.run;
    run = run < W - 1 ? run : W - 1;
    // Lower bounds on every output's sqrt(c * sum x^2), cheapest first: min_m2 (from the
    // fused pass or the loops, the same value); then the sum of |x| at the tile's start less
    // everything that leaves (free, and enough when the window is long against the tile: W = 1000
    // keeps 3/4 of it). This branch has W >= 2 (W = 1 takes the one above), so x_j and x_{j-1}
    // share a window. min_m2 is within 4u of its value when it is a normal double (4 roundings); it
    // is not trusted below 2^-900, where the squares could have lost digits or underflowed.
    const double b_lower =
        ((st.B - st.EB) - abs_out * (1.0 + static_cast<double>(m + 2) * kU)) * (1.0 - 2.0 * kU);
    const bool cheap =
        (min_m2 >= 0x1p-900) & (tol_e1 <= kTol * std::sqrt(min_m2 * (1.0 - 16.0 * kU)));
    if (!cheap && !(tol_e1 <= kTol * b_lower)) {
      // The error bound has grown since the last exact start (it only grows): start the next
      // tile from an exact recomputation, which costs one pass over the window.
      st.refresh = true;
      // Data centred near zero: the windows' sums of |x| (running, as S1).
      double* aB = a1;
      double* sB = s1;
      double abs_aB = 0.0;
#pragma omp simd reduction(+ : abs_aB)
      for (std::ptrdiff_t j = 0; j < m; ++j) {
        aB[j] = std::fabs(static_cast<double>(x[(i0 + j) * xs])) -
                std::fabs(static_cast<double>(x[(i0 + j - W) * xs]));
        abs_aB += std::fabs(aB[j]);
      }
      double b = st.B;
      double carry_b;
      const double abs_sB = running_sums(aB, sB, m, b, carry_b);
      const double eb = st.EB + kU * (7.0 * abs_aB + 2.0 * abs_sB) * slack;
      double min_b = std::numeric_limits<double>::infinity();
#pragma omp simd reduction(min : min_b)
      for (std::ptrdiff_t j = 0; j < m; ++j) min_b = sB[j] < min_b ? sB[j] : min_b;
      if (!(tol_e1 <= kTol * (min_b - eb))) return false;
    }
  }

  w.S1 = S1;
  w.E1 = E1;
  st.B = B;
  st.EB = EB;
  st.run = run;
  return true;
}

// Short windows, each output computed from its own window alone. Running sums carry an error
// bound that grows with the values that passed through (about u * sum |x_j - x_{j-W}| per
// tile) while the windows' own scale does not: two or three N(0, 1) values are often close to
// each other or to zero, so tiles failed their test and were done again value by value
// (n = 1e6, one thread: window 2 took 3.8 ns per output for the mean and 20 for the std, 5 and
// 7 times bottleneck's time). Computed directly, a window of W values costs W - 1 additions
// for the sum, and W (W - 1) / 2 squared differences for the variance, on eight outputs at once:
//   sum:  the values added oldest first, within (W - 1) u sum |x| <= (W - 1) u sqrt(W sum x^2)
//         of the exact sum, inside the mean's tolerance (see within_bound) whatever the data;
//         the mean is that sum divided by W (one more rounding). Windows of equal values give
//         that value (the mean) or W times it (the sum), rounded once, as the running sums do.
//   var:  sum over pairs i < k of (x_i - x_k)^2, divided by W (W - ddof): the identity
//         sum (x - mean)^2 = sum_{i<k} (x_i - x_k)^2 / W needs no mean, and every term is a
//         difference rounded once, squared and added to terms of its own sign, so the relative
//         error is at most (W (W - 1) / 2 + 2) u on any data, with exact zeros on equal values.
// Those bounds hold while every sum stays finite and well above the subnormal range; an output
// that fails these checks (a NaN, an infinity, an overflow, tiny values) is taken from an exact
// recomputation of its own window (Window::rebuild), as the running sums would. Every output
// depends on its own window only, so blocks, threads and hotloop.dask's tasks agree bit for
// bit. The first W - 1 outputs of a series, whose windows are not full, are done the same way
// over the values they have. Measurements and the limits: rolling.hpp.
constexpr std::ptrdiff_t kDirectSumMax = kRollingDirectSumMax;
constexpr std::ptrdiff_t kDirectVarMax = kRollingDirectVarMax;
constexpr double kDirectTiny = 0x1p-960;  // below this a sum may have lost digits to underflow
constexpr double kDirectHuge = 0x1p1000;

template <RollingStat S>
constexpr std::ptrdiff_t direct_max() noexcept {
  return S == RollingStat::sum || S == RollingStat::mean ? kDirectSumMax : kDirectVarMax;
}

// The output of the window x[j - W + 1 .. j] (x points at x[j], stride xs) when the direct
// formula's bounds hold for it; false otherwise. The vector path below does the same operations
// in the same order on eight outputs, so both give the same bits.
template <class T, RollingStat S>
HOTLOOP_INLINE bool direct_one(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, double c,
                               double denom, double& r) noexcept {
  const double last = static_cast<double>(x[0]);
  if constexpr (S == RollingStat::sum || S == RollingStat::mean) {
    double s = static_cast<double>(x[-(W - 1) * xs]);
    bool eq = s == last;
    for (std::ptrdiff_t k = W - 2; k >= 0; --k) {
      const double v = static_cast<double>(x[-k * xs]);
      s += v;
      eq &= v == last;
    }
    const double e = S == RollingStat::mean ? last : last * c;
    const double m = S == RollingStat::mean ? s / c : s;
    r = eq ? e : m;
    const double as = std::fabs(s);
    return (as <= kMax) & (S == RollingStat::sum || as >= kDirectTiny || s == 0.0);
  } else {
    double acc = 0.0;
    for (std::ptrdiff_t a = 0; a < W - 1; ++a) {
      const double xa = static_cast<double>(x[-a * xs]);
      for (std::ptrdiff_t b = a + 1; b < W; ++b) {
        const double d = xa - static_cast<double>(x[-b * xs]);
        acc += d * d;
      }
    }
    const double var = acc / denom;
    r = S == RollingStat::std ? std::sqrt(var) : var;
    return (acc >= kDirectTiny) & (acc <= kDirectHuge);
  }
}

#ifdef HOTLOOP_VECTOR_EXT
// direct_one's values (the variance for the std) of the N outputs x[0..N-1] (contiguous) in a
// vector V of N doubles, N = 8, 4 or 2 (see eight_wide). What decides whether direct_one would
// accept them goes into three accumulators, reduced once per group: fin stays zero while every
// sum is finite (s * 0 is NaN otherwise), lo and hi are the least and greatest nonzero |sum|.
// (Lane masks combined with & and | made GCC 12 compare lane by lane in the AVX-512 version:
// 2.4 ns per output instead of 0.5 for the mean.)
template <class V, class T, RollingStat S>
HOTLOOP_INLINE V direct_lanes(const T* x, std::ptrdiff_t W, V cv, V denom, V& fin, V& lo,
                              V& hi) noexcept {
  typedef typename Lanes<V>::L L;
  const V zero = {};
  const V last = loadv_as_double<V>(x);
  V s;
  if constexpr (S == RollingStat::sum || S == RollingStat::mean) {
    // dev is zero exactly where direct_one's eq holds for finite values (x - y is never zero
    // for x != y with subnormals kept); lanes with infinities or NaN fail the fin test. (A
    // lane mask combined with &= was scalarised by GCC 12 in the AVX-512 version of the sum.)
    s = loadv_as_double<V>(x - (W - 1));
    V dev = absv(s - last);
    for (std::ptrdiff_t k = W - 2; k >= 0; --k) {
      const V v = loadv_as_double<V>(x - k);
      s += v;
      dev += absv(v - last);
    }
    const L eq = dev == zero;
    fin += s * zero;
    const V e = S == RollingStat::mean ? last : last * cv;
    if constexpr (S == RollingStat::sum) return eq ? e : s;
    const V as = absv(s);
    const V nz = as > zero ? as : zero + kMax;
    lo = nz < lo ? nz : lo;
    return eq ? e : s / cv;
  } else {
    s = zero;
    for (std::ptrdiff_t a = 0; a < W - 1; ++a) {
      const V xa = loadv_as_double<V>(x - a);
      for (std::ptrdiff_t b = a + 1; b < W; ++b) {
        const V d = xa - loadv_as_double<V>(x - b);
        s += d * d;
      }
    }
    fin += s * zero;
    lo = s < lo ? s : lo;
    hi = s > hi ? s : hi;
    return s / denom;
  }
}
#endif

// An output that direct_one refused: zero for a window of equal finite values (the variance),
// else the exact recomputation of its window.
// Kept out of line: it is rare, and inlined it would double the size of the vector loop.
#if defined(__GNUC__)
#define HOTLOOP_COLD __attribute__((noinline, cold))
#define HOTLOOP_NOINLINE __attribute__((noinline))
#else
#define HOTLOOP_COLD
#define HOTLOOP_NOINLINE
#endif
template <class T, RollingStat S>
HOTLOOP_COLD double direct_fallback(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                                    std::ptrdiff_t j, std::ptrdiff_t min_periods,
                                    std::ptrdiff_t ddof) noexcept {
  const double last = static_cast<double>(x[j * xs]);
  if constexpr (S == RollingStat::var || S == RollingStat::std) {
    bool eq = std::fabs(last) <= kMax;
    for (std::ptrdiff_t k = 1; k < W; ++k) eq &= static_cast<double>(x[(j - k) * xs]) == last;
    if (eq) return 0.0;
  }
  Window w;
  w.rebuild(x, xs, j - W + 1, j + 1);
  return w.value(S, min_periods, ddof);
}

// An output whose window is not full yet (j < W - 1): the j + 1 values x[0..j], by the direct
// formula where it holds, else their exact recomputation. (The running sums' set-up took 100 ns
// for these few outputs, a quarter of a short rolling call from Python.)
template <class T, RollingStat S>
HOTLOOP_NOINLINE double direct_partial(const T* x, std::ptrdiff_t xs, std::ptrdiff_t j,
                                       std::ptrdiff_t min_periods, std::ptrdiff_t ddof) noexcept {
  const std::ptrdiff_t n = j + 1;
  // At most n values, whatever they are: below min_periods, or (the variance) not above ddof.
  if (n < min_periods) return kNaN;
  if ((S == RollingStat::var || S == RollingStat::std) && n <= ddof) return kNaN;
  const double c = static_cast<double>(n);
  double r;
  if (direct_one<T, S>(x + j * xs, xs, n, c, c * static_cast<double>(n - ddof), r)) return r;
  return direct_fallback<T, S>(x, xs, n, j, min_periods, ddof);  // the window x[0..j]
}

#ifdef HOTLOOP_VECTOR_EXT
// Contiguous outputs from j on by the direct formulas, in groups of kGroup checked once per
// group (extracting a mask per vector cost more than the sums): a group with any refused
// output is done again one by one. Returns where the groups stopped (fewer than kGroup left).
template <class V, class T, RollingStat S>
HOTLOOP_INLINE std::ptrdiff_t direct_groups(const T* x, std::ptrdiff_t W,
                                            std::ptrdiff_t min_periods, std::ptrdiff_t ddof, T* out,
                                            std::ptrdiff_t j, std::ptrdiff_t end) noexcept {
  constexpr std::ptrdiff_t kGroup = 64;
  constexpr int N = Lanes<V>::N;
  const double c = static_cast<double>(W);
  const double denom = c * static_cast<double>(W - ddof);  // exact: both below 2^26 here
  const V cv = V{} + c, dv = V{} + denom;
  for (; j + kGroup <= end; j += kGroup) {
    V fin = {}, lo = {}, hi = {};
    lo += kMax;
    if constexpr (S == RollingStat::std) {
      double var[kGroup];
      for (std::ptrdiff_t g = 0; g < kGroup; g += N)
        storev_as<V>(var + g, direct_lanes<V, T, S>(x + j + g, W, cv, dv, fin, lo, hi));
#pragma omp simd
      for (std::ptrdiff_t g = 0; g < kGroup; ++g) out[j + g] = static_cast<T>(std::sqrt(var[g]));
    } else {
      for (std::ptrdiff_t g = 0; g < kGroup; g += N)
        storev_as<V>(out + j + g, direct_lanes<V, T, S>(x + j + g, W, cv, dv, fin, lo, hi));
    }
    bool all = true;
    for (int k = 0; k < N; ++k) {
      all &= fin[k] == 0.0;
      if constexpr (S == RollingStat::mean) all &= lo[k] >= kDirectTiny;
      if constexpr (S == RollingStat::var || S == RollingStat::std)
        all &= (lo[k] >= kDirectTiny) & (hi[k] <= kDirectHuge);
    }
    if (!all) {
      for (std::ptrdiff_t g = j; g < j + kGroup; ++g) {
        double r;
        if (!direct_one<T, S>(x + g, 1, W, c, denom, r))
          out[g] = static_cast<T>(direct_fallback<T, S>(x, 1, W, g, min_periods, ddof));
      }
    }
  }
  return j;
}
#endif

// Outputs begin <= j < end by the direct formulas (W at most direct_max<S>()).
template <class T, bool CONTIG, RollingStat S>
HOTLOOP_INLINE void direct_block(const T* x, std::ptrdiff_t xs_, std::ptrdiff_t W,
                                 std::ptrdiff_t min_periods, std::ptrdiff_t ddof, T* out,
                                 std::ptrdiff_t os_, std::ptrdiff_t begin,
                                 std::ptrdiff_t end) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  const double c = static_cast<double>(W);
  const double denom = c * static_cast<double>(W - ddof);  // exact: both below 2^26 here
  std::ptrdiff_t j = begin;
  for (; j < end && j < W - 1; ++j)
    out[j * os] = static_cast<T>(direct_partial<T, S>(x, xs, j, min_periods, ddof));
#ifdef HOTLOOP_VECTOR_EXT
  if constexpr (CONTIG) {
    if (eight_wide())
      j = direct_groups<v8d, T, S>(x, W, min_periods, ddof, out, j, end);
    else if (four_wide())
      j = direct_groups<v4d, T, S>(x, W, min_periods, ddof, out, j, end);
    else
      j = direct_groups<v2d, T, S>(x, W, min_periods, ddof, out, j, end);
  }
#endif
  for (; j < end; ++j) {
    double r;
    if (!direct_one<T, S>(x + j * xs, xs, W, c, denom, r))
      r = direct_fallback<T, S>(x, xs, W, j, min_periods, ddof);
    out[j * os] = static_cast<T>(r);
  }
}

// Outputs begin <= i < end by running sums, in tiles that end at origin + k * tile (origin <=
// begin: the block's first output, where earlier outputs of the block came from elsewhere).
template <class T, bool CONTIG, RollingStat S>
HOTLOOP_INLINE void block_running(const T* x, std::ptrdiff_t xs_, std::ptrdiff_t W,
                                  std::ptrdiff_t min_periods, std::ptrdiff_t ddof, T* out,
                                  std::ptrdiff_t os_, std::ptrdiff_t origin, std::ptrdiff_t begin,
                                  std::ptrdiff_t end) noexcept {
  const std::ptrdiff_t xs = CONTIG ? 1 : xs_;
  const std::ptrdiff_t os = CONTIG ? 1 : os_;
  constexpr RollingStat stat = S;
  constexpr bool kSumOrMean = S == RollingStat::sum || S == RollingStat::mean;
  // Sums share the mean's error test: the sum is count * mean.
  constexpr RollingStat test = S == RollingStat::sum ? RollingStat::mean : S;
  // The block starts window - 1 values early with an exact summary of what precedes `begin`.
  const std::ptrdiff_t first = begin - W + 1 > 0 ? begin - W + 1 : 0;
  Window w;
  SumTrack st;
  bool s2_stale = false;  // after sum tiles, which do not keep S2
  std::ptrdiff_t i = begin;
  if (kSumOrMean && begin >= W - 1 && w.rebuild_sum(x, xs, first, begin + 1)) {
    // The sum and the mean start from the whole window of `begin` in one pass instead.
    out[begin * os] = static_cast<T>(w.value(stat, min_periods, ddof));
    s2_stale = true;
    i = begin + 1;
  } else {
    w.rebuild(x, xs, first, begin);
  }
  // Fast tiles need the window of output i - 1 to be full: x[i - W .. i - 1] inside the block's
  // reach. That holds from output first + W on, so the restart takes one scalar step (the window
  // of `begin` is one value short after the rebuild), not a whole tile of them; the rest of that
  // tile is a short fast tile. Tiles still end at begin + k * tile, which hotloop.dask relies
  // on to reproduce a block from the values up to the end of a tile.
  constexpr std::ptrdiff_t tile = kSumOrMean ? kSumTile : kTile;
  const std::ptrdiff_t fast_from = first + W;
  while (i < end) {
    const std::ptrdiff_t next = origin + ((i - origin) / tile + 1) * tile;
    std::ptrdiff_t tile_end = next < end ? next : end;
    if (i < fast_from && fast_from < tile_end) tile_end = fast_from;
    if (kSumOrMean && st.refresh) {
      // Set only by a sum tile, after which the window of output i - 1 is full and finite.
      s2_stale = w.rebuild_sum(x, xs, i - W, i);
      if (!s2_stale) w.rebuild(x, xs, i - W, i);
      st.refresh = false;
    }
    // Fast tiles need a full window of finite values before the tile starts.
    if (i - W >= first && w.cnt == W && w.e == 0) {
      if constexpr (kSumOrMean) {
        sum_track_start<T, CONTIG>(st, x, xs, W, i);
        if (sum_tile<T, CONTIG, S>(w, st, x, xs, W, out, os, i, tile_end)) {
          s2_stale = true;
          i = tile_end;
          continue;
        }
      } else if (fast_tile<T, CONTIG, S>(w, x, xs, W, ddof, out, os, i, tile_end)) {
        i = tile_end;
        continue;
      }
    }
    if (s2_stale) {
      w.rebuild(x, xs, i - W, i);
      s2_stale = false;
    }
    st.b_valid = false;
    st.run = -1;
    st.refresh = false;
    for (; i < tile_end; ++i) {
      w.update(static_cast<double>(x[i * xs]), 1.0, 1);
      if (i - W >= first) w.update(static_cast<double>(x[(i - W) * xs]), -1.0, -1);
      if (!w.accurate(test)) w.rebuild(x, xs, i - W + 1 > 0 ? i - W + 1 : 0, i + 1);
      out[i * os] = static_cast<T>(w.value(stat, min_periods, ddof));
    }
  }
}

// The sum's and the mean's outputs begin <= j < end, all with windows not full yet (end <= W - 1:
// the window of j is x[0..j]), from one running sum of x[0], x[1], ...: each window's values
// added oldest first, as direct_one adds them, so within j u sum |x| of the exact sum, inside
// the mean's tolerance while j u <= 2^-36 (kPrefixMax). Outputs whose count is below
// min_periods are NaN. Stops at the first output these checks refuse (a NaN or an infinity so
// far, a tiny mean), from which the running sums take over, and returns it. (The running
// sums' value-by-value start took 20 ns per output, 200 ns of a 1000-value series at window 10.)
constexpr std::ptrdiff_t kPrefixMax = std::ptrdiff_t{1} << 16;
template <class T, RollingStat S>
HOTLOOP_NOINLINE std::ptrdiff_t prefix_partial(const T* x, std::ptrdiff_t xs,
                                               std::ptrdiff_t min_periods, T* out,
                                               std::ptrdiff_t os, std::ptrdiff_t begin,
                                               std::ptrdiff_t end) noexcept {
  const double x0 = static_cast<double>(x[0]);
  double s = x0, last = x0;
  bool eq = true;
  for (std::ptrdiff_t j = 0; j < end; ++j) {
    if (j > 0) {
      last = static_cast<double>(x[j * xs]);
      s += last;
      eq &= last == x0;
    }
    if (j < begin) continue;
    const double as = std::fabs(s);
    if (!(as <= kMax)) return j;  // a NaN or an infinity among x[0..j], or an overflow
    const double c = static_cast<double>(j + 1);
    if (j + 1 < min_periods) {
      out[j * os] = static_cast<T>(kNaN);
    } else if (eq) {  // a window of equal values: that value, or c times it, rounded once
      out[j * os] = static_cast<T>(S == RollingStat::mean ? last : last * c);
    } else if (S == RollingStat::sum) {
      out[j * os] = static_cast<T>(s);
    } else {
      if (as < kDirectTiny && s != 0.0) return j;
      out[j * os] = static_cast<T>(s / c);
    }
  }
  return end;
}

// Each statistic, float type and layout gets its own pair of functions, each compiled once per
// instruction set, and the dispatch below calls them. One function holding every kernel (all
// inlined into a single cloned entry point) made GCC's points-to analysis, which grows faster
// than the function, take over ten minutes per file under the sanitizers.
template <class T, bool CONTIG, RollingStat S>
HOTLOOP_CLONES HOTLOOP_NOINLINE void running_kernel(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                                                    std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                                                    T* out, std::ptrdiff_t os,
                                                    std::ptrdiff_t origin, std::ptrdiff_t begin,
                                                    std::ptrdiff_t end) noexcept {
  block_running<T, CONTIG, S>(x, xs, W, min_periods, ddof, out, os, origin, begin, end);
}

template <class T, bool CONTIG, RollingStat S>
HOTLOOP_CLONES HOTLOOP_NOINLINE void direct_kernel(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W,
                                                   std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                                                   T* out, std::ptrdiff_t os, std::ptrdiff_t begin,
                                                   std::ptrdiff_t end) noexcept {
  direct_block<T, CONTIG, S>(x, xs, W, min_periods, ddof, out, os, begin, end);
}

template <class T, bool CONTIG, RollingStat S>
void block_impl(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t min_periods,
                std::ptrdiff_t ddof, T* out, std::ptrdiff_t os, std::ptrdiff_t begin,
                std::ptrdiff_t end) noexcept {
  if (W <= direct_max<S>()) {
    direct_kernel<T, CONTIG, S>(x, xs, W, min_periods, ddof, out, os, begin, end);
    return;
  }
  std::ptrdiff_t start = begin;
  if constexpr (S == RollingStat::sum || S == RollingStat::mean) {
    if (begin < W - 1 && W <= kPrefixMax)
      start = prefix_partial<T, S>(x, xs, min_periods, out, os, begin, end < W - 1 ? end : W - 1);
  }
  if (start < end)
    running_kernel<T, CONTIG, S>(x, xs, W, min_periods, ddof, out, os, begin, start, end);
}

template <class T>
void block_dispatch(const T* x, std::ptrdiff_t xs, std::ptrdiff_t W, std::ptrdiff_t mp,
                    std::ptrdiff_t ddof, RollingStat stat, T* out, std::ptrdiff_t os,
                    std::ptrdiff_t begin, std::ptrdiff_t end) noexcept {
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
    case RollingStat::sum:
      return contig
                 ? block_impl<T, true, RollingStat::sum>(x, 1, W, mp, ddof, out, 1, begin, end)
                 : block_impl<T, false, RollingStat::sum>(x, xs, W, mp, ddof, out, os, begin, end);
  }
}

}  // namespace

// For each float type (the list below); the kernels it calls are compiled once per instruction
// set (HOTLOOP_CLONES).
template <class T>
void rolling_moments_block(const T* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                           std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                           T* out, std::ptrdiff_t out_stride, std::ptrdiff_t begin,
                           std::ptrdiff_t end) noexcept {
  block_dispatch(x, x_stride, window, min_periods, ddof, stat, out, out_stride, begin, end);
}

template <class T>
void rolling_moments_rows(const T* x, T* out, const RollingRows& rows, std::ptrdiff_t window,
                          std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                          int n_threads) noexcept {
  // ~3 ns per output on one core (cxx/bench/rolling_benchmark). Every block restarts exactly,
  // so any schedule gives bit-identical output.
  for_each_rows_block(rows, rolling_block_size(window), window, 3.0, n_threads,
                      [&](std::ptrdiff_t r, std::ptrdiff_t begin, std::ptrdiff_t end) {
                        rolling_moments_block(x + rows.x_offsets[r], rows.x_stride, window,
                                              min_periods, ddof, stat, out + rows.out_offsets[r],
                                              rows.out_stride, begin, end);
                      });
}

#define HOTLOOP_ROLLING_ENTRY_POINTS(T)                                                            \
  template void rolling_moments_block<T>(const T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, \
                                         std::ptrdiff_t, RollingStat, T*, std::ptrdiff_t,          \
                                         std::ptrdiff_t, std::ptrdiff_t) noexcept;                 \
  template void rolling_moments_rows<T>(const T*, T*, const RollingRows&, std::ptrdiff_t,          \
                                        std::ptrdiff_t, std::ptrdiff_t, RollingStat,               \
                                        int) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_ROLLING_ENTRY_POINTS)

}  // namespace hotloop
