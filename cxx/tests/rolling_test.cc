// Tests of hotloop::rolling_moments() / rolling_moments_block() against a slow long double twin
// that recomputes every window from scratch.

#include "hotloop/rolling.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using hotloop::kRollingTolerance;
using hotloop::rolling_block_size;
using hotloop::RollingStat;
using hotloop_test::kInf;
using hotloop_test::kNaN;
using hotloop_test::kU;
using hotloop_test::kUf;
using hotloop_test::long_double_two_pass;
using hotloop_test::normal;
using hotloop_test::Strided;

constexpr RollingStat kStats[] = {RollingStat::mean, RollingStat::var, RollingStat::std};

const char* name(RollingStat s) {
  return s == RollingStat::mean ? "mean" : s == RollingStat::var ? "var" : "std";
}

// ---------------------------------------------------------------------------------------------
// The reference. Window i is x[max(0, i - W + 1) .. i]; its finite values get a shifted,
// corrected two-pass in long double (K = first finite value):
//   mean = K + sum(x - K) / c,  d = x - mean,  M2 = sum(d^2) - sum(d)^2 / c,
// and the NaN/inf policy of rolling.hpp is applied case by case in expected().

struct RefWin {
  std::ptrdiff_t cnt = 0, npos = 0, nneg = 0;  // finite values, +inf, -inf (NaNs skipped)
  long double mean = 0.0L, m2 = 0.0L;          // of the finite values
};

template <class T>
std::vector<RefWin> ref_windows(const T* x, std::ptrdiff_t n, std::ptrdiff_t xs, std::ptrdiff_t W) {
  std::vector<RefWin> out(static_cast<std::size_t>(n));
  std::vector<long double> v;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    RefWin& r = out[static_cast<std::size_t>(i)];
    v.clear();
    for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - W + 1); j <= i; ++j) {
      const long double a = static_cast<long double>(x[j * xs]);
      if (std::isnan(a)) continue;
      if (std::isinf(a)) {
        (a > 0 ? r.npos : r.nneg) += 1;
      } else {
        v.push_back(a);
      }
    }
    r.cnt = static_cast<std::ptrdiff_t>(v.size());
    if (r.cnt == 0) continue;
    long_double_two_pass(v, r.mean, r.m2);
  }
  return out;
}

long double expected(const RefWin& w, RollingStat stat, std::ptrdiff_t min_periods,
                     std::ptrdiff_t ddof) {
  const std::ptrdiff_t nobs = w.cnt + w.npos + w.nneg;
  if (nobs < std::max<std::ptrdiff_t>(min_periods, 1)) return kNaN;
  if (stat == RollingStat::mean) {
    if (w.npos > 0 && w.nneg > 0) return kNaN;
    if (w.npos > 0) return kInf;
    if (w.nneg > 0) return -kInf;
    return w.mean;
  }
  if (w.npos > 0 || w.nneg > 0 || w.cnt <= ddof) return kNaN;
  const long double var = w.m2 / static_cast<long double>(w.cnt - ddof);
  return stat == RollingStat::var ? var : std::sqrt(var);
}

// Documented accuracy: var within kRollingTolerance relative error plus a few ulps (std: half
// the tolerance); the mean within kRollingTolerance * (|mean| + std / sqrt(c)), the bound the
// kernel's error test keeps (rolling.cpp, Window::within_bound). float outputs add one
// rounding to float.
struct Tolerance {
  double var, sd, mean, out_round;
};

template <class T>
Tolerance default_tolerance() {
  const double out_round = sizeof(T) == 4 ? kUf : 0.0;
  return {kRollingTolerance + 16 * kU + out_round, kRollingTolerance / 2 + 16 * kU + out_round,
          kRollingTolerance + 16 * kU, out_round};
}

