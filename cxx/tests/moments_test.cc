// Tests of hotloop::moments() and hotloop::RunningStats against a slow long double twin.

#include "hotloop/moments.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using hotloop::Moments;
using hotloop::RunningStats;
using hotloop_test::kInf;
using hotloop_test::kNaN;
using hotloop_test::kU;
using hotloop_test::long_double_two_pass;
using hotloop_test::normal;
using hotloop_test::rel_err;
using hotloop_test::same_bits;
using hotloop_test::Strided;

// ---------------------------------------------------------------------------------------------
// The reference: the documented policy spelled out case by case, and for finite data a shifted,
// corrected two-pass in long double (64-bit significand, 11 bits more than double):
//   mean = K + sum(x - K) / n,  d = x - mean,  M2 = sum(d^2) - sum(d)^2 / n.
// Its own error is a few units of 2^-64, far below the double-precision tolerances used here.

struct Ref {
  std::int64_t count;
  long double mean, m2;
};

template <class T>
Ref reference(const T* x, std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna) {
  std::vector<long double> finite;
  std::int64_t nan = 0, pos = 0, neg = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const long double v = static_cast<long double>(x[i * stride]);
    if (std::isnan(v)) {
      ++nan;
    } else if (std::isinf(v)) {
      (v > 0 ? pos : neg) += 1;
    } else {
      finite.push_back(v);
    }
  }
  Ref r{static_cast<std::int64_t>(n) - (skipna ? nan : 0), kNaN, kNaN};
  if (r.count == 0) return r;
  if ((nan > 0 && !skipna) || (pos > 0 && neg > 0)) return r;
  if (pos > 0 || neg > 0) {
    r.mean = pos > 0 ? kInf : -kInf;
    return r;
  }
  long_double_two_pass(finite, r.mean, r.m2);
  return r;
}

// Compares a result with the reference. Finite results: M2 within rel_tol relative error; the
// mean within rel_tol * (|mean| + std) absolute error (the mean of centred data is a
// cancellation, so its error is relative to the spread, not to |mean|). Exact zeros stay exact.
::testing::AssertionResult matches(const Moments& got, const Ref& ref, double rel_tol,
                                   bool need_m2 = true) {
  std::ostringstream why;
  why.precision(17);
  if (got.count != ref.count) {
    why << "count " << got.count << " != " << ref.count;
    return ::testing::AssertionFailure() << why.str();
  }
  if (std::isnan(ref.mean) || std::isinf(ref.mean)) {
    const bool ok =
        std::isnan(ref.mean) ? std::isnan(got.mean) : got.mean == static_cast<double>(ref.mean);
    if (!ok) {
      why << "mean " << got.mean << ", expected " << static_cast<double>(ref.mean);
      return ::testing::AssertionFailure() << why.str();
    }
  } else {
    const long double spread = std::sqrt(ref.m2 / static_cast<long double>(ref.count));
    const long double err = std::fabs(static_cast<long double>(got.mean) - ref.mean);
    if (!(err <= rel_tol * (std::fabs(ref.mean) + spread))) {
      why << "mean " << got.mean << ", expected " << static_cast<double>(ref.mean) << " (error "
          << static_cast<double>(err) << ")";
      return ::testing::AssertionFailure() << why.str();
    }
  }
  if (!need_m2) {
    if (ref.count > 0 && got.m2 != 0.0) {
      why << "m2 " << got.m2 << " without need_m2, expected 0";
      return ::testing::AssertionFailure() << why.str();
    }
  } else if (std::isnan(ref.m2)) {
    if (!std::isnan(got.m2)) {
      why << "m2 " << got.m2 << ", expected NaN";
      return ::testing::AssertionFailure() << why.str();
    }
  } else if (!(rel_err(got.m2, ref.m2) <= rel_tol)) {
    why << "m2 " << got.m2 << ", expected " << static_cast<double>(ref.m2) << " (relative error "
        << rel_err(got.m2, ref.m2) << ")";
    return ::testing::AssertionFailure() << why.str();
  }
  return ::testing::AssertionSuccess();
}

std::string label(std::ptrdiff_t n, std::ptrdiff_t stride, bool skipna) {
  return "n=" + std::to_string(n) + " stride=" + std::to_string(stride) +
         " skipna=" + std::to_string(skipna);
}

