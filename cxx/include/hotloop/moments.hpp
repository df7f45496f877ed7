// Mean, variance and standard deviation of a strided 1-D sequence, and a mergeable running
// accumulator for streams.
//
// Accuracy. Reductions use a shifted, corrected two-pass algorithm with compensated (TwoSum)
// accumulation in every pass, keeping the rounding error of each difference as well:
//   pass 1: mean = K + sum(x - K) / n, with K the first finite value, the quotient formed as a
//           double-double (a window of equal values then gives mean == K exactly);
//   pass 2: d = x - mean;  M2 = sum(d*d) - sum(d)**2 / n
// (Chan, Golub & LeVeque, "Algorithms for computing the sample variance", 1983, eq. 1.7;
// Ogita, Rump & Oishi, "Accurate sum and dot product", 2005, for TwoSum). Sums are then exact
// up to second-order terms whatever n is and however much the data cancel, so the mean is
// within 1 ulp of the exact mean and M2 within a few ulps of the exact sum of squared
// deviations (tests check <= 4 ulps against exact rational arithmetic; measured: mean 0-1,
// var <= 2, std <= 1). float32 input is accumulated in double.
//
// Non-finite input follows NumPy: a NaN makes every result NaN; +inf/-inf make the mean +inf/-inf
// (NaN when both occur) and the variance NaN. The skip-NaN variants drop NaNs and count only the
// rest; infinities are still values.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hotloop/threads.hpp"

namespace hotloop {

// Result of a reduction. m2 is the sum of squared deviations from the mean; the variance is
// m2 / (count - ddof). count is the number of values used (NaNs excluded when skipping).
// mean_lo is the part of the mean below its rounding when the second pass ran (mean + mean_lo is
// the mean to about twice double precision; RunningStats merges it), else 0.
struct Moments {
  std::int64_t count;
  double mean;
  double m2;
  double mean_lo;
};

// x: read, n values at x[0], x[stride], ... (stride in elements, may be negative).
// skipna: drop NaNs. need_m2: run the second pass (otherwise m2 is 0). With no values
// (n == 0, or only NaNs when skipping) count is 0 and mean and m2 are NaN.
// T is float or double (the templates of this header are defined in moments.cpp for those
// two: detail/float_types.hpp). Never throws, never allocates.
template <class T>
Moments moments(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna,
                bool need_m2) noexcept;

// A running mean/variance accumulator for live streams.
//
// The mean and M2 are kept as double-double values (hi + lo) and updated with Chan's pairwise
// combination, so pushing a million values at an offset of 1e9 keeps ~15 significant digits of
// the variance, and merge() combines partial results from threads or batches as accurately as if
// every value had been pushed into one accumulator. Non-finite values are counted apart and make
// the results behave as NumPy's do on the same values (see moments()). With skipna, NaNs are
// ignored altogether.
class RunningStats {
 public:
  explicit RunningStats(bool skipna = false) noexcept : skipna_(skipna) {}

  void push(double x) noexcept;
  // x: read, n values (float or double) at the given stride (in elements).
  template <class T>
  void extend(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride) noexcept;
  void merge(const RunningStats& other) noexcept;

  bool skipna() const noexcept { return skipna_; }
  // Number of values counted: finite ones, infinities and (without skipna) NaNs.
  std::int64_t count() const noexcept { return n_finite_ + n_nan_ + n_posinf_ + n_neginf_; }
  double mean() const noexcept;  // NaN when empty.
  double m2() const noexcept;    // NaN when a non-finite value was counted.
  // m2 / (count - ddof); NaN when count <= ddof. ddof must be >= 0 (checked by the caller).
  double var(std::int64_t ddof) const noexcept;
  double std(std::int64_t ddof) const noexcept;

  // The complete state, for pickling. from_state(...) rebuilds an identical accumulator.
  struct State {
    bool skipna;
    std::int64_t n_finite, n_nan, n_posinf, n_neginf;
    double mean_hi, mean_lo, m2_hi, m2_lo;
  };
  State state() const noexcept;
  static RunningStats from_state(const State& s) noexcept;

 private:
  void merge_finite(std::int64_t nb, double mean_b_hi, double mean_b_lo, double m2_b_hi,
                    double m2_b_lo) noexcept;

  bool skipna_;
  std::int64_t n_finite_ = 0, n_nan_ = 0, n_posinf_ = 0, n_neginf_ = 0;
  double mean_hi_ = 0.0, mean_lo_ = 0.0, m2_hi_ = 0.0, m2_lo_ = 0.0;
};

}  // namespace hotloop