// Checks out[i * os] for begin <= i < end against ref[i].
template <class T>
::testing::AssertionResult check_outputs(const T* out, std::ptrdiff_t os, std::ptrdiff_t begin,
                                         std::ptrdiff_t end, const std::vector<RefWin>& ref,
                                         RollingStat stat, std::ptrdiff_t mp, std::ptrdiff_t ddof,
                                         const Tolerance& tol) {
  std::ptrdiff_t bad = 0;
  std::ostringstream why;
  why.precision(17);
  for (std::ptrdiff_t i = begin; i < end; ++i) {
    const RefWin& w = ref[static_cast<std::size_t>(i)];
    const long double e = expected(w, stat, mp, ddof);
    const double got = static_cast<double>(out[i * os]);
    bool ok;
    if (std::isnan(e)) {
      ok = std::isnan(got);
    } else if (std::isinf(e)) {
      ok = got == static_cast<double>(e);
    } else {
      const long double err = std::fabs(static_cast<long double>(got) - e);
      long double bound;
      if (stat == RollingStat::mean) {
        bound = tol.mean * (std::fabs(e) + std::sqrt(w.m2) / w.cnt) + tol.out_round * std::fabs(e);
      } else {
        bound = (stat == RollingStat::var ? tol.var : tol.sd) * e;
      }
      ok = err <= bound;  // false for NaN; an exact 0 must be reproduced exactly
    }
    if (!ok && bad++ < 5) {
      why << "\n  " << name(stat) << "[" << i << "] = " << got << ", expected "
          << static_cast<double>(e) << " (cnt " << w.cnt << ", +inf " << w.npos << ", -inf "
          << w.nneg << ", min_periods " << mp << ", ddof " << ddof << ")";
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " bad outputs of " << end - begin << why.str();
}

// Sprinkles NaN (2%), +inf and -inf (0.3% each), a run of NaNs longer than the window across the
// first block boundary (empty windows) and a short run of +inf.
template <class T>
void make_dirty(std::vector<T>& x, std::ptrdiff_t W, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (T& v : x) {
    const double p = u(rng);
    if (p < 0.02)
      v = static_cast<T>(kNaN);
    else if (p < 0.023)
      v = static_cast<T>(kInf);
    else if (p < 0.026)
      v = static_cast<T>(-kInf);
  }
  const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.size());
  const std::ptrdiff_t b = rolling_block_size(W);
  for (std::ptrdiff_t i = b - W / 2 - 2; i < b - W / 2 + W + 2 && i < n; ++i) {
    if (i >= 0) x[static_cast<std::size_t>(i)] = static_cast<T>(kNaN);
  }
  for (std::ptrdiff_t i = n / 3; i < n / 3 + 5; ++i) x[static_cast<std::size_t>(i)] = T(kInf);
}

// ---------------------------------------------------------------------------------------------
// Every window size against the reference, for lengths around the tiles (128, kRollingTile) and
// block boundaries, every min_periods/ddof/statistic, clean and dirty data, float and double.

class RollingGrid : public ::testing::TestWithParam<std::ptrdiff_t> {};

template <class T>
void run_grid(std::ptrdiff_t W, bool dirty) {
  const std::ptrdiff_t block = rolling_block_size(W);
  const std::ptrdiff_t n_max = 2 * block + 5;
  std::vector<T> data = normal<T>(n_max, 17 * W + dirty, 0.25, 1.0);
  if (dirty) make_dirty(data, W, W);
  const std::vector<RefWin> ref = ref_windows(data.data(), n_max, 1, W);
  const Tolerance tol = default_tolerance<T>();
  for (std::ptrdiff_t n :
       {std::ptrdiff_t{1}, std::ptrdiff_t{2}, std::ptrdiff_t{127}, std::ptrdiff_t{128},
        std::ptrdiff_t{129}, std::ptrdiff_t{255}, std::ptrdiff_t{256}, std::ptrdiff_t{257},
        block - 1, block, block + 1, n_max}) {
    // An exact-size copy, so that AddressSanitizer sees any read past the end.
    const std::vector<T> x(data.begin(), data.begin() + n);
    std::vector<T> out(static_cast<std::size_t>(n));
    for (RollingStat stat : kStats) {
      for (std::ptrdiff_t mp : {std::ptrdiff_t{0}, std::ptrdiff_t{1}, W}) {
        for (std::ptrdiff_t ddof : {0, 1}) {
          if (ddof >= W) continue;  // precondition 0 <= ddof < window
          std::fill(out.begin(), out.end(), static_cast<T>(-12345.0));
          hotloop::rolling_moments(x.data(), n, 1, W, mp, ddof, stat, out.data(), 1);
          ASSERT_TRUE(check_outputs(out.data(), 1, 0, n, ref, stat, mp, ddof, tol))
              << "n=" << n << " window=" << W << " dirty=" << dirty;
        }
      }
    }
  }
}

TEST_P(RollingGrid, CleanFloat64) { run_grid<double>(GetParam(), false); }
TEST_P(RollingGrid, CleanFloat32) { run_grid<float>(GetParam(), false); }
TEST_P(RollingGrid, NonFiniteFloat64) { run_grid<double>(GetParam(), true); }
TEST_P(RollingGrid, NonFiniteFloat32) { run_grid<float>(GetParam(), true); }

INSTANTIATE_TEST_SUITE_P(Windows, RollingGrid,
                         ::testing::Values(1, 2, 3, 4, 5, 7, 8, 50, 127, 128, 129, 256, 1000),
                         [](const ::testing::TestParamInfo<std::ptrdiff_t>& info) {
                           return "Window" + std::to_string(info.param);
                         });

// ---------------------------------------------------------------------------------------------
// Strides

template <class T>
void run_strided() {
  // Huge finite values in the input gaps: a kernel reading them would be far off (NaN gaps
  // would merely be skipped).
  for (std::ptrdiff_t W : {3, 50, 129}) {
    const std::ptrdiff_t n = rolling_block_size(W) + 300;
    std::vector<T> data = normal<T>(n, 4 + W, 0.25, 1.0);
    make_dirty(data, W, 40 + W);
    const std::vector<RefWin> ref = ref_windows(data.data(), n, 1, W);
    const std::ptrdiff_t pairs[][2] = {{3, 2}, {-1, 1}, {-2, -1}, {1, 3}};
    for (const auto& p : pairs) {
      const Strided<T> x(data, p[0], static_cast<T>(1e30));
      const T sentinel = static_cast<T>(-12345.0);
      Strided<T> out(std::vector<T>(static_cast<std::size_t>(n), sentinel), p[1], sentinel);
      for (RollingStat stat : kStats) {
        hotloop::rolling_moments(x.base(), n, p[0], W, 1, 1, stat, out.base(), p[1]);
        EXPECT_TRUE(check_outputs(out.base(), p[1], 0, n, ref, stat, 1, 1, default_tolerance<T>()))
            << "x_stride=" << p[0] << " out_stride=" << p[1] << " window=" << W;
        // The gaps of the output are not written.
        const std::ptrdiff_t a = p[1] < 0 ? -p[1] : p[1];
        const std::vector<T>& buf = out.buffer();
        for (std::size_t k = 0; k < buf.size(); ++k) {
          if (k % static_cast<std::size_t>(a) != 0) {
            ASSERT_EQ(buf[k], sentinel) << k;
          }
        }
      }
    }
  }
}

TEST(Rolling, StridedFloat64) { run_strided<double>(); }
TEST(Rolling, StridedFloat32) { run_strided<float>(); }

// A strided series gives the bits of the same values laid out contiguously: the vector passes
// of contiguous rows and the loops of strided ones take the same error tests. Centred data
// with small integers (sums crossing zero, equal neighbours) and sums of many windows.
template <class T>
void run_strided_bits() {
  const std::ptrdiff_t n = 9001;
  for (int data_set = 0; data_set < 3; ++data_set) {
    std::vector<T> c = normal<T>(n, 900 + data_set, 0.0, 1.0);
    if (data_set == 1)
      for (T& v : c) v = std::floor(2 * v);
    if (data_set == 2)
      for (T& v : c) v = static_cast<T>(1e9 + static_cast<double>(v));
    for (const std::ptrdiff_t stride : {std::ptrdiff_t{3}, std::ptrdiff_t{-2}}) {
      const Strided<T> xs(c, stride, static_cast<T>(1e30));
      for (std::ptrdiff_t W : {5, 6, 10, 17, 50, 300, 1000}) {
        for (RollingStat stat :
             {RollingStat::sum, RollingStat::mean, RollingStat::var, RollingStat::std}) {
          std::vector<T> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
          hotloop::rolling_moments(c.data(), n, 1, W, 1, 0, stat, a.data(), 1);
          hotloop::rolling_moments(xs.base(), n, stride, W, 1, 0, stat, b.data(), 1);
          std::ptrdiff_t differ = 0;
          for (std::ptrdiff_t i = 0; i < n; ++i)
            differ += std::memcmp(&a[static_cast<std::size_t>(i)], &b[static_cast<std::size_t>(i)],
                                  sizeof(T)) != 0;
          EXPECT_EQ(differ, 0) << "data " << data_set << " stride " << stride << " window " << W
                               << " stat " << static_cast<int>(stat);
        }
      }
    }
  }
}

TEST(Rolling, StridedSameBitsFloat64) { run_strided_bits<double>(); }
TEST(Rolling, StridedSameBitsFloat32) { run_strided_bits<float>(); }

// ---------------------------------------------------------------------------------------------
// Accuracy on hard data

double max_rel_err(const std::vector<double>& out, const std::vector<RefWin>& ref, RollingStat stat,
                   std::ptrdiff_t ddof, std::ptrdiff_t from) {
  double worst = 0.0;
  for (std::size_t i = static_cast<std::size_t>(from); i < out.size(); ++i) {
    const long double e = expected(ref[i], stat, 0, ddof);
    if (std::isnan(e)) continue;
    worst = std::max(worst, hotloop_test::rel_err(out[i], e));
  }
  return worst;
}

TEST(Rolling, OffsetDataStdWithin1e11) {
  const std::ptrdiff_t n = 200000, W = 50;
  const std::vector<double> x = normal<double>(n, 123, 1e9, 1.0);
  const std::vector<RefWin> ref = ref_windows(x.data(), n, 1, W);
  std::vector<double> out(static_cast<std::size_t>(n));
  for (std::ptrdiff_t ddof : {0, 1}) {
    hotloop::rolling_moments(x.data(), n, 1, W, 1, ddof, RollingStat::std, out.data(), 1);
    const double e_std = max_rel_err(out, ref, RollingStat::std, ddof, 1);
    EXPECT_LE(e_std, 1e-11) << "ddof " << ddof;
    hotloop::rolling_moments(x.data(), n, 1, W, 1, ddof, RollingStat::var, out.data(), 1);
    const double e_var = max_rel_err(out, ref, RollingStat::var, ddof, 1);
    EXPECT_LE(e_var, kRollingTolerance + 16 * kU) << "ddof " << ddof;
    std::ostringstream measured;
    measured << e_std;
    RecordProperty("max_rel_err_std_ddof" + std::to_string(ddof), measured.str());
  }
  hotloop::rolling_moments(x.data(), n, 1, W, 1, 0, RollingStat::mean, out.data(), 1);
  EXPECT_LE(max_rel_err(out, ref, RollingStat::mean, 0, 0), kRollingTolerance + 16 * kU);
}

// Windows lying inside a run of equal values give var = std = 0 and mean = that value exactly,
// whatever came before.
template <class T>
void run_equal_values() {
  for (std::ptrdiff_t W : {2, 3, 50, 127, 128, 129, 256}) {
    std::mt19937_64 rng(W);
    std::uniform_int_distribution<std::ptrdiff_t> len(W, 4 * W + 500);
    const double constants[] = {2.5, -1000.0 / 3.0, 1e9 + 0.3, 0.1, 7e-3};
    const double noise_loc[] = {0.0, 1e6, 1e9, -50.0};
    std::vector<T> x;
    std::vector<T> level;  // the repeated value where x belongs to a run of equal values, or NaN
    const std::ptrdiff_t n_min = rolling_block_size(W) + 3000;  // runs across a block boundary
    for (int seg = 0; static_cast<std::ptrdiff_t>(x.size()) < n_min; ++seg) {
      const std::ptrdiff_t L = len(rng);
      if (seg % 2 == 0) {
        const std::vector<T> z = normal<T>(L, seg, noise_loc[seg / 2 % 4], 1.0 + seg % 3);
        x.insert(x.end(), z.begin(), z.end());
        level.insert(level.end(), static_cast<std::size_t>(L), T(kNaN));
      } else {
        const T c = static_cast<T>(constants[seg / 2 % 5]);
        x.insert(x.end(), static_cast<std::size_t>(L), c);
        level.insert(level.end(), static_cast<std::size_t>(L), c);
        if (seg % 4 == 3) x[x.size() - static_cast<std::size_t>(L / 2)] = T(kNaN);  // skipped
      }
    }
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(x.size());
    const std::vector<RefWin> ref = ref_windows(x.data(), n, 1, W);
    std::vector<T> out(static_cast<std::size_t>(n));
    for (RollingStat stat : kStats) {
      for (std::ptrdiff_t ddof : {0, 1}) {
        if (stat == RollingStat::mean && ddof == 1) continue;
        hotloop::rolling_moments(x.data(), n, 1, W, 0, ddof, stat, out.data(), 1);
        std::ptrdiff_t run = 0, checked = 0, wrong = 0;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
          run = std::isnan(level[i]) ? 0 : run + 1;
          // (A window may also be NaN: a skipped NaN leaves count <= ddof for W = 2.)
          if (run >= W && !std::isnan(expected(ref[i], stat, 0, ddof))) {
            ++checked;
            // var and std are exactly 0; the mean is exactly the repeated value.
            const T exact = stat == RollingStat::mean ? level[i] : T(0);
            if (out[i] != exact) {
              EXPECT_EQ(out[i], exact)
                  << name(stat) << "[" << i << "] window " << W << " ddof " << ddof;
              if (++wrong > 5) return;
            }
          }
        }
        EXPECT_GT(checked, 1000);
        EXPECT_TRUE(check_outputs(out.data(), 1, 0, n, ref, stat, 0, ddof, default_tolerance<T>()))
            << "window " << W;
      }
    }
  }
}

TEST(Rolling, EqualValuesAreExactFloat64) { run_equal_values<double>(); }
TEST(Rolling, EqualValuesAreExactFloat32) { run_equal_values<float>(); }