constexpr double kTol = 8 * kU;  // "within a few ulps"
const std::ptrdiff_t kSizes[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 100, 1000, 100000};
const std::ptrdiff_t kStrides[] = {1, 3, -1};

template <class T>
class MomentsTyped : public ::testing::Test {};
using Dtypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MomentsTyped, Dtypes);

// ---------------------------------------------------------------------------------------------
// moments()

TEST(Moments, KnownValues) {
  const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
  const Moments r = hotloop::moments(x, 8, 1, false, true);
  EXPECT_EQ(r.count, 8);
  EXPECT_EQ(r.mean, 5.0);
  EXPECT_EQ(r.m2, 32.0);
  const float xf[] = {1.5f, -2.5f};
  const Moments rf = hotloop::moments(xf, 2, 1, false, true);
  EXPECT_EQ(rf.count, 2);
  EXPECT_EQ(rf.mean, -0.5);
  EXPECT_EQ(rf.m2, 8.0);
}

TYPED_TEST(MomentsTyped, MatchesReferenceAcrossSizesAndStrides) {
  using T = TypeParam;
  for (std::ptrdiff_t n : kSizes) {
    const std::vector<T> data = normal<T>(n, 1000 + n, 0.5, 2.0);
    for (std::ptrdiff_t stride : kStrides) {
      // NaN gaps: reading outside the strided view would show up as a NaN result.
      const Strided<T> x(data, stride, static_cast<T>(kNaN));
      for (bool skipna : {false, true}) {
        const Ref ref = reference(x.base(), n, stride, skipna);
        EXPECT_TRUE(matches(hotloop::moments(x.base(), n, stride, skipna, true), ref, kTol))
            << label(n, stride, skipna);
        EXPECT_TRUE(matches(hotloop::moments(x.base(), n, stride, skipna, false), ref, kTol,
                            /*need_m2=*/false))
            << label(n, stride, skipna) << " need_m2=false";
      }
    }
  }
}

TYPED_TEST(MomentsTyped, OffsetDataWithinFewUlps) {
  using T = TypeParam;
  // As large an offset as the type leaves room for: 1e9 + N(0,1) for double; float has 24 bits,
  // so 1e4 + N(0,1) (1e9 would round every value to the same float).
  const double loc = sizeof(T) == 8 ? 1e9 : 1e4;
  for (std::ptrdiff_t n : {2, 9, 1000, 100000}) {
    const std::vector<T> data = normal<T>(n, 77 + n, loc, 1.0);
    for (std::ptrdiff_t stride : kStrides) {
      const Strided<T> x(data, stride, static_cast<T>(kNaN));
      for (bool skipna : {false, true}) {
        const Ref ref = reference(x.base(), n, stride, skipna);
        const Moments r = hotloop::moments(x.base(), n, stride, skipna, true);
        EXPECT_EQ(r.count, n);
        EXPECT_LE(rel_err(r.mean, ref.mean), kTol) << label(n, stride, skipna);
        EXPECT_LE(rel_err(r.m2, ref.m2), kTol) << label(n, stride, skipna);
        EXPECT_GT(r.m2, 0.0);
      }
    }
  }
}

TYPED_TEST(MomentsTyped, EqualValuesGiveExactlyZeroM2) {
  using T = TypeParam;
  const double values[] = {0.1, -7.25, 1e9 + 0.3, 3e-30, sizeof(T) == 8 ? 1e300 : 1e30};
  for (double value : values) {
    const T v = static_cast<T>(value);
    for (std::ptrdiff_t n : {1, 2, 7, 8, 9, 17, 1000}) {
      for (std::ptrdiff_t stride : kStrides) {
        for (bool skipna : {false, true}) {
          std::vector<T> data(static_cast<std::size_t>(n), v);
          // With skipna, NaNs in front (so the shift K is not x[0]) and in between are dropped.
          if (skipna && n > 2) data[0] = data[static_cast<std::size_t>(n / 2)] = T(kNaN);
          const std::ptrdiff_t nan = skipna && n > 2 ? 2 : 0;
          const Strided<T> x(data, stride, static_cast<T>(kNaN));
          const Moments r = hotloop::moments(x.base(), n, stride, skipna, true);
          EXPECT_EQ(r.count, n - nan) << label(n, stride, skipna) << " value=" << value;
          EXPECT_EQ(r.mean, static_cast<double>(v)) << label(n, stride, skipna);
          EXPECT_EQ(r.m2, 0.0) << label(n, stride, skipna) << " value=" << value;
        }
      }
    }
  }
}

