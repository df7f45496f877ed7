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
// Range. Values of any magnitude keep that accuracy, from subnormals to DBL_MAX: when the
// largest |x| lies outside [2^-400, 2^401) (so that squares of deviations could underflow, or
// sums and squares overflow), the passes run again on x * 2^-e, an exact scaling with e chosen
// from max|x|, and M2 is returned with its exponent (m2 * 2^m2_exp). Whether that is needed is
// judged from the results (see trusted() in moments.cpp): ordinary data pay a few comparisons;
// results that the window's data can also give (M2 = 0 with a mean below 2^-400, as for all
// zeros; a mean below 2^-960; NaN or inf, whose answer is then decided from the data) cost one
// extra read for max|x|, and the passes run again only when max|x| is outside the window.
// float data are always inside it.
// Above 2^401, scaling down loses the parts of values below 2^-1074 * 2^(e), i.e. below about
// 1e-444 * max|x|: invisible unless the mean itself cancels to nearly zero. The mean of finite
// values never overflows; the variance overflows (inf) only when it exceeds DBL_MAX, and the
// standard deviation, formed from the scaled M2, only when it does (with ddof > 0 it can).
//
// Non-finite input follows NumPy: a NaN makes every result NaN; +inf/-inf make the mean +inf/-inf
// (NaN when both occur) and the variance NaN. The skip-NaN variants drop NaNs and count only the
// rest; infinities are still values.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "hotloop/interrupt.hpp"
#include "hotloop/threads.hpp"

namespace hotloop {

// Result of a reduction. m2 is the sum of squared deviations from the mean; the variance is
// m2 / (count - ddof). count is the number of values used (NaNs excluded when skipping).
// mean_lo is the part of the mean below its rounding when the second pass ran (mean + mean_lo is
// the mean to about twice double precision; RunningStats merges it), else 0.
// m2_exp: the sum of squared deviations is m2 * 2^m2_exp (always even; 0 unless the data lie
// outside [2^-400, 2^401) in magnitude, see "Range"). Use variance()/stddev() below, which
// apply it.
struct Moments {
  std::int64_t count;
  double mean;
  double m2;
  double mean_lo;
  int m2_exp;
};

// m2 * 2^m2_exp / (count - ddof): inf only when the variance exceeds DBL_MAX. The caller checks
// count > ddof >= 0.
inline double variance(const Moments& r, std::int64_t ddof) noexcept {
  const double v = r.m2 / static_cast<double>(r.count - ddof);
  return r.m2_exp == 0 ? v : std::ldexp(v, r.m2_exp);
}

// sqrt(variance(r, ddof)), computed from the scaled M2 so that it neither underflows nor
// overflows where the standard deviation itself does not.
inline double stddev(const Moments& r, std::int64_t ddof) noexcept {
  const double s = std::sqrt(r.m2 / static_cast<double>(r.count - ddof));
  return r.m2_exp == 0 ? s : std::ldexp(s, r.m2_exp / 2);
}

// x: read, n values at x[0], x[stride], ... (stride in elements, may be negative).
// skipna: drop NaNs. need_m2: run the second pass (otherwise m2 is 0). With no values
// (n == 0, or only NaNs when skipping) count is 0 and mean and m2 are NaN.
// interrupt (may be null): polled between blocks of 2^20 values (Ctrl-C on a billion values);
// once it says stop the function returns early, its result unspecified: the caller checks
// interrupt->stopped(). Blocks do not change the result (bit for bit), and inputs of one block
// never poll.
// T is float or double (the templates of this header are defined in moments.cpp for those
// two: detail/float_types.hpp). Never throws, never allocates.
template <class T>
Moments moments(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna, bool need_m2,
                Interrupt* interrupt = nullptr) noexcept;

namespace detail {
// For tests: moments() polling interrupt (not null) between blocks of `block` values (a positive
// multiple of 8) whatever n is, so that block edges and stops are tested on small inputs.
template <class T>
Moments moments_in_blocks(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna,
                          bool need_m2, Interrupt* interrupt, std::ptrdiff_t block) noexcept;
}  // namespace detail

// A running mean/variance accumulator for live streams.
//
// The mean and M2 are kept as double-double values (hi + lo) and updated with Chan's pairwise
// combination, so pushing a million values at an offset of 1e9 keeps ~15 significant digits of
// the variance, and merge() combines partial results from threads or batches as accurately as if
// every value had been pushed into one accumulator. Non-finite values are counted apart and make
// the results behave as NumPy's do on the same values (see moments()). With skipna, NaNs are
// ignored altogether.
//
// Range: the state is kept in units of 2^scale (the mean) and 2^(2 scale) (M2), with the scale
// chosen from the largest magnitude taken so far as moments() chooses it ("Range" above), so
// values from subnormals to DBL_MAX keep the same accuracy. The scale is 0 for data inside the
// window, which then cost one comparison per value more.
//
// Not thread-safe: an instance is plain data, updated in place; callers serialise access (the
// Python wrapper updates it only with the GIL held).
class RunningStats {
 public:
  explicit RunningStats(bool skipna = false) noexcept : skipna_(skipna) {}

