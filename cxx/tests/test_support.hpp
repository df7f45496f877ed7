// Helpers shared by the statistics test suites: seeded data, strided buffers, error measures.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace hotloop_test {

constexpr double kU = 0x1p-53;   // unit roundoff of double
constexpr double kUf = 0x1p-24;  // unit roundoff of float
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// n draws of loc + scale * N(0, 1), computed in double then rounded to T.
template <class T>
std::vector<T> normal(std::ptrdiff_t n, std::uint64_t seed, double loc = 0.0, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<T> v(static_cast<std::size_t>(n));
  for (auto& x : v) x = static_cast<T>(loc + scale * dist(rng));
  return v;
}

// A copy of `values` laid out at `stride` (which may be negative) inside a buffer whose gaps
// hold `gap`. base() points at element 0, so element i is at base()[i * stride], as the kernels
// expect. Gaps filled with NaN make a kernel that reads them produce NaN, so the layout is tested.
template <class T>
class Strided {
 public:
  Strided(const std::vector<T>& values, std::ptrdiff_t stride, T gap)
      : n_(static_cast<std::ptrdiff_t>(values.size())), stride_(stride) {
    const std::ptrdiff_t a = stride < 0 ? -stride : stride;
    buf_.assign(static_cast<std::size_t>(n_ > 0 ? (n_ - 1) * a + 1 : 1), gap);
    for (std::ptrdiff_t i = 0; i < n_; ++i)
      base()[i * stride_] = values[static_cast<std::size_t>(i)];
  }
  T* base() { return buf_.data() + (stride_ < 0 && n_ > 0 ? (n_ - 1) * -stride_ : 0); }
  const T* base() const { return buf_.data() + (stride_ < 0 && n_ > 0 ? (n_ - 1) * -stride_ : 0); }
  std::ptrdiff_t stride() const { return stride_; }
  const std::vector<T>& buffer() const { return buf_; }

 private:
  std::ptrdiff_t n_, stride_;
  std::vector<T> buf_;
};

// |got - ref| / |ref|, with 0/0 = 0 and x/0 = inf.
inline double rel_err(double got, long double ref) {
  const long double d = std::fabs(static_cast<long double>(got) - ref);
  if (d == 0.0L) return 0.0;
  if (ref == 0.0L) return kInf;
  return static_cast<double>(d / std::fabs(ref));
}

// Bitwise identity of two doubles (so NaN == NaN when the payloads agree).
inline bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Shifted, corrected two-pass in long double over finite values (the tests' reference):
//   mean = K + sum(x - K) / c,  d = x - mean,  M2 = sum(d^2) - sum(d)^2 / c.
// values must not be empty.
inline void long_double_two_pass(const std::vector<long double>& values, long double& mean,
                                 long double& m2) {
  const long double c = static_cast<long double>(values.size()), K = values[0];
  long double s = 0.0L;
  for (long double v : values) s += v - K;
  mean = K + s / c;
  long double s1 = 0.0L, s2 = 0.0L;
  for (long double v : values) {
    s1 += v - mean;
    s2 += (v - mean) * (v - mean);
  }
  m2 = s2 - s1 * s1 / c;
}

}  // namespace hotloop_test