// A huge value passing through the window: every output within tolerance, and once it has left
// the later windows are as accurate as if it had never been there.
TEST(Rolling, HugeValueDoesNotSpoilLaterWindows) {
  for (std::ptrdiff_t W : {3, 50, 129, 1000}) {
    const std::ptrdiff_t n = 20000;
    std::vector<double> x = normal<double>(n, W, 10.0, 1.0);
    const std::ptrdiff_t spikes[] = {5000, 9000, 9000 + W / 2};
    x[spikes[0]] = 1e15;
    x[spikes[1]] = -1e15;
    x[spikes[2]] = 3e12;
    const std::vector<RefWin> ref = ref_windows(x.data(), n, 1, W);
    const std::ptrdiff_t after = spikes[2] + W;
    std::vector<double> out(static_cast<std::size_t>(n));
    for (RollingStat stat : kStats) {
      hotloop::rolling_moments(x.data(), n, 1, W, 1, 1, stat, out.data(), 1);
      EXPECT_TRUE(check_outputs(out.data(), 1, 0, n, ref, stat, 1, 1, default_tolerance<double>()))
          << "window " << W;
      const Tolerance tight{1e-11, 1e-11, 1e-11, 0.0};
      EXPECT_TRUE(check_outputs(out.data(), 1, spikes[0] + W, spikes[1], ref, stat, 1, 1, tight))
          << "between the spikes, window " << W;
      EXPECT_TRUE(check_outputs(out.data(), 1, after, n, ref, stat, 1, 1, tight))
          << "after the spikes, window " << W;
    }
  }
  // The same in float32 (float tolerances).
  std::vector<float> xf = normal<float>(5000, 9, 10.0, 1.0);
  xf[1000] = 1e15f;
  const std::vector<RefWin> ref = ref_windows(xf.data(), 5000, 1, 50);
  std::vector<float> out(5000);
  for (RollingStat stat : kStats) {
    hotloop::rolling_moments(xf.data(), 5000, 1, 50, 1, 0, stat, out.data(), 1);
    EXPECT_TRUE(check_outputs(out.data(), 1, 0, 5000, ref, stat, 1, 0, default_tolerance<float>()));
  }
}

// ---------------------------------------------------------------------------------------------
// Blocks

template <class T>
bool same_bytes(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// The parallel wrapper computes block [k*B, min((k+1)*B, n)) of each row on any thread in any
// order. Doing the same here, in shuffled order, must reproduce rolling_moments bit for bit.
template <class T>
void run_block_schedule() {
  std::mt19937_64 rng(5);
  for (std::ptrdiff_t W : {1, 50, 1000, 1500}) {  // 1000, 1500: block = 32 * window > 16384
    const std::ptrdiff_t B = rolling_block_size(W);
    const std::ptrdiff_t n = 4 * B + 77;
    std::vector<T> x = normal<T>(n, 60 + W, 1e3, 1.0);
    make_dirty(x, W, 61 + W);
    x[static_cast<std::size_t>(B + 3 * W / 2)] = static_cast<T>(1e15);
    std::vector<std::ptrdiff_t> starts;
    for (std::ptrdiff_t b = 0; b < n; b += B) starts.push_back(b);
    for (RollingStat stat : kStats) {
      for (std::ptrdiff_t mp : {std::ptrdiff_t{1}, W}) {
        for (std::ptrdiff_t ddof : {0, 1}) {
          if (ddof >= W) continue;
          std::vector<T> whole(static_cast<std::size_t>(n)), pieces(whole.size(), T(-777));
          hotloop::rolling_moments(x.data(), n, 1, W, mp, ddof, stat, whole.data(), 1);
          std::shuffle(starts.begin(), starts.end(), rng);
          for (std::ptrdiff_t b : starts) {
            hotloop::rolling_moments_block(x.data(), 1, W, mp, ddof, stat, pieces.data(), 1, b,
                                           std::min(b + B, n));
          }
          EXPECT_TRUE(same_bytes(whole, pieces))
              << name(stat) << " window " << W << " mp " << mp << " ddof " << ddof;
        }
      }
    }
    // And with strided input and output.
    const Strided<T> xs(x, 2, static_cast<T>(kNaN));
    Strided<T> whole(std::vector<T>(static_cast<std::size_t>(n)), 3, T(0));
    Strided<T> pieces(std::vector<T>(static_cast<std::size_t>(n)), 3, T(0));
    hotloop::rolling_moments(xs.base(), n, 2, W, 1, 0, RollingStat::std, whole.base(), 3);
    std::shuffle(starts.begin(), starts.end(), rng);
    for (std::ptrdiff_t b : starts) {
      hotloop::rolling_moments_block(xs.base(), 2, W, 1, 0, RollingStat::std, pieces.base(), 3, b,
                                     std::min(b + B, n));
    }
    EXPECT_TRUE(same_bytes(whole.buffer(), pieces.buffer())) << "strided, window " << W;
  }
}

// Up to the direct formulas' longest windows, an output depends on its own window only: a block
// that starts anywhere gives the same bits for every full window, on contiguous or strided data.
template <class T>
void run_short_window_locality() {
  for (std::ptrdiff_t W = 1; W <= hotloop::kRollingDirectVarMax; ++W) {
    const std::ptrdiff_t n = 700;
    std::vector<T> x = normal<T>(n, 90 + W, 0.0, 1.0);
    make_dirty(x, W, 91 + W);
    for (std::ptrdiff_t i = 300; i < 340; ++i) x[static_cast<std::size_t>(i)] = T(2.5);
    x[200] = static_cast<T>(1e300);
    x[201] = static_cast<T>(-1e300);
    x[400] = static_cast<T>(1e-310);
    const Strided<T> xs(x, 2, static_cast<T>(kNaN));
    for (RollingStat stat : kStats) {
      const bool sum_like = stat == RollingStat::sum || stat == RollingStat::mean;
      if (W > (sum_like ? hotloop::kRollingDirectSumMax : hotloop::kRollingDirectVarMax)) continue;
      std::vector<T> whole(static_cast<std::size_t>(n));
      hotloop::rolling_moments_block(x.data(), 1, W, 1, 0, stat, whole.data(), 1, 0, n);
      for (std::ptrdiff_t b : {1, 5, 63, 64, 65, 333}) {
        std::vector<T> part(static_cast<std::size_t>(n), T(-777));
        hotloop::rolling_moments_block(x.data(), 1, W, 1, 0, stat, part.data(), 1, b, n);
        Strided<T> spart(std::vector<T>(static_cast<std::size_t>(n)), 3, T(0));
        hotloop::rolling_moments_block(xs.base(), 2, W, 1, 0, stat, spart.base(), 3, b, n);
        for (std::ptrdiff_t j = std::max(b, W - 1); j < n; ++j) {
          const T a = whole[static_cast<std::size_t>(j)];
          const T p = part[static_cast<std::size_t>(j)], q = spart.base()[j * 3];
          ASSERT_EQ(std::memcmp(&a, &p, sizeof a), 0)
              << name(stat) << " window " << W << " block start " << b << " output " << j;
          ASSERT_EQ(std::memcmp(&a, &q, sizeof a), 0)
              << "strided " << name(stat) << " window " << W << " block start " << b;
        }
      }
    }
  }
}

TEST(RollingBlocks, ShortWindowsDependOnTheirWindowOnlyFloat64) {
  run_short_window_locality<double>();
}
TEST(RollingBlocks, ShortWindowsDependOnTheirWindowOnlyFloat32) {
  run_short_window_locality<float>();
}

TEST(RollingBlocks, AnyScheduleIsBitIdenticalFloat64) { run_block_schedule<double>(); }
TEST(RollingBlocks, AnyScheduleIsBitIdenticalFloat32) { run_block_schedule<float>(); }

// A call for [begin, end) reads only x[max(0, begin - W + 1)] .. x[end - 1] and writes only
// out[begin] .. out[end - 1]: poisoning everything else changes nothing, bit for bit. Arbitrary
// (unaligned) splits also meet the accuracy bound: each call restarts from an exact summary.
template <class T>
void run_block_locality() {
  std::mt19937_64 rng(11);
  for (std::ptrdiff_t W : {1, 3, 50, 129, 1000}) {
    const std::ptrdiff_t n = 3 * rolling_block_size(W);
    std::vector<T> x = normal<T>(n, 70 + W, 0.25, 1.0);
    make_dirty(x, W, 71 + W);
    const std::vector<RefWin> ref = ref_windows(x.data(), n, 1, W);
    std::uniform_int_distribution<std::ptrdiff_t> pos(0, n);
    for (int trial = 0; trial < 12; ++trial) {
      std::ptrdiff_t begin = pos(rng), end = pos(rng);
      if (begin > end) std::swap(begin, end);
      if (trial == 0) begin = 0;
      if (trial == 1) end = std::min(n, begin + 1);
      const std::ptrdiff_t first = std::max<std::ptrdiff_t>(0, begin - W + 1);
      // Exactly end values (reads past them are heap overflows under ASan), garbage before first.
      std::vector<T> poisoned(x.begin(), x.begin() + end);
      const T garbage[] = {T(kNaN), T(kInf), T(-kInf), T(1e30), T(-3.0)};
      for (std::ptrdiff_t i = 0; i < first; ++i)
        poisoned[static_cast<std::size_t>(i)] = garbage[i % 5];
      const RollingStat stat = kStats[trial % 3];
      const std::ptrdiff_t ddof = W > 1 ? trial % 2 : 0;
      std::vector<T> a(static_cast<std::size_t>(n), T(-777)), b(a);
      hotloop::rolling_moments_block(x.data(), 1, W, 1, ddof, stat, a.data(), 1, begin, end);
      hotloop::rolling_moments_block(poisoned.data(), 1, W, 1, ddof, stat, b.data(), 1, begin, end);
      EXPECT_TRUE(same_bytes(a, b)) << "window " << W << " [" << begin << ", " << end << ")";
      for (std::ptrdiff_t i = 0; i < n; ++i) {
        if (i < begin || i >= end) {
          ASSERT_EQ(a[static_cast<std::size_t>(i)], T(-777)) << i;
        }
      }
      EXPECT_TRUE(
          check_outputs(a.data(), 1, begin, end, ref, stat, 1, ddof, default_tolerance<T>()))
          << "window " << W << " [" << begin << ", " << end << ")";
    }
  }
}

TEST(RollingBlocks, BlockReadsOnlyItsWindowFloat64) { run_block_locality<double>(); }
TEST(RollingBlocks, BlockReadsOnlyItsWindowFloat32) { run_block_locality<float>(); }

TEST(RollingBlocks, EmptyRangeWritesNothing) {
  const double x[4] = {1, 2, 3, 4};
  double out[4] = {9, 9, 9, 9};
  hotloop::rolling_moments_block(x, 1, 2, 1, 0, RollingStat::mean, out, 1, 2, 2);
  hotloop::rolling_moments(x, 0, 1, 2, 1, 0, RollingStat::mean, out, 1);
  for (double v : out) EXPECT_EQ(v, 9.0);
  hotloop::rolling_moments(x, 4, 1, 2, 1, 1, RollingStat::var, out, 1);
  EXPECT_TRUE(std::isnan(out[0]));  // one value, ddof 1
  EXPECT_EQ(out[1], 0.5);
  EXPECT_EQ(out[2], 0.5);
  EXPECT_EQ(out[3], 0.5);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The whole range of doubles: the mean of huge values is finite, tiny values keep their digits.

TEST(Rolling, HugeAndTinyValuesAreScaled) {
  const std::vector<double> huge = {1e308, 1e308, -1e308, 1e308};
  std::vector<double> out(huge.size());
  hotloop::rolling_moments(huge.data(), 4, 1, 2, 1, 0, RollingStat::mean, out.data(), 1);
  EXPECT_EQ(out[1], 1e308);
  EXPECT_EQ(out[2], 0.0);
  hotloop::rolling_moments(huge.data(), 4, 1, 3, 1, 0, RollingStat::mean, out.data(), 1);
  EXPECT_NEAR(out[3], 1e308 / 3, 1e293);
  hotloop::rolling_moments(huge.data(), 4, 1, 2, 1, 0, RollingStat::var, out.data(), 1);
  EXPECT_EQ(out[1], 0.0);
  EXPECT_EQ(out[2], kInf);  // the exact variance, 1e616, exceeds the largest double
  hotloop::rolling_moments(huge.data(), 4, 1, 2, 1, 0, RollingStat::std, out.data(), 1);
  EXPECT_EQ(out[2], 1e308);
  const std::vector<double> tiny = {1e-160, 1e-180, 3e-170, 5e-324};
  hotloop::rolling_moments(tiny.data(), 4, 1, 1, 1, 0, RollingStat::mean, out.data(), 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[i], tiny[i]);
  hotloop::rolling_moments(tiny.data(), 4, 1, 2, 1, 0, RollingStat::std, out.data(), 1);
  EXPECT_NEAR(out[1], (1e-160 - 1e-180) / 2, 1e-160 * 1e-14);
}

// ---------------------------------------------------------------------------------------------
// Order statistics against a sorted-window twin, and the thread-count invariance of the drivers.

using hotloop::RollingInterpolation;
using hotloop::RollingOrder;

// Median, quantile or rank of output i as the sorted kernels define them: the window sorted
// stably (equal values in arrival order, so the bits of -0.0 and 0.0 are the ones the kernel
// keeps) and the kernel's arithmetic repeated.
template <class T>
double sorted_twin(const std::vector<T>& x, std::ptrdiff_t i, std::ptrdiff_t W, std::ptrdiff_t minp,
                   RollingOrder kind, double q, RollingInterpolation interp) {
  std::vector<double> w;
  for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - W + 1); j <= i; ++j) {
    if (!std::isnan(x[j])) w.push_back(static_cast<double>(x[j]));
  }
  std::stable_sort(w.begin(), w.end());
  const auto m = static_cast<std::int32_t>(w.size());
  if (m < std::max<std::ptrdiff_t>(minp, 1)) return kNaN;
  if (kind == RollingOrder::rank || kind == RollingOrder::rank_of_integers) {
    const double v = static_cast<double>(x[i]);
    if (std::isnan(v)) return kNaN;
    if (m == 1) return 0.0;
    const auto less = std::count_if(w.begin(), w.end(), [&](double e) { return e < v; });
    const auto equal = std::count(w.begin(), w.end(), v);
    T r = T(0.5) * static_cast<T>(2 * less + equal - 1);
    if (kind == RollingOrder::rank_of_integers && i >= W) {
      r = r * (T(1) / static_cast<T>(W - 1));
    } else {
      r = r / static_cast<T>(m - 1);
    }
    return T(2) * (r - T(0.5));
  }
  if (kind == RollingOrder::median) {
    if (m % 2 == 1) return w[m / 2];
    const double a = w[m / 2 - 1], b = w[m / 2];
    const double mid = (a + b) / 2;
    return std::isinf(mid) && std::isfinite(a) && std::isfinite(b) ? a / 2 + b / 2 : mid;
  }
  if (m == 1) return w[0];
  const double t = q * static_cast<double>(m - 1);
  const auto k = static_cast<std::int32_t>(t);
  if (static_cast<double>(k) == t) return w[k];
  const double frac = t - static_cast<double>(k);
  switch (interp) {
    case RollingInterpolation::linear:
      return w[k] + (w[k + 1] - w[k]) * frac;
    case RollingInterpolation::lower:
      return w[k];
    case RollingInterpolation::higher:
      return w[k + 1];
    case RollingInterpolation::nearest:
      if (frac == 0.5) return k % 2 == 0 ? w[k] : w[k + 1];
      return frac < 0.5 ? w[k] : w[k + 1];
    case RollingInterpolation::midpoint:
      return (w[k] + w[k + 1]) / 2;
  }
  return kNaN;
}

