// Error-free transformations used by the accurate kernels.
//
// These are exact only under IEEE double arithmetic with round-to-nearest and no reassociation:
// hotloop is never built with -ffast-math, and builds with -ffp-contract=off so that no
// multiply-add is fused behind our back.
#pragma once

#include "hotloop/threads.hpp"

namespace hotloop::detail {

template <class T>
struct same_type {
  typedef T type;
};

// Knuth's TwoSum: s + e == a + b exactly, with s = fl(a + b). Branch-free, so loops over
// independent lanes of it vectorise. T, taken from s, may also be a GCC vector of doubles: the
// same operations on every lane.
template <class T>
HOTLOOP_INLINE void two_sum(typename same_type<T>::type a, typename same_type<T>::type b, T& s,
                            T& e) noexcept {
  s = a + b;
  const T bp = s - a;
  e = (a - (s - bp)) + (b - bp);
}

// Compensated accumulation: (hi, lo) += v, with lo collecting the rounding errors of hi. T is
// taken from hi (a double or a GCC vector of doubles); v converts to it.
template <class T>
HOTLOOP_INLINE void comp_add(T& hi, T& lo, typename same_type<T>::type v) noexcept {
  T s, e;
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

// Dekker's TwoProduct without FMA: p + e == a * b exactly (barring overflow), p = fl(a * b).
HOTLOOP_INLINE void two_prod(double a, double b, double& p, double& e) noexcept {
  constexpr double kSplit = 134217729.0;  // 2^27 + 1
  p = a * b;
  const double ta = kSplit * a, tb = kSplit * b;
  const double ah = ta - (ta - a), al = a - ah;
  const double bh = tb - (tb - b), bl = b - bh;
  e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

// K + (hi + lo) / c, correctly rounded up to a couple of ulps even when K and the quotient
// cancel: the quotient is formed as a double-double before the final addition.
HOTLOOP_INLINE double shifted_quotient(double K, double hi, double lo, double c) noexcept {
  const double q = hi / c;
  if (!(q - q == 0.0)) return K + q;  // inf or NaN: plain arithmetic gives the IEEE answer
  double p, pe;
  two_prod(q, c, p, pe);
  const double q_lo = (((hi - p) - pe) + lo) / c;
  double s, e;
  two_sum(K, q, s, e);
  return s + (e + q_lo);
}

}  // namespace hotloop::detail
