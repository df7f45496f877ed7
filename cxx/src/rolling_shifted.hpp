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

}  // namespace hotloop::rolling_shifted