double order_twin(const std::vector<double>& x, std::ptrdiff_t i, std::ptrdiff_t W,
                  RollingOrder kind) {
  std::vector<double> w;
  std::vector<double> raw;
  for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - W + 1); j <= i; ++j) {
    raw.push_back(x[j]);
    if (!std::isnan(x[j])) w.push_back(x[j]);
  }
  if (w.empty()) return kNaN;
  std::sort(w.begin(), w.end());
  switch (kind) {
    case RollingOrder::min:
      return w.front();
    case RollingOrder::max:
      return w.back();
    case RollingOrder::argmin:
      for (std::size_t k = raw.size(); k-- > 0;) {
        if (raw[k] == w.front()) return static_cast<double>(raw.size() - 1 - k);
      }
      return kNaN;
    case RollingOrder::median:
      return sorted_twin(x, i, W, 1, kind, 0.5, RollingInterpolation::linear);
    default:
      return kNaN;
  }
}

TEST(RollingOrder, MatchesSortedTwinAndThreadCounts) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> small(0, 6);
  const std::ptrdiff_t n = 9000;
  std::vector<double> x(n);
  for (auto& v : x) v = small(rng) == 0 ? kNaN : static_cast<double>(small(rng));
  const std::ptrdiff_t zero = 0;
  const hotloop::RollingRows rows{1, n, &zero, 1, &zero, 1};
  for (RollingOrder kind :
       {RollingOrder::min, RollingOrder::max, RollingOrder::argmin, RollingOrder::median}) {
    for (std::ptrdiff_t W : {1, 7, 300}) {
      std::vector<double> one(n), two(n);
      hotloop::rolling_order_rows(x.data(), one.data(), rows, W, 1, kind, 0.5,
                                  RollingInterpolation::linear, 1);
      hotloop::rolling_order_rows(x.data(), two.data(), rows, W, 1, kind, 0.5,
                                  RollingInterpolation::linear, 2);
      EXPECT_EQ(0, std::memcmp(one.data(), two.data(), n * sizeof(double)));
      for (std::ptrdiff_t i = 0; i < n; i += 7) {
        const double ref = order_twin(x, i, W, kind);
        if (std::isnan(ref)) {
          EXPECT_TRUE(std::isnan(one[i])) << i;
        } else {
          EXPECT_EQ(one[i], ref) << "kind " << static_cast<int>(kind) << " W " << W << " i " << i;
        }
      }
    }
  }
}

