// Error-free transformations used by the accurate kernels.
//
// These are exact only under IEEE double arithmetic with round-to-nearest and no reassociation:
// hotloop is never built with -ffast-math, and builds with -ffp-contract=off so that no
// multiply-add is fused behind our back.
#pragma once

#include "hotloop/config.hpp"

namespace hotloop::detail {

// Knuth's TwoSum: s + e == a + b exactly, with s = fl(a + b). Branch-free, so loops over
// independent lanes of it vectorise.
HOTLOOP_INLINE void two_sum(double a, double b, double& s, double& e) noexcept {
  s = a + b;
  const double bp = s - a;
  e = (a - (s - bp)) + (b - bp);
}

// Compensated accumulation: (hi, lo) += v, with lo collecting the rounding errors of hi.
HOTLOOP_INLINE void comp_add(double& hi, double& lo, double v) noexcept {
  double s, e;
  two_sum(hi, v, s, e);
  hi = s;
  lo += e;
}

// Double-double accumulation, renormalised so that |lo| <= ulp(hi) / 2.
HOTLOOP_INLINE void dd_add(double& hi, double& lo, double v) noexcept {
  double s, e;
  two_sum(hi, v, s, e);
  e += lo;
  hi = s + e;
  lo = e - (hi - s);
}

}  // namespace hotloop::detail