TYPED_TEST(MomentsTyped, NonFinitePolicy) {
  using T = TypeParam;
  const T nan = static_cast<T>(kNaN), pinf = static_cast<T>(kInf), ninf = -pinf;
  for (std::ptrdiff_t n : {1, 2, 7, 8, 9, 17, 100}) {
    const std::vector<T> base = normal<T>(n, 5 + n, 1.0, 1.0);
    for (std::ptrdiff_t pos : {std::ptrdiff_t{0}, n / 2, n - 1}) {
      const std::ptrdiff_t other = n - 1 - pos;  // a second position (may equal pos)
      for (std::ptrdiff_t stride : kStrides) {
        auto run = [&](std::vector<T> data, bool skipna) {
          const Strided<T> x(data, stride, static_cast<T>(0));
          const Moments r = hotloop::moments(x.base(), n, stride, skipna, true);
          EXPECT_TRUE(matches(r, reference(x.base(), n, stride, skipna), kTol))
              << label(n, stride, skipna) << " pos=" << pos;
          return r;
        };
        std::vector<T> d = base;
        d[pos] = nan;
        Moments r = run(d, false);
        EXPECT_EQ(r.count, n);
        EXPECT_TRUE(std::isnan(r.mean));
        EXPECT_TRUE(std::isnan(r.m2));
        r = run(d, true);
        EXPECT_EQ(r.count, n - 1);
        EXPECT_EQ(std::isfinite(r.mean), n > 1);

        for (T inf : {pinf, ninf}) {
          d = base;
          d[pos] = inf;
          for (bool skipna : {false, true}) {
            r = run(d, skipna);
            EXPECT_EQ(r.count, n);
            EXPECT_EQ(r.mean, static_cast<double>(inf));
            EXPECT_TRUE(std::isnan(r.m2));
          }
        }
        if (other != pos) {
          d = base;
          d[pos] = pinf;
          d[other] = ninf;
          for (bool skipna : {false, true}) {
            r = run(d, skipna);
            EXPECT_EQ(r.count, n);
            EXPECT_TRUE(std::isnan(r.mean));
            EXPECT_TRUE(std::isnan(r.m2));
          }
          d = base;
          d[pos] = nan;
          d[other] = ninf;
          r = run(d, false);
          EXPECT_TRUE(std::isnan(r.mean));
          r = run(d, true);
          EXPECT_EQ(r.count, n - 1);
          EXPECT_EQ(r.mean, -kInf);
          EXPECT_TRUE(std::isnan(r.m2));
        }
      }
    }
  }
}

TYPED_TEST(MomentsTyped, EmptyAndAllNaN) {
  using T = TypeParam;
  const T dummy = 0;
  for (bool skipna : {false, true}) {
    const Moments r = hotloop::moments(&dummy, 0, 1, skipna, true);
    EXPECT_EQ(r.count, 0);
    EXPECT_TRUE(std::isnan(r.mean));
    EXPECT_TRUE(std::isnan(r.m2));
  }
  const std::vector<T> nans(20, static_cast<T>(kNaN));
  Moments r = hotloop::moments(nans.data(), 20, 1, true, true);
  EXPECT_EQ(r.count, 0);
  EXPECT_TRUE(std::isnan(r.mean));
  EXPECT_TRUE(std::isnan(r.m2));
  r = hotloop::moments(nans.data(), 20, 1, false, true);
  EXPECT_EQ(r.count, 20);
  EXPECT_TRUE(std::isnan(r.mean));
}

// ---------------------------------------------------------------------------------------------
// RunningStats

// Accuracy target for the accumulator on 1e9-offset data (double-double state).
constexpr double kRunTol = 1e-14;

void expect_close_to(const RunningStats& s, const Ref& ref, const std::string& what) {
  EXPECT_EQ(s.count(), ref.count) << what;
  EXPECT_LE(rel_err(s.mean(), ref.mean), 4 * kU) << what;
  EXPECT_LE(rel_err(s.m2(), ref.m2), kRunTol) << what;
  EXPECT_LE(rel_err(s.var(1), ref.m2 / (ref.count - 1)), kRunTol) << what;
}