// Median, quantile and rank against sorted_twin: every output bit for bit. Windows around the
// short-window path's limit (32), data with many ties, signed zeros, infinities and NaNs entering
// and leaving mid-stream.
template <class T>
void run_sorted_twin(int data) {
  std::mt19937_64 rng(17 + data);
  const std::ptrdiff_t n = 700;
  std::vector<T> x(n);
  const double pool[] = {0.0, -0.0, 1.0, 2.0, -1.0, kInf, -kInf};
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    double v;
    switch (data) {
      case 0:  // three values: long runs of ties
        v = static_cast<double>(rng() % 3);
        break;
      case 1:  // signed zeros and infinities
        v = pool[rng() % 7];
        break;
      default:  // a price-like level, all distinct
        v = 1e9 + std::normal_distribution<double>(0.0, 1.0)(rng);
    }
    // NaNs in two stretches (a window of NaNs, then back), and scattered ones.
    if ((i >= 200 && i < 230) || (i >= 400 && i < 405) || rng() % 17 == 0) v = kNaN;
    x[i] = static_cast<T>(v);
  }
  const RollingInterpolation interps[] = {
      RollingInterpolation::linear, RollingInterpolation::lower, RollingInterpolation::higher,
      RollingInterpolation::nearest, RollingInterpolation::midpoint};
  // Each instantiation of the short path (one per pair of slots, windows up to 32), both
  // parities at its ends, and the first windows past it.
  for (std::ptrdiff_t W : {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                           15, 16, 17, 18, 19, 21, 24, 25, 27, 30, 31, 32, 33, 34}) {
    for (std::ptrdiff_t minp : {std::ptrdiff_t{0}, std::ptrdiff_t{1}, (W + 1) / 2, W}) {
      for (RollingOrder kind : {RollingOrder::median, RollingOrder::quantile, RollingOrder::rank,
                                RollingOrder::rank_of_integers}) {
        for (RollingInterpolation interp : interps) {
          if (kind != RollingOrder::quantile && interp != RollingInterpolation::linear) continue;
          for (double q : {0.0, 0.25, 0.3, 0.5, 1.0}) {
            if (kind != RollingOrder::quantile && q != 0.5) continue;
            std::vector<T> out(n);
            // Two blocks: the second starts inside the first's stream.
            hotloop::rolling_order_block(x.data(), 1, W, minp, kind, q, interp, out.data(), 1, 0,
                                         333);
            hotloop::rolling_order_block(x.data(), 1, W, minp, kind, q, interp, out.data(), 1, 333,
                                         n);
            for (std::ptrdiff_t i = 0; i < n; ++i) {
              const T ref = static_cast<T>(sorted_twin(x, i, W, minp, kind, q, interp));
              ASSERT_EQ(0, std::memcmp(&ref, &out[i], sizeof(T)))
                  << "data " << data << " W " << W << " minp " << minp << " kind "
                  << static_cast<int>(kind) << " interp " << static_cast<int>(interp) << " q " << q
                  << " i " << i << ": " << out[i] << " against " << ref;
            }
          }
        }
      }
    }
  }
}

TEST(RollingOrder, SortedKernelsMatchStableSortTwinBitForBitFloat64) {
  for (int data = 0; data < 3; ++data) run_sorted_twin<double>(data);
}
TEST(RollingOrder, SortedKernelsMatchStableSortTwinBitForBitFloat32) {
  for (int data = 0; data < 3; ++data) run_sorted_twin<float>(data);
}

// ---------------------------------------------------------------------------------------------
// Exponentially weighted statistics against a twin that keeps every observation's weight in
// long double and computes each output by a two-pass over them (pandas' conventions).

namespace {

using hotloop::EwmParams;
using hotloop::EwmStat;

struct EwmRef {
  double mean = kNaN, var = kNaN;  // var: biased or not as asked
};

std::vector<EwmRef> ewm_twin(const std::vector<double>& x, const EwmParams& p) {
  const long double f = static_cast<long double>(1.0 - p.alpha);
  const long double nw = p.adjust ? 1.0L : static_cast<long double>(p.alpha);
  std::vector<long double> w, v;
  std::vector<EwmRef> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool obs = std::isfinite(x[i]);
    if (!w.empty() && (obs || !p.ignore_na)) {
      for (auto& wk : w) wk *= f;
    }
    if (obs) {
      w.push_back(w.empty() ? 1.0L : nw);
      v.push_back(x[i]);
      if (!p.adjust) {  // pandas' adjust=false: y = (f^k y' + alpha x) / (f^k + alpha)
        long double t = 0;
        for (long double wk : w) t += wk;
        for (auto& wk : w) wk /= t;
      }
    }
    if (static_cast<std::ptrdiff_t>(w.size()) < std::max<std::ptrdiff_t>(p.min_periods, 1))
      continue;
    // U = 1 - sum(w^2) / W^2 as 2 sum_{j<k} w_j w_k / W^2: no cancellation (after a long gap
    // the old weights are tiny and 1 - sum(w^2) / W^2 would lose most digits).
    long double W = 0, S = 0, U2 = 0, C = 0;
    for (std::size_t k = 0; k < w.size(); ++k) {
      U2 += 2 * w[k] * W;
      W += w[k];
      S += w[k] * (v[k] - v[0]);
    }
    if (W == 0) {  // every weight decayed to 0 (alpha = 1 and a NaN): pandas keeps the last
      out[i] = out[i - 1];
      continue;
    }
    const long double m = S / W;
    for (std::size_t k = 0; k < w.size(); ++k) {
      const long double d = (v[k] - v[0]) - m;
      C += w[k] * d * d;
    }
    out[i].mean = static_cast<double>(v[0] + m);
    long double var = C / W;
    if (!p.bias) {
      const long double u = U2 / (W * W);
      var = u > 0 ? var / u : static_cast<long double>(kNaN);
    }
    out[i].var = static_cast<double>(var);
  }
  return out;
}

EwmParams pandas_params(double alpha, bool adjust, bool ignore_na, bool bias,
                        std::ptrdiff_t min_periods) {
  return EwmParams{alpha, adjust, ignore_na, bias, false, min_periods, 0.0};
}

template <class T>
std::vector<T> ewm_run(const std::vector<T>& x, EwmStat stat, const EwmParams& p,
                       std::ptrdiff_t stride = 1) {
  const Strided<T> xs(x, stride, static_cast<T>(kNaN));
  std::vector<T> out(x.size());
  hotloop::ewm_series(xs.base(), xs.stride(), static_cast<const T*>(nullptr), 0, nullptr, 0,
                      static_cast<std::ptrdiff_t>(x.size()), stat, p, out.data(), 1);
  return out;
}

void expect_close(double got, double ref, double rel, const std::string& what) {
  if (std::isnan(ref)) {
    EXPECT_TRUE(std::isnan(got)) << what << " got " << got;
  } else {
    EXPECT_LE(std::fabs(got - ref), rel * std::fabs(ref))
        << what << " got " << got << " ref " << ref;
  }
}

}  // namespace

TEST(Ewm, MatchesLongDoubleTwinWithNaNs) {
  std::vector<double> x = normal<double>(900, 21, 3.0);
  std::mt19937_64 rng(5);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (rng() % 9 == 0 || (i >= 300 && i < 340)) x[i] = kNaN;
  }
  x[7] = kInf;  // dropped like a NaN (pandas)
  for (double alpha : {1.0, 0.5, 0.1, 0.01}) {
    for (bool adjust : {true, false}) {
      for (bool ignore_na : {false, true}) {
        for (bool bias : {false, true}) {
          const EwmParams p = pandas_params(alpha, adjust, ignore_na, bias, 3);
          const auto ref = ewm_twin(x, p);
          const auto mean = ewm_run(x, EwmStat::mean, p);
          const auto var = ewm_run(x, EwmStat::var, p);
          const auto sd = ewm_run(x, EwmStat::std, p, -3);
          for (std::size_t i = 0; i < x.size(); ++i) {
            std::ostringstream what;
            what << "alpha " << alpha << " adjust " << adjust << " ignore_na " << ignore_na
                 << " bias " << bias << " i " << i;
            expect_close(mean[i], ref[i].mean, 1e-14, what.str() + " mean");
            expect_close(var[i], ref[i].var, 1e-12, what.str() + " var");
            expect_close(sd[i], std::sqrt(ref[i].var), 1e-12, what.str() + " std");
          }
        }
      }
    }
  }
}

TEST(Ewm, OffsetDataWithin1e12AndFloat32) {
  const std::vector<double> x = normal<double>(3000, 8, 1e9);
  for (double alpha : {0.5, 0.05, 0.005}) {
    const EwmParams p = pandas_params(alpha, true, false, false, 0);
    const auto ref = ewm_twin(x, p);
    const auto var = ewm_run(x, EwmStat::var, p);
    for (std::size_t i = 1; i < x.size(); ++i) {
      expect_close(var[i], ref[i].var, 1e-12, "var at " + std::to_string(i));
    }
  }
  const std::vector<float> xf = normal<float>(2000, 9, 10.0);
  const std::vector<double> xd(xf.begin(), xf.end());
  const EwmParams p = pandas_params(0.1, true, false, false, 0);
  const auto got = ewm_run(xf, EwmStat::std, p);
  const auto ref = ewm_run(xd, EwmStat::std, p);
  for (std::size_t i = 1; i < xf.size(); ++i) expect_close(got[i], ref[i], kUf, "float32");
}

TEST(Ewm, RowsAreBitIdenticalForAnyThreadCount) {
  const std::ptrdiff_t rows = 7, n = 5000;
  std::vector<double> x = normal<double>(rows * n, 4), y = normal<double>(rows * n, 6);
  for (std::size_t i = 0; i < x.size(); i += 13) x[i] = kNaN;
  std::vector<std::ptrdiff_t> off(rows);
  for (std::ptrdiff_t r = 0; r < rows; ++r) off[r] = r * n;
  const hotloop::RollingRows rr{rows, n, off.data(), 1, off.data(), 1};
  const hotloop::EwmOperands more{off.data(), 1, nullptr, 0};
  for (EwmStat stat : {EwmStat::mean, EwmStat::std, EwmStat::cov, EwmStat::corr}) {
    std::vector<double> one(x.size()), two(x.size());
    const EwmParams p = pandas_params(0.05, true, false, false, 0);
    hotloop::ewm_rows(x.data(), y.data(), nullptr, one.data(), rr, more, stat, p, 1);
    hotloop::ewm_rows(x.data(), y.data(), nullptr, two.data(), rr, more, stat, p, 2);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(double)));
    // each row as one series
    std::vector<double> single(n);
    hotloop::ewm_series(x.data() + 3 * n, 1, y.data() + 3 * n, 1, nullptr, 0, n, stat, p,
                        single.data(), 1);
    EXPECT_EQ(0, std::memcmp(single.data(), one.data() + 3 * n, n * sizeof(double)));
  }
}

