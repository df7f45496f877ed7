// Rolling (moving-window) statistics: sum, mean, variance and standard deviation (this part,
// rolling.cpp), count, min/max, argmin/argmax, median, quantiles and rank (the order statistics
// below, rolling_order.cpp).
//
// Output i describes the window x[max(0, i - window + 1) .. i]. NaNs are skipped (pandas and
// bottleneck do the same); an output is NaN unless the window holds at least
// max(min_periods, 1) non-NaN values. Infinities are values: a window holding +inf has mean +inf
// (NaN with both signs) and variance NaN, as np.nanvar over the same window gives. The variance
// divides by (count - ddof) and is NaN when count <= ddof.
//
// Algorithm. Each window is summarised by sums of shifted values, S1 = sum(x - K) and
// S2 = sum((x - K)^2), updated as values enter and leave, with K close to the window mean so
// that M2 = S2 - S1^2/count suffers no cancellation. Beside the sums the kernel keeps a running
// upper bound of their accumulated rounding error. Whenever that bound, or the cancellation in
// M2, could cost more than kRollingTolerance of relative accuracy -- after a huge value has left
// the window, once the data have drifted away from K, or after many updates -- the window is
// recomputed exactly by a shifted two-pass over its values, with K re-centred on its mean. The
// relative error of var is therefore below kRollingTolerance (std: half that) plus a few ulps
// of the two-pass itself, on any data. A window of equal values gives exactly 0.
// Full windows without non-finite values are processed in tiles whose element-wise work is
// vectorised (run-time AVX2/AVX-512 dispatch); tiles that fail the error test rerun scalar.
//
// Range. The sums are kept on values scaled by a power of two 2^e (exact) chosen at each exact
// recomputation: e < 0 when the window holds values above 2^400, e > 0 when all its deviations
// from the mean are below 2^-400, else e = 0 (ordinary data: the vectorised path). So squares
// neither overflow nor underflow: the mean of values near 1e308 is finite, the variance is +inf
// only when the true variance exceeds the largest double, and values below 1e-155 (subnormals
// too) keep the same relative accuracy (outputs that are themselves subnormal round once).
// The sum is count * K + S1 and shares the mean's error test (error below 2**-36 times
// count * (|mean| + std)).
//
// Parallelism. A series is cut into blocks of rolling_block_size(window) outputs. Every block
// starts from an exact recomputation of its first window (reading window - 1 values before the
// block), so blocks are independent and the result does not depend on how blocks are spread over
// threads: any schedule gives bit-identical output.
#pragma once

#include <cstddef>

#include "hotloop/threads.hpp"

