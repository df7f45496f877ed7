// Rolling (moving-window) mean, variance and standard deviation.
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
// Parallelism. A series is cut into blocks of rolling_block_size(window) outputs. Every block
// starts from an exact recomputation of its first window (reading window - 1 values before the
// block), so blocks are independent and the result does not depend on how blocks are spread over
// threads: any schedule gives bit-identical output.
#pragma once

#include <cstddef>

namespace hotloop {

enum class RollingStat : int { mean = 0, var = 1, std = 2 };

// Relative error bound on the rolling variance kept by the error-tracking test (2**-36).
inline constexpr double kRollingTolerance = 1.0 / 68719476736.0;

// Number of outputs per independent block; fixed by the window so results never depend on the
// thread count. Blocks are long against the window, so the exact restart costs little.
constexpr std::ptrdiff_t rolling_block_size(std::ptrdiff_t window) noexcept {
  return window * 16 > 16384 ? window * 16 : 16384;
}

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

}  // namespace hotloop