TEST(Ewm, ConstantSeriesAndAlphaOne) {
  std::vector<double> x(500, 1e9 + 0.1);
  x[0] = kNaN;
  const EwmParams p = pandas_params(0.1, true, false, true, 0);
  const auto mean = ewm_run(x, EwmStat::mean, p);
  const auto var = ewm_run(x, EwmStat::var, p);
  for (std::size_t i = 1; i < x.size(); ++i) {
    EXPECT_EQ(mean[i], 1e9 + 0.1);
    EXPECT_EQ(var[i], 0.0);
  }
  const std::vector<double> y = {1.0, 5.0, kNaN, 2.0};
  const EwmParams one = pandas_params(1.0, false, false, false, 0);
  const auto m1 = ewm_run(y, EwmStat::mean, one);
  const auto v1 = ewm_run(y, EwmStat::var, one);
  EXPECT_EQ(m1[1], 5.0);
  EXPECT_EQ(m1[2], 5.0);
  EXPECT_EQ(m1[3], 2.0);
  for (double v : v1) EXPECT_TRUE(std::isnan(v));
}

// ---------------------------------------------------------------------------------------------
// Shape statistics (skew, kurt, sem) and pair statistics (cov, corr) against a long double
// reference that recomputes every window: deviations from the window's first value (exact), their
// mean, then central sums corrected for the mean's own rounding (M3 - 3 r M2 + ..., r the
// residual mean of the deviations), so the reference is good to ~1e-18 even at an offset of 1e9.

namespace {

using hotloop::kRollingShapeTolerance;
using hotloop::RollingPair;
using hotloop::RollingShape;

struct ShapeRef {
  std::ptrdiff_t cnt = 0, ninf = 0;
  long double m2 = 0, m3 = 0, m4 = 0;  // central sums over the finite values
};

ShapeRef shape_ref(const std::vector<long double>& v, std::ptrdiff_t ninf) {
  ShapeRef r;
  r.cnt = static_cast<std::ptrdiff_t>(v.size());
  r.ninf = ninf;
  if (v.empty()) return r;
  const long double c = static_cast<long double>(v.size()), K = v[0];
  long double s = 0;
  for (long double a : v) s += a - K;
  const long double mean_d = s / c;
  long double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (long double a : v) {
    const long double e = (a - K) - mean_d;
    s1 += e;
    s2 += e * e;
    s3 += e * e * e;
    s4 += e * e * e * e;
  }
  const long double q = s1 / c;  // the mean's residual
  r.m2 = s2 - c * q * q;
  r.m3 = s3 - 3 * q * s2 + 2 * c * q * q * q;
  r.m4 = s4 - 4 * q * s3 + 6 * q * q * s2 - 3 * c * q * q * q * q;
  return r;
}

template <class T>
std::vector<ShapeRef> shape_windows(const std::vector<T>& x, std::ptrdiff_t W) {
  std::vector<ShapeRef> out;
  std::vector<long double> v;
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(x.size()); ++i) {
    v.clear();
    std::ptrdiff_t ninf = 0;
    for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - W + 1); j <= i; ++j) {
      const long double a = static_cast<long double>(x[static_cast<std::size_t>(j)]);
      if (std::isnan(a)) continue;
      if (std::isinf(a)) {
        ++ninf;
      } else {
        v.push_back(a);
      }
    }
    out.push_back(shape_ref(v, ninf));
  }
  return out;
}

// The expected output and the documented error bound for it (rolling.hpp), NaN bound = exact.
struct Expect {
  long double value;
  long double bound;
};

Expect shape_expected(const ShapeRef& w, RollingShape stat, std::ptrdiff_t mp,
                      std::ptrdiff_t ddof) {
  const long double tol = kRollingShapeTolerance;
  const std::ptrdiff_t need = stat == RollingShape::skew ? 3 : stat == RollingShape::kurt ? 4 : 1;
  if (w.cnt + w.ninf < std::max(mp, need) || w.ninf > 0) return {kNaN, 0};
  const long double c = static_cast<long double>(w.cnt);
  // Rounding each (x - K)^k once: a few ulps times sqrt(n), charged to the statistic.
  const long double ulps = 64 * kU * (std::sqrt(c) + 4);
  if (stat == RollingShape::sem) {
    if (w.cnt <= ddof) return {kNaN, 0};
    const long double s = std::sqrt(w.m2 / ((c - ddof) * c));
    return {s, (tol / 2 + 16 * kU) * s};
  }
  if (w.m2 == 0) return {kNaN, 0};
  if (stat == RollingShape::skew) {
    const long double g = c * std::sqrt(c - 1) / (c - 2) * w.m3 / (w.m2 * std::sqrt(w.m2));
    return {g, tol * (2.5L * std::fabs(g) + 2.5L) + ulps * (std::fabs(g) + 1)};
  }
  const long double k =
      ((c * c - 1) * (c * w.m4 / (w.m2 * w.m2)) - 3 * (c - 1) * (c - 1)) / ((c - 2) * (c - 3));
  return {k, 3 * tol * (std::fabs(k) + 14) + ulps * (std::fabs(k) + 14)};
}

const char* shape_name(RollingShape s) {
  return s == RollingShape::skew ? "skew" : s == RollingShape::kurt ? "kurt" : "sem";
}