namespace hotloop {

enum class RollingStat : int { mean = 0, var = 1, std = 2, sum = 3 };

// Relative error bound on the rolling variance kept by the error-tracking test (2**-36).
inline constexpr double kRollingTolerance = 1.0 / 68719476736.0;

// Number of outputs per independent block; fixed by the window so results never depend on the
// thread count. Blocks are long against the window, so the exact restart costs little: it
// costs about as much as 3-4 outputs per value of the window (n = 1e6, window 1000, sum, one
// thread: 0.78 ms in one block, 0.85 ms in blocks of 32 windows, 1.07 ms in blocks of 16).
// Longer blocks would leave fewer of them to share between threads on long windows.
constexpr std::ptrdiff_t rolling_block_size(std::ptrdiff_t window) noexcept {
  return window * 32 > 16384 ? window * 32 : 16384;
}

// Outputs per vectorised tile of the rolling sum and mean, counted from each block's start; the
// tiles of the other kernels (128 outputs) divide it, so that a task of hotloop.dask which
// reads to the end of such a tile has read to the end of every kernel's tile. The tile's error
// test and the sums of its bounds cost the same whatever its length, so longer tiles spread
// them thinner: n = 1e6, sum, one thread, 0.77 ns per output with 128, 0.69 with 256, 0.69
// with 512. A tile that fails its test is done again value by value, which favours the shorter.
inline constexpr std::ptrdiff_t kRollingTile = 256;

// Windows of up to this many values are computed each from its own values (rolling.cpp's
// direct formulas) rather than by running sums: the sum and the mean, and the variance and the
// standard deviation. Their outputs then do not depend on where a block starts. The limits are
// where the running sums' tiles become faster: n = 1e6, N(0, 1), one thread, ns per output,
// direct / tiles: mean 0.51 / 3.8 (window 2), 0.72 / 0.88 (4), 1.06 / 0.90 (6); std 0.86 / 20
// (2), 1.08 / 7.0 (4), 1.58 / 2.7 (6), 2.08 / 2.05 (8).
inline constexpr std::ptrdiff_t kRollingDirectSumMax = 4;
inline constexpr std::ptrdiff_t kRollingDirectVarMax = 7;

// Computes outputs begin <= i < end of one series, of floats or doubles (T; defined in
// rolling.cpp for those two: detail/float_types.hpp).
//   x:   read; the series, element i at x[i * x_stride] (stride in elements). Outputs read
//        x[max(0, begin - window + 1)] up to x[end - 1].
//   out: written; output i goes to out[i * out_stride]. Must not overlap x.
// Preconditions (checked by the caller): window >= 1, 0 <= min_periods <= window,
// 0 <= ddof < window, 0 <= begin <= end. Never throws, never allocates.
template <class T>
void rolling_moments_block(const T* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                           std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                           T* out, std::ptrdiff_t out_stride, std::ptrdiff_t begin,
                           std::ptrdiff_t end) noexcept;

// The whole series of n values, block after block on the calling thread. Same output as any
// parallel split of the blocks.
template <class T>
void rolling_moments(const T* x, std::ptrdiff_t n, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                     std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat, T* out,
                     std::ptrdiff_t out_stride) noexcept {
  const std::ptrdiff_t block = rolling_block_size(window);
  for (std::ptrdiff_t b = 0; b < n; b += block) {
    const std::ptrdiff_t e = b + block < n ? b + block : n;
    rolling_moments_block(x, x_stride, window, min_periods, ddof, stat, out, out_stride, b, e);
  }
}

// Rows of an N-D array with windows along one axis: row r's element i is at
// base[offsets[r] + i * stride] (offsets and stride in elements, any sign).
struct RollingRows {
  std::ptrdiff_t rows;
  std::ptrdiff_t n;
  const std::ptrdiff_t* x_offsets;  // read
  std::ptrdiff_t x_stride;
  const std::ptrdiff_t* out_offsets;  // read
  std::ptrdiff_t out_stride;
};

// Tasks per parallel_for chunk so that a chunk is about kTargetChunkNanoseconds (threads.hpp) of
// work, for tasks of `outputs_per_task` outputs costing about `ns_per_output` each on one core.
inline std::ptrdiff_t rolling_rows_grain(std::ptrdiff_t outputs_per_task,
                                         double ns_per_output) noexcept {
  const double per_task = ns_per_output * static_cast<double>(outputs_per_task) + 100.0;
  const double g = static_cast<double>(kTargetChunkNanoseconds) / per_task;
  return g < 1.0 ? 1 : static_cast<std::ptrdiff_t>(g);
}

// Calls block_fn(r, begin, end) for outputs begin <= i < end of row r, for every block of
// `block` outputs of every row of `rows`: rows x ceil(n / block) tasks spread over up to n_threads
// threads with parallel_for, in chunks of about kTargetChunkNanoseconds from the one-core cost
// ns_per_output (each task also recomputes up to `window` values before its block). Every
// rolling family schedules its rows this way.
template <class BlockFn>
void for_each_rows_block(const RollingRows& rows, std::ptrdiff_t block, std::ptrdiff_t window,
                         double ns_per_output, int n_threads, BlockFn&& block_fn) {
  const std::ptrdiff_t n = rows.n;
  if (rows.rows <= 0 || n <= 0) return;
  const std::ptrdiff_t nblocks = (n + block - 1) / block;
  const std::ptrdiff_t per_task = (n < block ? n : block) + (window < n ? window : n);
  const std::ptrdiff_t grain = rolling_rows_grain(per_task, ns_per_output);
  parallel_for(rows.rows * nblocks, n_threads, grain, [&](std::ptrdiff_t t0, std::ptrdiff_t t1) {
    for (std::ptrdiff_t t = t0; t < t1; ++t) {
      const std::ptrdiff_t r = t / nblocks;
      const std::ptrdiff_t b = (t % nblocks) * block;
      block_fn(r, b, b + block < n ? b + block : n);
    }
  });
}

// Every row of `rows`, in blocks of rolling_block_size(window) outputs, spread over up to
// n_threads threads with hotloop::parallel_for (bit-identical output for any thread count).
//   x:   read (through rows.x_offsets); out: written (through rows.out_offsets), not overlapping x.
// Preconditions as rolling_moments_block. Never throws.
template <class T>
void rolling_moments_rows(const T* x, T* out, const RollingRows& rows, std::ptrdiff_t window,
                          std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingStat stat,
                          int n_threads) noexcept;

// ---------------------------------------------------------------------------------------------
// Order statistics and counts (rolling_order.cpp).
//
// Window and NaN policy as above: output i describes x[max(0, i - window + 1) .. i], NaNs are
// skipped and an output is NaN unless the window holds at least max(min_periods, 1) non-NaN
// values. Infinities are values.
//   count:     number of non-NaN values; NaN where the window's length (NaNs included) is below
//              min_periods (pandas' rolling().count()).
//   min, max:  van Herk / Gil-Werman block prefix and suffix extremes: three comparisons per
//              value whatever the window, no data-dependent branches; windows of up to 16
//              values compare their own values instead (W - 1 comparisons, vectorised over
//              outputs; the same results). Ties go to the latest value (so -0.0 and 0.0 come
//              out as bottleneck gives them).
//   argmin, argmax: bottleneck's convention: the position of the extreme counted back from the
//              window's last element (0 = output i's own element); ties go to the latest.
//   median:    middle value, mean (a + b) / 2 of the two middle ones for an even count (a/2 + b/2
//              when a + b overflows).
//   quantile:  pandas' rule: with m non-NaN values sorted as v[0..m-1] and t = q * (m - 1),
//              linear v[k] + (v[k+1] - v[k]) * (t - k) for k = floor(t); lower v[k]; higher
//              v[k+1]; nearest the closer one (ties to even k); midpoint (v[k] + v[k+1]) / 2;
//              v[t] whenever t is a whole number.
//   rank:      bottleneck's move_rank: the rank of x[i] among the window's non-NaN values, ties
//              averaged, scaled to [-1, 1]: 2 * ((less + (equal - 1) / 2) / (m - 1) - 0.5); 0
//              when m == 1; NaN when x[i] is NaN. Computed in T, operation for operation as
//              bottleneck does.
// median, quantile and rank sort each block's values once (ties broken by position) and keep the
// window as a set of those ranks: median and quantile move a cursor over a bitset of the present
// ranks (O(1) per output once sorted: the quantile moves by a rank or two per step), rank counts
// below a rank in a Fenwick tree (O(log(block + window))). Windows up to 16 keep their values in
// a small sorted array instead.
enum class RollingOrder : int {
  count = 0,
  min = 1,
  max = 2,
  argmin = 3,
  argmax = 4,
  median = 5,
  quantile = 6,
  rank = 7,
  // rank with bottleneck's arithmetic for integer input (from output `window` on it multiplies by
  // 1 / (window - 1) rather than divide: results differ in the last bit).
  rank_of_integers = 8
};
enum class RollingInterpolation : int {
  linear = 0,
  lower = 1,
  higher = 2,
  nearest = 3,
  midpoint = 4
};

// Outputs per block of the order statistics (fixed by the window: results never depend on the
// thread count). Smaller than rolling_block_size for the sorted kernels, whose per-block sort
// and tree grow with the block.
constexpr std::ptrdiff_t rolling_order_block_size(RollingOrder kind,
                                                  std::ptrdiff_t window) noexcept {
  if (kind == RollingOrder::median || kind == RollingOrder::quantile ||
      kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers) {
    return window * 4 > 2048 ? window * 4 : 2048;
  }
  return rolling_block_size(window);
}

// Outputs begin <= i < end of one series (T float or double), as rolling_moments_block.
//   x: read; out: written (must not overlap x). q in [0, 1] (quantile only).
// Preconditions (checked by the caller): window >= 1, 0 <= min_periods <= window,
// 0 <= begin <= end. Throws std::bad_alloc when its buffers cannot be allocated.
template <class T>
void rolling_order_block(const T* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                         std::ptrdiff_t min_periods, RollingOrder kind, double q,
                         RollingInterpolation interpolation, T* out, std::ptrdiff_t out_stride,
                         std::ptrdiff_t begin, std::ptrdiff_t end);

// Every row, blocks of rolling_order_block_size outputs over up to n_threads threads
// (bit-identical output for any thread count). Returns 0, or -1 when a block's buffers could not
// be allocated (its outputs are then unspecified). Never throws: the Cython caller runs it
// without the GIL.
template <class T>
int rolling_order_rows(const T* x, T* out, const RollingRows& rows, std::ptrdiff_t window,
                       std::ptrdiff_t min_periods, RollingOrder kind, double q,
                       RollingInterpolation interpolation, int n_threads) noexcept;

// ---------------------------------------------------------------------------------------------
// Shape statistics (rolling_shape.cpp): skewness, kurtosis and the standard error of the mean;
// pair statistics (rolling_pair.cpp): covariance and correlation of two series.
//
// Window and NaN policy as above (output i describes x[max(0, i - window + 1) .. i], NaNs
// skipped). Definitions are pandas' rolling() ones:
//   skew: the adjusted Fisher-Pearson coefficient, n sqrt(n - 1) / (n - 2) * M3 / M2^1.5 with
//         Mk = sum((x - mean)^k) over the window's n values; NaN below 3 values, or when the
//         window's values are all equal (M2 == 0), or when it holds an infinity.
//   kurt: the unbiased excess kurtosis, ((n^2 - 1) n M4 / M2^2 - 3 (n - 1)^2) / ((n - 2)(n - 3));
//         NaN below 4 values, for equal values, or with an infinity.
//   sem:  the standard error of the mean, std(ddof) / sqrt(n) = sqrt(M2 / ((n - ddof) n)); NaN
//         when n <= ddof or with an infinity; exactly 0 for equal values.
//   cov:  over the window's complete pairs (x and y both non-NaN; a pair with a NaN is skipped,
//         as pandas aligns the two series): sum((x - mean_x)(y - mean_y)) / (n - ddof), NaN when
//         n <= ddof or a pair holds an infinity; exactly 0 when either series is constant.
//   corr: Cxy / sqrt(Mxx Myy) over the complete pairs, clamped to [-1, 1]; NaN when either series
//         is constant in the window (Mxx or Myy == 0), or with an infinity. ddof cancels out.
// Outputs are NaN unless the window holds at least max(min_periods, 1) non-NaN values (pairs);
// skew and kurt also need 3 and 4 of them (pandas raises min_periods to that).
//
// Algorithm: the same design as the moments above (shifted sums with tracked rounding-error
// bounds, exact recomputation when a bound could exceed the tolerance, blocks that restart
// exactly), extended to the sums of (x - K)^k up to k = 4, and to the cross sum of a pair. The
// central moments follow by the binomial formulas, e.g. M3 = S3 - 3 a S2 + 2 a^2 S1 with
// a = S1 / n; K near the mean keeps a small, so they do not cancel. The error test asks, with
// tol = kRollingShapeTolerance: error(M2) <= tol M2, error(M3) <= tol max(|M3|, M2^1.5 / sqrt(n)),
// error(M4) <= tol M4, error(Cxy) <= tol sqrt(Mxx Myy). Hence, besides a few ulps times
// sqrt(n) from rounding each (x - K)^k once (which no recomputation can remove):
//   skew: absolute error <= tol (2.5 |skew| + 2.5);  kurt: <= 3 tol (|kurt| + 14);
//   sem:  relative error <= tol / 2;  cov: <= tol sqrt(var_x var_y);  corr: <= 2 tol.
// Windows of equal values are recognised exactly (skew, kurt, corr NaN; sem, cov 0). Values are
// scaled by a power of two per window, so the whole double range works (4th powers included).
inline constexpr double kRollingShapeTolerance = 1.0 / 274877906944.0;  // 2**-38

enum class RollingShape : int { skew = 0, kurt = 1, sem = 2 };
enum class RollingPair : int { cov = 0, corr = 1 };

// Outputs begin <= i < end of one series (T float or double), as rolling_moments_block.
//   x: read; out: written (must not overlap x). ddof is used by sem only.
// Preconditions (checked by the caller): window >= 1, 0 <= min_periods <= window,
// 0 <= ddof < window, 0 <= begin <= end. Never throws, never allocates.
template <class T>
void rolling_shape_block(const T* x, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                         std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingShape stat, T* out,
                         std::ptrdiff_t out_stride, std::ptrdiff_t begin,
                         std::ptrdiff_t end) noexcept;

// Every row, blocks of rolling_block_size(window) outputs over up to n_threads threads
// (bit-identical output for any thread count). x: read; out: written, not overlapping x.
template <class T>
void rolling_shape_rows(const T* x, T* out, const RollingRows& rows, std::ptrdiff_t window,
                        std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingShape stat,
                        int n_threads) noexcept;

// The whole series of n values on the calling thread (same output as any parallel split).
template <class T>
void rolling_shape(const T* x, std::ptrdiff_t n, std::ptrdiff_t x_stride, std::ptrdiff_t window,
                   std::ptrdiff_t min_periods, std::ptrdiff_t ddof, RollingShape stat, T* out,
                   std::ptrdiff_t out_stride) noexcept {
  const std::ptrdiff_t block = rolling_block_size(window);
  for (std::ptrdiff_t b = 0; b < n; b += block) {
    const std::ptrdiff_t e = b + block < n ? b + block : n;
    rolling_shape_block(x, x_stride, window, min_periods, ddof, stat, out, out_stride, b, e);
  }
}

// Outputs begin <= i < end of the pair series x, y (same length; element i at x[i * x_stride]
// and y[i * y_stride]).
//   x, y: read; out: written (must overlap neither). ddof is used by cov only.
// Preconditions as rolling_shape_block. Never throws, never allocates.
template <class T>
void rolling_pair_block(const T* x, std::ptrdiff_t x_stride, const T* y, std::ptrdiff_t y_stride,
                        std::ptrdiff_t window, std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                        RollingPair stat, T* out, std::ptrdiff_t out_stride, std::ptrdiff_t begin,
                        std::ptrdiff_t end) noexcept;

// Every row of the pair: rows describes x and out; row r of y is at y[y_offsets[r] + i * y_stride]
// (read). Bit-identical output for any thread count.
template <class T>
void rolling_pair_rows(const T* x, const T* y, T* out, const RollingRows& rows,
                       const std::ptrdiff_t* y_offsets, std::ptrdiff_t y_stride,
                       std::ptrdiff_t window, std::ptrdiff_t min_periods, std::ptrdiff_t ddof,
                       RollingPair stat, int n_threads) noexcept;

// The whole pair of series of n values on the calling thread.
template <class T>
void rolling_pair(const T* x, std::ptrdiff_t x_stride, const T* y, std::ptrdiff_t y_stride,
                  std::ptrdiff_t n, std::ptrdiff_t window, std::ptrdiff_t min_periods,
                  std::ptrdiff_t ddof, RollingPair stat, T* out,
                  std::ptrdiff_t out_stride) noexcept {
  const std::ptrdiff_t block = rolling_block_size(window);
  for (std::ptrdiff_t b = 0; b < n; b += block) {
    const std::ptrdiff_t e = b + block < n ? b + block : n;
    rolling_pair_block(x, x_stride, y, y_stride, window, min_periods, ddof, stat, out, out_stride,
                       b, e);
  }
}

}  // namespace hotloop

