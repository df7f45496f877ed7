// Pieces shared by the shape (rolling_shape.cpp) and pair (rolling_pair.cpp) kernels of the
// rolling family (private to cxx/src): the per-window scaling by a power of two and the range in
// which their rounding-error bounds hold.
//
// Scaling. A window works on values scaled by 2^e (exact) and shifted by K, d = x 2^e - K, and
// keeps sums of d^k up to k = 4. Chosen at each exact recomputation:
//   - first, when the window holds values above kScaleDownAbove, e brings them below 1, so that
//     x - K cannot overflow;
//   - then, once the largest deviation dmax = max |x 2^e - K| is known, e brings it into
//     [0.5, 1) unless it already lies in [kSpreadLo, kSpreadHi] (or is 0).
// So d^4 neither overflows nor underflows. Ordinary data keep e = 0 and are unchanged bit for
// bit. Raising K by 2^e stays finite: K is the window's mean, and two distinct doubles near K
// differ by at least ulp(K) ~ |K| 2^-52, so dmax < kSpreadLo implies |K| < 2^-47 or so.
// Values arriving later out of range show in the sums (S2 outside [kSumLo, kSumHi], inf or
// NaN): the error test fails and the window is recomputed with a new e.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>

#include "hotloop/threads.hpp"

namespace hotloop::rolling_shifted {

constexpr double kU = 0x1p-53;  // unit roundoff of double
constexpr double kMax = std::numeric_limits<double>::max();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr double kScaleDownAbove = 0x1p150;
constexpr double kSpreadLo = 0x1p-100;
constexpr double kSpreadHi = 0x1p100;
constexpr double kSumLo = 0x1p-400;
constexpr double kSumHi = 0x1p400;
constexpr int kMaxExponent = 1000;  // 2^e stays a normal double

// False for NaN and +-inf; written as a comparison so that it vectorises.
HOTLOOP_INLINE bool is_finite(double v) noexcept { return std::fabs(v) <= kMax; }

// Whether one series' sums S1 = sum d, S2 = sum d^2 are in the range where the error bounds
// hold (S2 neither overflowed nor underflowed, not NaN). S2 <= 2^400 keeps S4 <= S2^2 finite.
HOTLOOP_INLINE bool in_range(double s1, double s2) noexcept {
  return (std::fabs(s2) <= kSumHi) & ((s2 >= kSumLo) | ((s2 == 0.0) & (s1 == 0.0)));
}

// The exponent of the first scale, from the window's largest |x|.
inline int coarse_exponent(double amax) noexcept {
  return amax > kScaleDownAbove ? -(std::ilogb(amax) + 1) : 0;
}

// The exponent to add once the largest deviation dmax (at the current exponent e) is known.
inline int spread_exponent(double dmax, int e) noexcept {
  if (dmax == 0.0 || (dmax >= kSpreadLo && dmax <= kSpreadHi)) return 0;
  const int up = -(std::ilogb(dmax) + 1);
  return e + up > kMaxExponent ? kMaxExponent - e : up;
}

HOTLOOP_INLINE double clamp0(double m) noexcept { return m > 0.0 ? m : (m == m ? 0.0 : m); }

#if defined(__GNUC__) && !defined(__clang__)
#define HOTLOOP_SHIFTED_VECTOR_EXT 1
// Eight doubles as one value (GCC vector extensions): one zmm register with AVX-512, two ymm with
// AVX2, four xmm on baseline x86-64; the same arithmetic in the same order on each.
typedef double v8d __attribute__((vector_size(64)));
typedef long long v8l __attribute__((vector_size(64)));
#endif

// Running sums in place: a[j] becomes S + a[0] + ... + a[j], S the total; returns the sum of
// |a[j]| afterwards. Eight outputs at a time: a prefix sum across the eight lanes in three
// shift-and-add steps, then the carry S added to all of them, so the only dependency from one
// group to the next is one addition (a plain running sum is one dependent addition per output,
// and its latency bounds the loop). Rounding: within its group a lane's partial sum rounds at most
// three times, then once with the carry, and the group's total carries its own error forward;
// so every output is within u (6 sum |a| + 2 sum |S|) of the exact running sum (sums over the
// tile), which callers charge (with u |a| more for forming a). The same scheme as rolling.cpp's
// tiles. GCC 12 warns that the stores may write past the array after unrolling; they cannot
// (j + 8 <= m), so the warning is silenced here only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
HOTLOOP_INLINE double prefix_sums(double* a, std::ptrdiff_t m, double& S) noexcept {
  double abs_sum = 0.0;
  std::ptrdiff_t j = 0;
#ifdef HOTLOOP_SHIFTED_VECTOR_EXT
  constexpr long long kSign = 0x7fffffffffffffffLL;
  const v8l abs_mask = {kSign, kSign, kSign, kSign, kSign, kSign, kSign, kSign};
  const v8d zero = {};
  v8d acc = {};
  for (; j + 8 <= m; j += 8) {
    v8d v;
    std::memcpy(&v, a + j, sizeof v);
    v += __builtin_shuffle(v, zero, v8l{8, 0, 1, 2, 3, 4, 5, 6});
    v += __builtin_shuffle(v, zero, v8l{8, 8, 0, 1, 2, 3, 4, 5});
    v += __builtin_shuffle(v, zero, v8l{8, 8, 8, 8, 0, 1, 2, 3});
    const v8d r = v + S;
    std::memcpy(a + j, &r, sizeof r);
    S += v[7];
    acc += reinterpret_cast<v8d>(reinterpret_cast<v8l>(r) & abs_mask);
  }
  for (int k = 0; k < 8; ++k) abs_sum += acc[k];
#endif
  for (; j < m; ++j) {
    S += a[j];
    a[j] = S;
    abs_sum += std::fabs(S);
  }
  return abs_sum;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace hotloop::rolling_shifted