// out[i * os] for begin <= i < end against the reference; float outputs add one rounding.
template <class T, class Ref, class F>
::testing::AssertionResult check_against(const T* out, std::ptrdiff_t os, std::ptrdiff_t begin,
                                         std::ptrdiff_t end, const std::vector<Ref>& ref, F expect,
                                         const std::string& what) {
  std::ptrdiff_t bad = 0;
  std::ostringstream why;
  why.precision(17);
  const long double out_round = sizeof(T) == 4 ? kUf : 0.0;
  for (std::ptrdiff_t i = begin; i < end; ++i) {
    const Expect e = expect(ref[static_cast<std::size_t>(i)]);
    const double got = static_cast<double>(out[i * os]);
    bool ok;
    if (std::isnan(e.value)) {
      ok = std::isnan(got);
    } else {
      ok = std::fabs(static_cast<long double>(got) - e.value) <=
           e.bound + out_round * (std::fabs(e.value) + 1);
    }
    if (!ok && bad++ < 5) {
      why << "\n  " << what << "[" << i << "] = " << got << ", expected "
          << static_cast<double>(e.value) << " +- " << static_cast<double>(e.bound);
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " bad outputs of " << end - begin << why.str();
}

constexpr RollingShape kShapes[] = {RollingShape::skew, RollingShape::kurt, RollingShape::sem};

class RollingShapeGrid : public ::testing::TestWithParam<std::ptrdiff_t> {};

template <class T>
void run_shape_grid(std::ptrdiff_t W, bool dirty) {
  const std::ptrdiff_t block = rolling_block_size(W);
  const std::ptrdiff_t n_max = block + 300;
  std::vector<T> data = normal<T>(n_max, 31 * W + dirty, 0.25, 1.0);
  if (dirty) make_dirty(data, W, W + 5);
  // Skewed data too: the exponential of a normal (heavy right tail).
  for (std::ptrdiff_t i = n_max / 2; i < n_max; ++i) {
    data[static_cast<std::size_t>(i)] = static_cast<T>(std::exp(data[static_cast<std::size_t>(i)]));
  }
  const std::vector<ShapeRef> ref = shape_windows(data, W);
  for (std::ptrdiff_t n : {std::ptrdiff_t{1}, std::ptrdiff_t{5}, std::ptrdiff_t{129}, block - 1,
                           block, block + 1, n_max}) {
    const std::vector<T> x(data.begin(), data.begin() + n);
    std::vector<T> out(static_cast<std::size_t>(n));
    for (RollingShape stat : kShapes) {
      for (std::ptrdiff_t mp : {std::ptrdiff_t{0}, std::ptrdiff_t{1}, W}) {
        for (std::ptrdiff_t ddof : {0, 1}) {
          if (ddof >= W || (ddof == 1 && stat != RollingShape::sem)) continue;
          std::fill(out.begin(), out.end(), static_cast<T>(-12345.0));
          hotloop::rolling_shape(x.data(), n, 1, W, mp, ddof, stat, out.data(), 1);
          ASSERT_TRUE(check_against(
              out.data(), 1, 0, n, ref,
              [&](const ShapeRef& w) { return shape_expected(w, stat, mp, ddof); },
              shape_name(stat)))
              << "n=" << n << " window=" << W << " mp=" << mp << " ddof=" << ddof
              << " dirty=" << dirty;
        }
      }
    }
  }
}

TEST_P(RollingShapeGrid, CleanFloat64) { run_shape_grid<double>(GetParam(), false); }
TEST_P(RollingShapeGrid, CleanFloat32) { run_shape_grid<float>(GetParam(), false); }
TEST_P(RollingShapeGrid, NonFiniteFloat64) { run_shape_grid<double>(GetParam(), true); }

INSTANTIATE_TEST_SUITE_P(Windows, RollingShapeGrid, ::testing::Values(1, 2, 3, 4, 5, 50, 129, 700),
                         [](const ::testing::TestParamInfo<std::ptrdiff_t>& info) {
                           return "Window" + std::to_string(info.param);
                         });

// 1e9 + N(0, 1): where add/remove formulas lose most of their digits.
TEST(RollingShape, OffsetDataWithinBound) {
  const std::ptrdiff_t n = 100000;
  for (std::ptrdiff_t W : {10, 50, 1000}) {
    std::vector<double> x = normal<double>(n, 77 + W, 1e9, 1.0);
    const std::vector<ShapeRef> ref = shape_windows(x, W);
    std::vector<double> out(static_cast<std::size_t>(n));
    for (RollingShape stat : kShapes) {
      hotloop::rolling_shape(x.data(), n, 1, W, 0, 1, stat, out.data(), 1);
      double worst = 0.0;
      for (std::ptrdiff_t i = W; i < n; ++i) {
        const Expect e = shape_expected(ref[static_cast<std::size_t>(i)], stat, 0, 1);
        worst = std::max(
            worst, static_cast<double>(std::fabs(out[i] - e.value) / (std::fabs(e.value) + 1)));
      }
      EXPECT_TRUE(check_against(
          out.data(), 1, 0, n, ref,
          [&](const ShapeRef& w) { return shape_expected(w, stat, 0, 1); }, shape_name(stat)))
          << "window " << W;
      EXPECT_LE(worst, 1e-11) << shape_name(stat) << " window " << W;
      std::ostringstream measured;
      measured << worst;
      RecordProperty(std::string("max_err_") + shape_name(stat) + "_w" + std::to_string(W),
                     measured.str());
    }
  }
}

// Windows inside a run of equal values: skew and kurt NaN, sem exactly 0, whatever came before;
// values differing by one ulp are not equal.
TEST(RollingShape, EqualValuesAreRecognised) {
  for (std::ptrdiff_t W : {4, 5, 50, 300}) {
    std::vector<double> x = normal<double>(2000, W, 1e6, 1e3);
    const double level = 1e9 + 0.1;
    for (std::ptrdiff_t i = 700; i < 1500; ++i) x[static_cast<std::size_t>(i)] = level;
    x[1200] = kNaN;
    std::vector<double> out(x.size());
    for (RollingShape stat : kShapes) {
      hotloop::rolling_shape(x.data(), 2000, 1, W, 0, 1, stat, out.data(), 1);
      for (std::ptrdiff_t i = 700 + W - 1; i < 1500; ++i) {
        if (stat == RollingShape::sem) {
          ASSERT_EQ(out[static_cast<std::size_t>(i)], 0.0) << i << " window " << W;
        } else {
          ASSERT_TRUE(std::isnan(out[static_cast<std::size_t>(i)])) << i << " window " << W;
        }
      }
    }
    // One value one ulp away: skew of (0, ..., 0, 1) pattern, exactly computable.
    std::vector<double> y(static_cast<std::size_t>(4 * W), level);
    y[static_cast<std::size_t>(2 * W)] = std::nextafter(level, 2e9);
    hotloop::rolling_shape(y.data(), 4 * W, 1, W, 0, 0, RollingShape::skew, out.data(), 1);
    const double c = static_cast<double>(W);
    const double skew = (c - 2) > 0 ? c * std::sqrt(c - 1) / (c - 2) *
                                          ((c - 1) * (c - 2) / (c * c)) / std::pow((c - 1) / c, 1.5)
                                    : kNaN;
    EXPECT_NEAR(out[static_cast<std::size_t>(2 * W)], skew, 1e-12 * std::fabs(skew));
    EXPECT_TRUE(std::isnan(out[static_cast<std::size_t>(4 * W - 1)]));
  }
}

// The whole range of doubles: skew and kurt do not change when the data are scaled by a power of
// two (exactly), from 2^-1000 to 2^1000; sem scales with it.
TEST(RollingShape, ScaleInvariantOverTheRange) {
  const std::ptrdiff_t n = 3000, W = 40;
  const std::vector<double> base = normal<double>(n, 8, 3.0, 1.0);
  std::vector<double> ref(n), out(n), x(n);
  for (RollingShape stat : kShapes) {
    hotloop::rolling_shape(base.data(), n, 1, W, 0, 1, stat, ref.data(), 1);
    for (int p : {-1060, -1000, -600, -300, 300, 600, 1000, 1020}) {
      for (std::ptrdiff_t i = 0; i < n; ++i) x[i] = std::ldexp(base[i], p);
      hotloop::rolling_shape(x.data(), n, 1, W, 0, 1, stat, out.data(), 1);
      for (std::ptrdiff_t i = W - 1; i < n; ++i) {
        const double expect = stat == RollingShape::sem ? std::ldexp(ref[i], p) : ref[i];
        // Subnormal inputs (p = -1060) lose digits in the input itself.
        const double tol = p < -1022 ? 1e-2 : 4e-11;
        ASSERT_NEAR(out[i], expect, tol * (std::fabs(expect) + (stat == RollingShape::sem ? 0 : 1)))
            << shape_name(stat) << " p=" << p << " i=" << i;
      }
    }
  }
}

// Any schedule of the blocks gives the same bits, and the threaded driver matches.
TEST(RollingShape, BlocksAndThreadsAreBitIdentical) {
  std::mt19937_64 rng(3);
  for (std::ptrdiff_t W : {3, 50, 1500}) {
    const std::ptrdiff_t B = rolling_block_size(W), n = 3 * B + 11;
    std::vector<double> x = normal<double>(n, 90 + W, 1e4, 1.0);
    make_dirty(x, W, 91 + W);
    x[static_cast<std::size_t>(B + W)] = 1e15;
    std::vector<std::ptrdiff_t> starts;
    for (std::ptrdiff_t b = 0; b < n; b += B) starts.push_back(b);
    const std::ptrdiff_t zero = 0;
    const hotloop::RollingRows rows{1, n, &zero, 1, &zero, 1};
    for (RollingShape stat : kShapes) {
      std::vector<double> whole(n), pieces(n, -7.0), threaded(n);
      hotloop::rolling_shape(x.data(), n, 1, W, 1, 1, stat, whole.data(), 1);
      std::shuffle(starts.begin(), starts.end(), rng);
      for (std::ptrdiff_t b : starts) {
        hotloop::rolling_shape_block(x.data(), 1, W, 1, 1, stat, pieces.data(), 1, b,
                                     std::min(b + B, n));
      }
      hotloop::rolling_shape_rows(x.data(), threaded.data(), rows, W, 1, 1, stat, 2);
      EXPECT_TRUE(same_bytes(whole, pieces)) << shape_name(stat) << " window " << W;
      EXPECT_TRUE(same_bytes(whole, threaded)) << shape_name(stat) << " window " << W;
    }
  }
}

// Strided input and output, float and double.
template <class T>
void run_shape_strided() {
  const std::ptrdiff_t W = 20, n = 700;
  std::vector<T> data = normal<T>(n, 12, 5.0, 2.0);
  make_dirty(data, W, 13);
  const std::vector<ShapeRef> ref = shape_windows(data, W);
  const Strided<T> x(data, -3, static_cast<T>(1e30));
  for (RollingShape stat : kShapes) {
    Strided<T> out(std::vector<T>(static_cast<std::size_t>(n), T(0)), 2, T(-5));
    hotloop::rolling_shape(x.base(), n, -3, W, 2, 1, stat, out.base(), 2);
    EXPECT_TRUE(check_against(
        out.base(), 2, 0, n, ref, [&](const ShapeRef& w) { return shape_expected(w, stat, 2, 1); },
        shape_name(stat)));
    for (std::size_t k = 1; k < out.buffer().size(); k += 2) ASSERT_EQ(out.buffer()[k], T(-5));
  }
}

TEST(RollingShape, StridedFloat64) { run_shape_strided<double>(); }
TEST(RollingShape, StridedFloat32) { run_shape_strided<float>(); }

// ---------------------------------------------------------------------------------------------
// Pairs

struct PairRef {
  std::ptrdiff_t cnt = 0, nbad = 0;
  long double mxx = 0, myy = 0, cxy = 0;
};

template <class T>
std::vector<PairRef> pair_windows(const std::vector<T>& x, const std::vector<T>& y,
                                  std::ptrdiff_t W) {
  std::vector<PairRef> out;
  std::vector<long double> u, v;
  for (std::ptrdiff_t i = 0; i < static_cast<std::ptrdiff_t>(x.size()); ++i) {
    PairRef r;
    u.clear();
    v.clear();
    for (std::ptrdiff_t j = std::max<std::ptrdiff_t>(0, i - W + 1); j <= i; ++j) {
      const long double a = x[static_cast<std::size_t>(j)], b = y[static_cast<std::size_t>(j)];
      if (std::isnan(a) || std::isnan(b)) continue;
      if (std::isinf(a) || std::isinf(b)) {
        ++r.nbad;
        continue;
      }
      u.push_back(a);
      v.push_back(b);
    }
    r.cnt = static_cast<std::ptrdiff_t>(u.size());
    if (r.cnt > 0) {
      const long double c = static_cast<long double>(r.cnt), Kx = u[0], Ky = v[0];
      long double sx = 0, sy = 0;
      for (std::size_t k = 0; k < u.size(); ++k) {
        sx += u[k] - Kx;
        sy += v[k] - Ky;
      }
      long double ex = 0, ey = 0, xx = 0, yy = 0, xy = 0;
      for (std::size_t k = 0; k < u.size(); ++k) {
        const long double a = (u[k] - Kx) - sx / c, b = (v[k] - Ky) - sy / c;
        ex += a;
        ey += b;
        xx += a * a;
        yy += b * b;
        xy += a * b;
      }
      r.mxx = xx - ex * ex / c;
      r.myy = yy - ey * ey / c;
      r.cxy = xy - ex * ey / c;
    }
    out.push_back(r);
  }
  return out;
}

Expect pair_expected(const PairRef& w, RollingPair stat, std::ptrdiff_t mp, std::ptrdiff_t ddof) {
  const long double tol = kRollingShapeTolerance;
  if (w.cnt + w.nbad < std::max<std::ptrdiff_t>(mp, 1) || w.nbad > 0) return {kNaN, 0};
  const long double g = std::sqrt(w.mxx * w.myy);
  const long double c = static_cast<long double>(w.cnt);
  if (stat == RollingPair::cov) {
    if (w.cnt <= ddof) return {kNaN, 0};
    return {w.cxy / (c - ddof), (tol + 16 * kU * (std::sqrt(c) + 4)) * g / (c - ddof)};
  }
  if (w.mxx == 0 || w.myy == 0) return {kNaN, 0};
  return {w.cxy / g, 2 * tol + 16 * kU * (std::sqrt(c) + 4)};
}

const char* pair_name(RollingPair s) { return s == RollingPair::cov ? "cov" : "corr"; }

template <class T>
void run_pair_grid(std::ptrdiff_t W, bool dirty) {
  const std::ptrdiff_t n = rolling_block_size(W) + 300;
  std::vector<T> x = normal<T>(n, 5 * W, 1e6, 1.0), y = normal<T>(n, 5 * W + 1, -3.0, 1e-3);
  for (std::ptrdiff_t i = 0; i < n; ++i) {  // correlated in the second half
    if (i > n / 2) y[i] = static_cast<T>(0.001 * (x[i] - 1e6) + 0.3 * y[i]);
  }
  if (dirty) {
    make_dirty(x, W, W + 1);
    make_dirty(y, W, W + 2);
  }
  // Runs where one series is constant.
  for (std::ptrdiff_t i = 2000; i < 2000 + 3 * W; ++i) x[static_cast<std::size_t>(i)] = T(7.5);
  for (std::ptrdiff_t i = 5000; i < 5000 + 3 * W; ++i) y[static_cast<std::size_t>(i)] = T(-1);
  const std::vector<PairRef> ref = pair_windows(x, y, W);
  std::vector<T> out(static_cast<std::size_t>(n));
  for (RollingPair stat : {RollingPair::cov, RollingPair::corr}) {
    for (std::ptrdiff_t mp : {std::ptrdiff_t{0}, std::ptrdiff_t{2}, W}) {
      for (std::ptrdiff_t ddof : {0, 1}) {
        if (ddof >= W || mp > W) continue;
        std::fill(out.begin(), out.end(), T(-12345));
        hotloop::rolling_pair(x.data(), 1, y.data(), 1, n, W, mp, ddof, stat, out.data(), 1);
        ASSERT_TRUE(check_against(
            out.data(), 1, 0, n, ref,
            [&](const PairRef& w) { return pair_expected(w, stat, mp, ddof); }, pair_name(stat)))
            << "window=" << W << " mp=" << mp << " ddof=" << ddof << " dirty=" << dirty;
        // Constant x: cov exactly 0, corr NaN (where the window is clean).
        for (std::ptrdiff_t i = 2000 + W - 1; i < 2000 + 3 * W; ++i) {
          const PairRef& w = ref[static_cast<std::size_t>(i)];
          if (w.nbad > 0 || w.cnt <= std::max<std::ptrdiff_t>({ddof, 1, mp - 1})) continue;
          if (stat == RollingPair::cov) {
            ASSERT_EQ(out[static_cast<std::size_t>(i)], T(0)) << i;
          } else {
            ASSERT_TRUE(std::isnan(out[static_cast<std::size_t>(i)])) << i;
          }
        }
      }
    }
  }
}

class RollingPairGrid : public ::testing::TestWithParam<std::ptrdiff_t> {};
TEST_P(RollingPairGrid, CleanFloat64) { run_pair_grid<double>(GetParam(), false); }
TEST_P(RollingPairGrid, CleanFloat32) { run_pair_grid<float>(GetParam(), false); }
TEST_P(RollingPairGrid, NonFiniteFloat64) { run_pair_grid<double>(GetParam(), true); }
INSTANTIATE_TEST_SUITE_P(Windows, RollingPairGrid, ::testing::Values(1, 2, 3, 50, 129, 700),
                         [](const ::testing::TestParamInfo<std::ptrdiff_t>& info) {
                           return "Window" + std::to_string(info.param);
                         });

TEST(RollingPair, SelfCorrelationIsOneAndThreadsAgree) {
  const std::ptrdiff_t n = 40000, W = 30;
  std::vector<double> x = normal<double>(n, 4, 1e9, 1.0), out(n), two(n);
  make_dirty(x, W, 6);
  hotloop::rolling_pair(x.data(), 1, x.data(), 1, n, W, 3, 1, RollingPair::corr, out.data(), 1);
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    ASSERT_TRUE(std::isnan(out[i]) || out[i] == 1.0) << i << " " << out[i];
  }
  // Rows with different strides for x and y, one and two threads.
  const Strided<double> ys(x, -2, 0.0);
  const std::ptrdiff_t zero = 0, yoff = 0;
  const hotloop::RollingRows rows{1, n, &zero, 1, &zero, 1};
  for (RollingPair stat : {RollingPair::cov, RollingPair::corr}) {
    hotloop::rolling_pair_rows(x.data(), ys.base(), out.data(), rows, &yoff, -2, W, 3, 1, stat, 1);
    hotloop::rolling_pair_rows(x.data(), ys.base(), two.data(), rows, &yoff, -2, W, 3, 1, stat, 2);
    EXPECT_TRUE(same_bytes(out, two)) << pair_name(stat);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Instruction sets

// A hash of the bits of many outputs (short and long windows, every statistic, float and
// double, contiguous and strided, ordinary, offset, repeated, tiny, huge and non-finite data;
// and the exponentially weighted statistics).
// Every kernel is built for AVX-512, AVX2 and baseline x86-64 and must give the same bits on
// each: `make test-widths` runs this test in a build of each and compares the printed hashes.
TEST(Rolling, Fingerprint) {
  std::uint64_t h = 1469598103934665603ULL;
  const auto mix = [&h](const void* p, std::size_t bytes) {
    const unsigned char* c = static_cast<const unsigned char*>(p);
    for (std::size_t k = 0; k < bytes; ++k) h = (h ^ c[k]) * 1099511628211ULL;
  };
  const std::ptrdiff_t n = 3001;
  std::mt19937_64 gen(11);
  std::normal_distribution<double> dist;
  for (int data_set = 0; data_set < 6; ++data_set) {
    std::vector<double> x(static_cast<std::size_t>(n));
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      const double z = dist(gen);
      double v = z;
      if (data_set == 1) v = 1e9 + z;
      if (data_set == 2) v = i % 7 == 0 ? -0.0 : std::floor(2 * z);  // signed zeros too
      if (data_set == 3) v = (i / 40) % 3 == 0 ? 5.0 : z;
      if (data_set == 4) v = z * 1e-300;
      if (data_set == 5) v = i % 97 == 0 ? kNaN : (i % 331 == 0 ? kInf : z * 1e150);
      x[static_cast<std::size_t>(i)] = v;
    }
    const auto run = [&](auto zero, std::ptrdiff_t stride) {
      using T = decltype(zero);
      const std::vector<T> xt(x.begin(), x.end());
      const Strided<T> xs(xt, stride, static_cast<T>(1e30));
      for (RollingStat stat :
           {RollingStat::sum, RollingStat::mean, RollingStat::var, RollingStat::std})
        for (std::ptrdiff_t W : {1, 2, 3, 4, 5, 7, 8, 10, 50, 300})
          for (std::ptrdiff_t mp : {std::ptrdiff_t{1}, W}) {
            std::vector<T> out(static_cast<std::size_t>(n));
            hotloop::rolling_moments(xs.base(), n, stride, W, mp, W % 2, stat, out.data(), 1);
            mix(out.data(), out.size() * sizeof(T));
          }
    };
    run(0.0, 1);
    run(0.0f, 1);
    run(0.0, 3);
    // The exponentially weighted kernels, pandas' and numbagg's conventions, y = x reversed.
    std::vector<double> y(x.rbegin(), x.rend());
    for (int stat = 0; stat <= 6; ++stat)
      for (const bool numbagg : {false, true})
        for (const double alpha : {0.5, 0.05}) {
          const hotloop::EwmParams p{alpha, !numbagg, false, numbagg, numbagg, 1, 0.0};
          std::vector<double> out(static_cast<std::size_t>(n));
          hotloop::ewm_series(x.data(), 1, y.data(), 1, static_cast<const double*>(nullptr), 0, n,
                              static_cast<hotloop::EwmStat>(stat), p, out.data(), 1);
          mix(out.data(), out.size() * sizeof(double));
        }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  std::printf("rolling fingerprint: %s\n", hex);
  RecordProperty("fingerprint", hex);
}