namespace hotloop {

// ---------------------------------------------------------------------------------------------
// Exponentially weighted statistics (rolling_ewm.cpp): pandas' DataFrame.ewm and numbagg's
// move_exp_nan* over one kernel.
//
// Weights. With f = 1 - alpha (rounded to double, as pandas and numbagg compute it) a value
// observed k steps before output i weighs f^k (adjust=true). adjust=false is pandas' recursion
// y = (f^k y' + alpha x) / (f^k + alpha), k the steps since the previous observation (1 without
// NaNs: y = f y' + alpha x), y0 = x0; there alpha is taken as 1 - f (they differ by at most
// 2^-54, the rounding of f) so that the weights' limit is exact. Steps are every position
// (ignore_na=false: a NaN decays the earlier weights too) or only the observations
// (ignore_na=true). mean = sum(w x) / W, with W = sum(w); the biased variance is
// c = sum(w (x - mean)^2) / W; the unbiased one is c / (1 - sum(w^2) / W^2), NaN where that
// denominator is 0 (a single observation, alpha = 1); cov likewise with (x - mean_x)(y - mean_y),
// corr = cov / sqrt(var_x var_y) clamped to [-1, 1]. std = sqrt(var). An observation is a
// position whose x (and y, for cov and corr) is finite; pandas drops infinities like NaNs.
//
// Conventions. pandas (numbagg = false): an output is NaN until max(min_periods, 1) observations
// have been seen, and NaN before the first one. numbagg (numbagg = true; adjust=true,
// ignore_na=false): an output is NaN while numbagg's weight sum(alpha f^k) over the observations
// is below min_weight; infinities are values (a mean holding +inf is +inf, NaN with both signs;
// variances NaN); sum = sum(w x) (NaN before the first observation) and count = W.
//
// Algorithm (why it is accurate). The state is normalised, West's weighted update (West 1979,
// as pandas' ewmcov): with r = new weight / W the new value's share, mean += r (x - mean) and
// c = (1 - r) (c + r q^2) with q the deviation from the previous mean, so no sum of squares
// ever cancels. Values are shifted by K, the first observation (re-centred exactly, by a
// TwoSum, when the mean drifts more than four standard deviations from it), so x - K is exact
// at any offset (1e9 + N(0, 1) loses nothing) and a constant series gives exactly 0. For a
// constant alpha, W is held as its deficit G = 1 - W / W_inf (G -> f G per observation; in
// double-double in the scalar steps, in double, with G <= 1/2, in vectorised groups) and the
// bias denominator as its distance to its limit, so neither stagnates a
// few ulps short of its limit as a plain recurrence does (error ~ eps / alpha): both reach their
// limit exactly, after which the weights are exactly r = 1 - f and f. Measured on 1e9 + N(0, 1)
// against a long-double recurrence: std within 5e-16 (alpha = 0.5) to 1.4e-14 (alpha = 1e-4).
// Per-position alphas (numbagg) use plain recurrences, as numbagg does (O(eps / alpha)).
// Limits: values are not rescaled (squared deviations under 1e-308 underflow, over 1.8e308
// overflow); a run of NaNs that decays the old weights below the smallest double restarts the
// series (pandas too).
// Outputs are computed eight at a time by composing each value's affine update in registers
// (Hillis & Steele): in the steady state (weights at their limit, finite values) with constant
// coefficients, one carried multiply-add per eight outputs per statistic; before it and across
// NaNs (ignore_na=false) with per-value shares. Groups outside the bounds of either (shares
// above 1/4, numbagg's infinities, the first few values) run the scalar recurrences.
//
// Parallelism: rows (series) in parallel; one series is one task on one thread, since every
// output depends on all earlier values. Results never depend on the thread count.

enum class EwmStat : int { mean = 0, var = 1, std = 2, cov = 3, corr = 4, sum = 5, count = 6 };

struct EwmParams {
  double alpha;                // in [0, 1] (0 and per-position alphas: numbagg only)
  bool adjust;                 // pandas' adjust
  bool ignore_na;              // pandas' ignore_na
  bool bias;                   // var, std, cov: biased (true) or unbiased
  bool numbagg;                // numbagg's conventions (see above)
  std::ptrdiff_t min_periods;  // pandas: >= 0
  double min_weight;           // numbagg
};

// The second operand and per-position alphas of rows laid out as RollingRows: row r's y is at
// y[y_offsets[r] + i * y_stride], its alpha at alphas[alpha_offsets[r] + i * alpha_stride].
struct EwmOperands {
  const std::ptrdiff_t* y_offsets;  // read; cov and corr only
  std::ptrdiff_t y_stride;
  const std::ptrdiff_t* alpha_offsets;  // read; only when per-position alphas are given
  std::ptrdiff_t alpha_stride;
};

// One series of n values (T float or double; defined in rolling_ewm.cpp for those two).
//   x: read, element i at x[i * x_stride]; y: read likewise (cov, corr; else may be null);
//   alphas: read, null for the constant p.alpha, else alpha of step i at alphas[i * alpha_stride];
//   out: written, output i at out[i * out_stride]; must not overlap x, y or alphas.
// Preconditions (checked by the caller): alphas in [0, 1], p.alpha in [0, 1], min_periods >= 0;
// per-position alphas and alpha = 0 only with p.numbagg. Never throws, never allocates.
template <class T>
void ewm_series(const T* x, std::ptrdiff_t x_stride, const T* y, std::ptrdiff_t y_stride,
                const double* alphas, std::ptrdiff_t alpha_stride, std::ptrdiff_t n, EwmStat stat,
                const EwmParams& p, T* out, std::ptrdiff_t out_stride) noexcept;

// Every row of `rows` (x and out as in RollingRows, y and alphas as in `more`), rows spread over
// up to n_threads threads with hotloop::parallel_for. Bit-identical output for any thread count.
template <class T>
void ewm_rows(const T* x, const T* y, const double* alphas, T* out, const RollingRows& rows,
              const EwmOperands& more, EwmStat stat, const EwmParams& p, int n_threads) noexcept;

}  // namespace hotloop