// Random contiguous chunk boundaries 0 = b[0] < ... < b[k] = n, empty chunks included.
std::vector<std::ptrdiff_t> random_cuts(std::ptrdiff_t n, std::ptrdiff_t max_chunk,
                                        std::mt19937_64& rng) {
  std::uniform_int_distribution<std::ptrdiff_t> len(0, max_chunk);
  std::vector<std::ptrdiff_t> b{0};
  while (b.back() < n) b.push_back(std::min(n, b.back() + len(rng)));
  return b;
}

TEST(RunningStats, PushExtendMergeAgreeOnOffsetData) {
  const std::ptrdiff_t n = 1000000;
  const std::vector<double> x = normal<double>(n, 2024, 1e9, 1.0);
  const Ref ref = reference(x.data(), n, 1, false);
  std::mt19937_64 rng(99);

  RunningStats pushed;
  for (double v : x) pushed.push(v);
  expect_close_to(pushed, ref, "push");

  RunningStats whole;
  whole.extend(x.data(), n, 1);
  expect_close_to(whole, ref, "extend");

  const std::vector<std::ptrdiff_t> cuts = random_cuts(n, 5000, rng);
  RunningStats chunked;
  std::vector<RunningStats> parts;
  for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
    chunked.extend(x.data() + cuts[k], cuts[k + 1] - cuts[k], 1);
    RunningStats part;
    if (k % 3 == 0) {  // mix the ways a part is filled
      for (std::ptrdiff_t i = cuts[k]; i < cuts[k + 1]; ++i) part.push(x[i]);
    } else {
      part.extend(x.data() + cuts[k], cuts[k + 1] - cuts[k], 1);
    }
    parts.push_back(part);
  }
  expect_close_to(chunked, ref, "extend in chunks");

  RunningStats merged;
  for (const RunningStats& p : parts) merged.merge(p);
  expect_close_to(merged, ref, "merge in order");

  // A random reduction tree, as threads finishing in any order would produce.
  std::vector<RunningStats> pool = parts;
  while (pool.size() > 1) {
    std::shuffle(pool.begin(), pool.end(), rng);
    pool[0].merge(pool.back());
    pool.pop_back();
  }
  expect_close_to(pool[0], ref, "merge tree");

  for (std::ptrdiff_t stride : {3, -1}) {
    const Strided<double> sx(x, stride, kNaN);
    RunningStats s;
    s.extend(sx.base(), n, stride);
    expect_close_to(s, ref, "extend stride " + std::to_string(stride));
  }
}

TEST(RunningStats, FloatExtendMatchesReference) {
  const std::ptrdiff_t n = 100000;
  const std::vector<float> x = normal<float>(n, 31, 1e4, 1.0);
  const Ref ref = reference(x.data(), n, 1, false);
  RunningStats s, p;
  s.extend(x.data(), n / 3, 1);
  s.extend(x.data() + n / 3, n - n / 3, 1);
  for (float v : x) p.push(v);
  expect_close_to(s, ref, "float extend");
  expect_close_to(p, ref, "float push");
}

bool same_state(const RunningStats::State& a, const RunningStats::State& b) {
  return a.skipna == b.skipna && a.n_finite == b.n_finite && a.n_nan == b.n_nan &&
         a.n_posinf == b.n_posinf && a.n_neginf == b.n_neginf && same_bits(a.mean_hi, b.mean_hi) &&
         same_bits(a.mean_lo, b.mean_lo) && same_bits(a.m2_hi, b.m2_hi) &&
         same_bits(a.m2_lo, b.m2_lo) && a.scale == b.scale && same_bits(a.maxabs, b.maxabs);
}