  void push(double x) noexcept;
  // x: read, n values (float or double) at the given stride (in elements). interrupt (may be
  // null): as in moments(); once stopped, this accumulator holds part of the values (callers
  // extend a private accumulator and drop it, see the Python wrapper).
  template <class T>
  void extend(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride,
              Interrupt* interrupt = nullptr) noexcept;
  void merge(const RunningStats& other) noexcept;

  bool skipna() const noexcept { return skipna_; }
  // Number of values counted: finite ones, infinities and (without skipna) NaNs.
  std::int64_t count() const noexcept { return n_finite_ + n_nan_ + n_posinf_ + n_neginf_; }
  double mean() const noexcept;  // NaN when empty.
  // NaN when a non-finite value was counted; inf when the sum exceeds DBL_MAX (var() and std()
  // do not go through it).
  double m2() const noexcept;
  // m2 / (count - ddof); NaN when count <= ddof. ddof must be >= 0 (checked by the caller).
  double var(std::int64_t ddof) const noexcept;
  double std(std::int64_t ddof) const noexcept;

  // The complete state, for pickling. from_state(...) rebuilds an identical accumulator
  // (mean_* in units of 2^scale, m2_* of 2^(2 scale); maxabs >= 0 is the largest magnitude
  // taken, or a bound on it within a factor 2 below and 2^33 above; a state whose scale does not
  // match maxabs is rescaled).
  struct State {
    bool skipna;
    std::int64_t n_finite, n_nan, n_posinf, n_neginf;
    double mean_hi, mean_lo, m2_hi, m2_lo;
    int scale;
    double maxabs;
  };
  State state() const noexcept;
  static RunningStats from_state(const State& s) noexcept;

 private:
  // Both in the current units (2^scale_).
  void merge_finite(std::int64_t nb, double mean_b_hi, double mean_b_lo, double m2_b_hi,
                    double m2_b_lo) noexcept;
  // The other's values in units of 2^scale_b, its largest magnitude (or bound) maxabs_b.
  void merge_scaled(std::int64_t nb, double mean_b_hi, double mean_b_lo, double m2_b_hi,
                    double m2_b_lo, int scale_b, double maxabs_b) noexcept;
  void grow_maxabs(double a) noexcept;
  void rescale_to(int scale) noexcept;
  double scaled_m2() const noexcept;

  bool skipna_;
  std::int64_t n_finite_ = 0, n_nan_ = 0, n_posinf_ = 0, n_neginf_ = 0;
  double mean_hi_ = 0.0, mean_lo_ = 0.0, m2_hi_ = 0.0, m2_lo_ = 0.0;
  int scale_ = 0;
  double maxabs_ = 0.0;
};

}  // namespace hotloop