TEST(RunningStats, StateRoundTripIsExact) {
  const std::vector<double> x = normal<double>(1000, 8, 1e9, 1.0);
  for (bool skipna : {false, true}) {
    for (int variant = 0; variant < 3; ++variant) {
      RunningStats s(skipna);
      s.extend(x.data(), 480, 1);
      for (std::size_t i = 480; i < 500; ++i) s.push(x[i]);
      if (variant >= 1) s.push(kNaN);
      if (variant >= 2) s.push(-kInf);
      const RunningStats::State st = s.state();
      EXPECT_NE(st.mean_lo, 0.0);  // the low parts carry information worth keeping
      RunningStats r = RunningStats::from_state(st);
      EXPECT_TRUE(same_state(r.state(), st));
      EXPECT_EQ(r.skipna(), skipna);
      EXPECT_EQ(r.count(), s.count());
      EXPECT_TRUE(same_bits(r.mean(), s.mean()));
      EXPECT_TRUE(same_bits(r.m2(), s.m2()));
      EXPECT_TRUE(same_bits(r.var(1), s.var(1)));
      // Both continue identically.
      s.extend(x.data() + 500, 500, 1);
      r.extend(x.data() + 500, 500, 1);
      s.push(1.5);
      r.push(1.5);
      EXPECT_TRUE(same_state(r.state(), s.state()));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The ends of the double range: long double (exponents to 16383) holds every exact sum here.

constexpr double kDenorm = std::numeric_limits<double>::denorm_min();

// Data sets at the ends of the range and mixed with normal values.
std::vector<double> range_data(int kind, std::ptrdiff_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::uniform_int_distribution<int> k(-1000000, 1000000);
  std::vector<double> x(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool half = i % 2 == 0;
    switch (kind) {
      case 0:
        x[i] = u(rng) * 1.7e308;
        break;  // sums overflow
      case 1:
        x[i] = 1.5e308 + g(rng) * 1e292;
        break;  // near the top
      case 2:
        x[i] = g(rng) * 1e160;
        break;  // squares overflow
      case 3:
        x[i] = g(rng) * 1e-160;
        break;  // squares underflow
      case 4:
        x[i] = k(rng) * kDenorm;
        break;  // subnormal
      case 5:
        x[i] = half ? g(rng) * 1e300 : g(rng);
        break;  // huge and normal
      case 6:
        x[i] = half ? g(rng) * 1e-200 : g(rng);
        break;  // tiny and normal
      default:
        x[i] = half ? g(rng) * 1e-300 : k(rng) * kDenorm;  // tiny and subnormal
    }
  }
  return x;
}
constexpr int kRangeKinds = 8;

// |got - ref| within tol relative, or a few subnormal ulps (results below 2.2e-308).
bool close_in_range(double got, long double ref, long double scale, double tol) {
  if (std::isinf(ref) || ref == 0.0L) return got == static_cast<double>(ref);
  return std::fabs(static_cast<long double>(got) - ref) <= tol * scale + 4.0L * kDenorm;
}

TEST(Moments, WholeDoubleRange) {
  for (int kind = 0; kind < kRangeKinds; ++kind) {
    for (std::ptrdiff_t n : {1, 2, 9, 17, 1000}) {
      const std::vector<double> x = range_data(kind, n, 77 + kind);
      for (std::ptrdiff_t stride : {1, 3, -1}) {
        const Strided<double> sx(x, stride, kNaN);
        for (bool skipna : {false, true}) {
          const Ref ref = reference(sx.base(), n, stride, skipna);
          const std::string at = "kind=" + std::to_string(kind) + " " + label(n, stride, skipna);
          const Moments m = hotloop::moments(sx.base(), n, stride, skipna, true);
          const Moments mm = hotloop::moments(sx.base(), n, stride, skipna, false);
          const long double var = ref.m2 / n, sd = std::sqrt(var);
          EXPECT_TRUE(close_in_range(m.mean, ref.mean, std::fabs(ref.mean), 2 * kU)) << at;
          EXPECT_TRUE(close_in_range(mm.mean, ref.mean, std::fabs(ref.mean), 2 * kU)) << at;
          const double big = std::numeric_limits<double>::max();
          EXPECT_TRUE(var > big ? std::isinf(hotloop::variance(m, 0))
                                : close_in_range(hotloop::variance(m, 0), var, var, kTol))
              << at << " var " << hotloop::variance(m, 0);
          EXPECT_TRUE(close_in_range(hotloop::stddev(m, 0), sd, sd, kTol))
              << at << " std " << hotloop::stddev(m, 0);
          EXPECT_EQ(m.m2_exp % 2, 0) << at;
        }
      }
      // RunningStats: pushed, extended in chunks, merged; to about 1e-15 relative (the mean
      // relative to the spread, as in expect_close_to).
      const Ref ref = reference(x.data(), n, 1, false);
      const long double var = ref.m2 / n, sd = std::sqrt(var);
      RunningStats pushed, chunked, merged;
      for (double v : x) pushed.push(v);
      for (std::ptrdiff_t i = 0; i < n; i += 100) {
        const std::ptrdiff_t len = std::min<std::ptrdiff_t>(100, n - i);
        chunked.extend(x.data() + i, len, 1);
        RunningStats part;
        part.extend(x.data() + i, len, 1);
        merged.merge(RunningStats::from_state(part.state()));
      }
      for (const RunningStats* s : {&pushed, &chunked, &merged}) {
        const std::string at = "kind=" + std::to_string(kind) + " n=" + std::to_string(n);
        EXPECT_EQ(s->count(), n) << at;
        EXPECT_TRUE(close_in_range(s->mean(), ref.mean, std::fabs(ref.mean) + sd, 1e-14)) << at;
        const double big = std::numeric_limits<double>::max();
        EXPECT_TRUE(var > big ? std::isinf(s->var(0)) : close_in_range(s->var(0), var, var, 1e-14))
            << at << " var " << s->var(0);
        EXPECT_TRUE(close_in_range(s->std(0), sd, sd, 1e-14)) << at << " std " << s->std(0);
      }
    }
  }
}

TEST(Moments, RangeKnownValues) {
  const double a[] = {1e308, -1e308, 1e308};
  const Moments r = hotloop::moments(a, 3, 1, false, true);
  EXPECT_EQ(r.mean, static_cast<double>(1e308L / 3));
  EXPECT_EQ(hotloop::variance(r, 0), kInf);
  const double b[] = {1.5e308, -1.5e308};
  const Moments rb = hotloop::moments(b, 2, 1, false, true);
  EXPECT_EQ(hotloop::stddev(rb, 0), 1.5e308);
  EXPECT_EQ(hotloop::stddev(rb, 1), kInf);
  const double c[] = {kInf, 1e308, -1e308, -1e308};  // the finite part overflows
  EXPECT_EQ(hotloop::moments(c, 4, 1, false, false).mean, kInf);
  EXPECT_TRUE(std::isnan(hotloop::moments(c, 4, 1, false, true).m2));
  const double d[] = {kDenorm, -kDenorm};
  EXPECT_EQ(hotloop::stddev(hotloop::moments(d, 2, 1, false, true), 0), kDenorm);
  const double e[] = {-3e-320, -3e-320, -3e-320};
  const Moments re = hotloop::moments(e, 3, 1, false, true);
  EXPECT_EQ(re.mean, -3e-320);
  EXPECT_EQ(hotloop::variance(re, 0), 0.0);
}

TEST(RunningStats, NonFinitePolicy) {
  const std::vector<double> base = normal<double>(50, 3, 2.0, 1.0);
  struct Case {
    std::vector<double> extra;
    bool skipna;
    std::int64_t count_add;
    double mean;  // NaN: expect NaN; otherwise expect this value (inf) or finite (0.0)
  };
  const Case cases[] = {
      {{kNaN}, false, 1, kNaN},
      {{kNaN}, true, 0, 0.0},
      {{kInf}, false, 1, kInf},
      {{-kInf}, true, 1, -kInf},
      {{kInf, -kInf}, false, 2, kNaN},
      {{kInf, -kInf}, true, 2, kNaN},
      {{kNaN, kInf}, false, 2, kNaN},
      {{kNaN, kInf, kNaN}, true, 1, kInf},
      {{kNaN, kNaN, kNaN}, false, 3, kNaN},
  };
  for (const Case& c : cases) {
    std::vector<double> data = base;
    data.insert(data.begin() + 20, c.extra.begin(), c.extra.end());
    const std::int64_t n = static_cast<std::int64_t>(data.size());
    RunningStats pushed(c.skipna), extended(c.skipna), merged(c.skipna), part(c.skipna);
    for (double v : data) pushed.push(v);
    extended.extend(data.data(), n, 1);
    merged.extend(data.data(), 21, 1);
    part.extend(data.data() + 21, n - 21, 1);
    merged.merge(part);
    for (const RunningStats* s : {&pushed, &extended, &merged}) {
      SCOPED_TRACE(::testing::Message() << "extra size " << c.extra.size() << " skipna " << c.skipna
                                        << " first " << c.extra[0]);
      EXPECT_EQ(s->count(), 50 + c.count_add);
      if (std::isnan(c.mean)) {
        EXPECT_TRUE(std::isnan(s->mean()));
      } else if (std::isinf(c.mean)) {
        EXPECT_EQ(s->mean(), c.mean);
      } else {
        EXPECT_TRUE(std::isfinite(s->mean()));
      }
      // Any non-finite value that is counted makes the spread undefined.
      const bool finite = c.count_add == 0;
      EXPECT_EQ(std::isnan(s->m2()), !finite);
      EXPECT_EQ(std::isnan(s->var(0)), !finite);
      EXPECT_EQ(std::isnan(s->std(1)), !finite);
    }
    // A non-finite value, once counted, is not forgotten by later finite values.
    pushed.extend(base.data(), 50, 1);
    EXPECT_EQ(std::isnan(pushed.m2()), c.count_add != 0);
  }
  // Merging accumulators that saw opposite infinities.
  RunningStats a, b;
  a.push(1.0);
  a.push(kInf);
  b.push(-kInf);
  EXPECT_EQ(a.mean(), kInf);
  EXPECT_EQ(b.mean(), -kInf);
  a.merge(b);
  EXPECT_EQ(a.count(), 3);
  EXPECT_TRUE(std::isnan(a.mean()));
}

TEST(RunningStats, VarDdofAndCount) {
  RunningStats s;
  EXPECT_EQ(s.count(), 0);
  EXPECT_TRUE(std::isnan(s.mean()));
  EXPECT_TRUE(std::isnan(s.m2()));
  EXPECT_TRUE(std::isnan(s.var(0)));
  s.push(1.0);
  EXPECT_EQ(s.mean(), 1.0);
  EXPECT_EQ(s.var(0), 0.0);
  EXPECT_TRUE(std::isnan(s.var(1)));
  EXPECT_TRUE(std::isnan(s.std(1)));
  s.push(3.0);
  EXPECT_EQ(s.mean(), 2.0);
  EXPECT_EQ(s.m2(), 2.0);
  EXPECT_EQ(s.var(0), 1.0);
  EXPECT_EQ(s.var(1), 2.0);
  EXPECT_TRUE(std::isnan(s.var(2)));
  EXPECT_TRUE(std::isnan(s.var(5)));

  const double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
  RunningStats k;
  k.extend(x, 8, 1);
  EXPECT_EQ(k.mean(), 5.0);
  EXPECT_EQ(k.var(0), 4.0);
  EXPECT_EQ(k.std(0), 2.0);
  EXPECT_EQ(k.var(7), 32.0 / 1.0);
  EXPECT_TRUE(std::isnan(k.var(8)));

  // With skipna the NaNs are not counted, so they do not help count exceed ddof.
  RunningStats q(/*skipna=*/true);
  q.push(1.0);
  q.push(kNaN);
  q.push(2.0);
  EXPECT_EQ(q.count(), 2);
  EXPECT_EQ(q.var(1), 0.5);
  EXPECT_TRUE(std::isnan(q.var(2)));
}

// ---------------------------------------------------------------------------------------------
// Ctrl-C: inputs above one block of 2^20 values poll an Interrupt between blocks.

constexpr std::ptrdiff_t kBlock = std::ptrdiff_t{1} << 20;

// An Interrupt whose check runs at every poll (interval 0), counts its calls and says stop at
// call number stop_at (never when 0).
struct CountingCheck {
  int calls = 0;
  int stop_at = 0;
  static int check(void* p) {
    auto* c = static_cast<CountingCheck*>(p);
    return ++c->calls == c->stop_at ? 1 : 0;
  }
};

// Data for every path: ordinary, NaN (skipped or not), tiny (the passes run again scaled),
// with an infinity (the extremes' scan for its sign).
std::vector<std::vector<double>> poll_cases(std::ptrdiff_t n) {
  std::mt19937_64 gen(7);
  std::vector<std::vector<double>> cases(4, std::vector<double>(static_cast<std::size_t>(n)));
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const double v = static_cast<double>(gen() >> 11) * 0x1p-53 - 0.5;  // uniform, cheap
    cases[0][i] = 1e9 + v;
    cases[1][i] = i % 100 == 99 ? kNaN : v;
    cases[2][i] = 1e-300 * v;
    cases[3][i] = i == n / 2 ? kInf : 1e300 * v;
  }
  return cases;
}

bool same_moments(const Moments& a, const Moments& b) {
  return same_bits(a.mean, b.mean) && same_bits(a.m2, b.m2) && a.count == b.count &&
         a.m2_exp == b.m2_exp;
}

// Blocks carry the lane sums over: in blocks of any multiple of 8 values the result is the
// one of a single loop, bit for bit, in every pass (plain, NaN-skipping, scaled, extremes).
TEST(MomentsInterrupt, BlocksChangeNoBit) {
  for (std::ptrdiff_t n : {1, 7, 8, 63, 64, 65, 200, 1029}) {
    for (const auto& x : poll_cases(n)) {
      for (std::ptrdiff_t block : {8, 64, 1024}) {
        for (bool skipna : {false, true}) {
          for (bool need_m2 : {false, true}) {
            CountingCheck c;
            hotloop::Interrupt intr(&CountingCheck::check, &c, 0);
            const Moments a =
                hotloop::detail::moments_in_blocks(x.data(), n, 1, skipna, need_m2, &intr, block);
            EXPECT_TRUE(same_moments(a, hotloop::moments(x.data(), n, 1, skipna, need_m2)))
                << n << " " << block;
            EXPECT_FALSE(intr.stopped());
            const Moments r = hotloop::detail::moments_in_blocks(x.data() + n - 1, (n + 1) / 2, -2,
                                                                 skipna, need_m2, &intr, block);
            const Moments q = hotloop::moments(x.data() + n - 1, (n + 1) / 2, -2, skipna, need_m2);
            EXPECT_TRUE(same_moments(r, q)) << n << " " << block;
            if (n > 2 * block) {
              EXPECT_GE(c.calls, 2);
            }
          }
        }
      }
    }
  }
}

// Stopped at any poll, in any pass, the call returns and reports the stop.
TEST(MomentsInterrupt, StopsAtEveryPoll) {
  const std::ptrdiff_t n = 1029;
  for (const auto& x : poll_cases(n)) {
    CountingCheck all;
    hotloop::Interrupt full(&CountingCheck::check, &all, 0);
    hotloop::detail::moments_in_blocks(x.data(), n, 1, false, true, &full, 64);
    EXPECT_GE(all.calls, 16);
    for (int k = 1; k <= all.calls; ++k) {
      CountingCheck c;
      c.stop_at = k;
      hotloop::Interrupt intr(&CountingCheck::check, &c, 0);
      hotloop::detail::moments_in_blocks(x.data(), n, 1, false, true, &intr, 64);
      EXPECT_TRUE(intr.stopped()) << k;
      EXPECT_EQ(c.calls, k);  // nothing polled the check once it said stop
    }
  }
}

// The real block, 2^20 values: one block never polls (not even a clock read), two do, and the
// result is the same; RunningStats::extend likewise, and a stopped one reports it (its
// accumulator then holds part of the values: the caller drops it).
TEST(MomentsInterrupt, OneBlockNeverPollsTwoDo) {
  std::vector<double> x(static_cast<std::size_t>(kBlock + 1029));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1e9 + static_cast<double>(i % 1000);
  std::vector<double> y = x;
  y[0] = kInf;  // extend then pushes value by value: that loop polls too
  for (std::ptrdiff_t n : {kBlock, kBlock + 1029}) {
    CountingCheck c;
    hotloop::Interrupt intr(&CountingCheck::check, &c, 0);
    const Moments a = hotloop::moments(x.data(), n / 2, 1, false, true, &intr);
    EXPECT_TRUE(same_moments(a, hotloop::moments(x.data(), n / 2, 1, false, true)));
    EXPECT_EQ(c.calls, 0);
    const Moments b = hotloop::moments(x.data() + 1, n - 1, 1, false, true, &intr);
    EXPECT_TRUE(same_moments(b, hotloop::moments(x.data() + 1, n - 1, 1, false, true)));
    EXPECT_EQ(c.calls > 0, n > kBlock) << n;
    RunningStats e1, e2;
    e1.extend(x.data(), n, 1, &intr);
    e2.extend(x.data(), n, 1);
    EXPECT_TRUE(same_bits(e1.mean(), e2.mean()) && e1.count() == e2.count());
    CountingCheck s;
    s.stop_at = 1;
    hotloop::Interrupt stop(&CountingCheck::check, &s, 0);
    RunningStats part;
    part.extend(y.data(), n, 1, &stop);
    EXPECT_EQ(stop.stopped(), n > kBlock) << n;
  }
}

}  // namespace
