// Tests of the C ABI (cxx/capi/hotloop_c.h) through the shared library libhotloop_c: argument
// checks, error values, and bit-identical results to the C++ kernels it wraps.

#include "hotloop_c.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "hotloop/diffusion.hpp"
#include "hotloop/fib.hpp"
#include "hotloop/julia.hpp"
#include "hotloop/moments.hpp"
#include "hotloop/rolling.hpp"
#include "hotloop/wsmask.hpp"
#include "test_support.hpp"

namespace {

using hotloop_test::kNaN;
using hotloop_test::normal;
using hotloop_test::same_bits;

TEST(CApi, VersionAndSimdLevel) {
  EXPECT_EQ(hotloop_abi_version(), HOTLOOP_C_ABI_VERSION);
  const std::string level = hotloop_simd_level();
  EXPECT_TRUE(level == "avx512f" || level == "avx2" || level == "baseline") << level;
}

TEST(CApi, Fib) {
  EXPECT_EQ(hotloop_fib(0), 0u);
  EXPECT_EQ(hotloop_fib(1), 1u);
  EXPECT_EQ(hotloop_fib(25), 75025u);
  EXPECT_EQ(hotloop_fib_fast(HOTLOOP_FIB_MAX_N), 12200160415121876738u);
  for (int n : {-1, -1000, HOTLOOP_FIB_MAX_N + 1, 1 << 30}) {
    EXPECT_EQ(hotloop_fib(n), UINT64_MAX) << n;
    EXPECT_EQ(hotloop_fib_fast(n), UINT64_MAX) << n;
  }
  for (int n = 0; n <= 20; ++n) EXPECT_EQ(hotloop_fib(n), hotloop::fib_fast(n)) << n;
}

TEST(CApi, WsMask) {
  const std::uint8_t key[4] = {1, 2, 3, 4};
  std::vector<std::uint8_t> data(1000), out(1000), ref(1000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31);
  ASSERT_EQ(hotloop_ws_mask(data.data() + 1, out.data(), 999, key, 6), HOTLOOP_OK);
  hotloop::ws_mask(data.data() + 1, ref.data(), 999, key, 6);
  EXPECT_EQ(out, ref);
  // In place is allowed.
  std::vector<std::uint8_t> buf(data.begin() + 1, data.end());
  ASSERT_EQ(hotloop_ws_mask(buf.data(), buf.data(), buf.size(), key, 6), HOTLOOP_OK);
  EXPECT_TRUE(std::equal(buf.begin(), buf.end(), ref.begin()));
  // Partial overlap and null pointers are refused, and nothing is written.
  std::vector<std::uint8_t> before = data;
  EXPECT_EQ(hotloop_ws_mask(data.data(), data.data() + 1, 10, key, 0), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_ws_mask(data.data() + 5, data.data(), 10, key, 0), -HOTLOOP_EINVAL);
  EXPECT_EQ(data, before);
  EXPECT_EQ(hotloop_ws_mask(nullptr, out.data(), 10, key, 0), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_ws_mask(data.data(), nullptr, 10, key, 0), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_ws_mask(data.data(), out.data(), 10, nullptr, 0), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_ws_mask(nullptr, nullptr, 0, nullptr, 0), HOTLOOP_OK);
  // Adjacent (touching, not overlapping) ranges are fine.
  EXPECT_EQ(hotloop_ws_mask(data.data(), data.data() + 10, 10, key, 0), HOTLOOP_OK);
}

TEST(CApi, MomentsAreTheKernels) {
  const auto x = normal<double>(1001, 5, 1e9);
  for (std::ptrdiff_t n : {1, 4, 50, 1001}) {
    const auto m = hotloop::moments(x.data(), n, 1, false, true);
    const auto mm = hotloop::moments(x.data(), n, 1, false, false);
    EXPECT_TRUE(same_bits(hotloop_mean(x.data(), n, 1), mm.mean)) << n;
    EXPECT_TRUE(same_bits(hotloop_var(x.data(), n, 1, 0), m.m2 / static_cast<double>(n))) << n;
    EXPECT_TRUE(same_bits(hotloop_std(x.data(), n, 1, 0), std::sqrt(m.m2 / static_cast<double>(n))))
        << n;
  }
  // Negative stride: the last value first.
  const auto back = hotloop::moments(x.data() + 9, 10, -1, false, true);
  EXPECT_TRUE(same_bits(hotloop_std(x.data() + 9, 10, -1, 1), std::sqrt(back.m2 / 9.0)));
  // Error values.
  EXPECT_TRUE(std::isnan(hotloop_mean(x.data(), 0, 1)));
  EXPECT_TRUE(std::isnan(hotloop_mean(nullptr, 3, 1)));
  EXPECT_TRUE(std::isnan(hotloop_std(x.data(), 3, 1, 3)));
  EXPECT_TRUE(std::isnan(hotloop_var(x.data(), 3, 1, -1)));
  EXPECT_TRUE(std::isnan(hotloop_std(nullptr, 3, 1, 0)));
}

TEST(CApi, RollingIsTheKernel) {
  const auto x = normal<double>(40000, 6, 1e6);
  std::vector<double> got(x.size()), ref(x.size());
  ASSERT_EQ(hotloop_rolling_std(x.data(), 40000, 1, 50, 10, 1, got.data(), 1), HOTLOOP_OK);
  hotloop::rolling_moments(x.data(), 40000, 1, 50, 10, 1, hotloop::RollingStat::std, ref.data(), 1);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_TRUE(same_bits(got[i], ref[i])) << i;
  ASSERT_EQ(hotloop_rolling_mean(x.data(), 100, 2, 7, 7, got.data(), 3), HOTLOOP_OK);
  hotloop::rolling_moments(x.data(), 100, 2, 7, 7, 0, hotloop::RollingStat::mean, ref.data(), 3);
  for (std::size_t i = 0; i < 300; i += 3) ASSERT_TRUE(same_bits(got[i], ref[i])) << i;
  ASSERT_EQ(hotloop_rolling_var(x.data(), 0, 1, 3, 3, 0, nullptr, 1), HOTLOOP_OK);
}

TEST(CApi, RollingRefusesBadArguments) {
  std::vector<double> x(10, 1.0), out(10, -7.0);
  const double* p = x.data();
  double* o = out.data();
  EXPECT_EQ(hotloop_rolling_std(p, -1, 1, 3, 3, 0, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_std(p, 10, 1, 0, 0, 0, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_std(p, 10, 1, 3, 4, 0, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_std(p, 10, 1, 3, -1, 0, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_std(p, 10, 1, 3, 3, 3, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_var(p, 10, 1, 3, 3, -1, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_mean(nullptr, 10, 1, 3, 3, o, 1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_rolling_mean(p, 10, 1, 3, 3, nullptr, 1), -HOTLOOP_EINVAL);
  for (double v : out) EXPECT_EQ(v, -7.0);  // nothing written
  (void)kNaN;
}

TEST(CApi, DiffusionStepIsTheKernel) {
  const std::ptrdiff_t ny = 37, nx = 70;
  const auto grid = normal<double>(ny * nx, 7);
  std::vector<double> got(grid.size(), -1.0), ref(grid.size(), -1.0);
  ASSERT_EQ(hotloop_diffusion_step(grid.data(), got.data(), ny, nx, 0.7, 0.3), HOTLOOP_OK);
  hotloop::diffusion_step(grid.data(), ref.data(), ny, nx, 0.7, 0.3);
  for (std::size_t i = 0; i < grid.size(); ++i) ASSERT_TRUE(same_bits(got[i], ref[i])) << i;
  // Edge cells untouched, interior written.
  EXPECT_EQ(got[0], -1.0);
  EXPECT_NE(got[static_cast<std::size_t>(nx + 1)], -1.0);
  // Refusals: too small, null, overlapping.
  EXPECT_EQ(hotloop_diffusion_step(grid.data(), got.data(), 2, nx, 1.0, 0.1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_diffusion_step(grid.data(), got.data(), ny, 2, 1.0, 0.1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_diffusion_step(nullptr, got.data(), ny, nx, 1.0, 0.1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_diffusion_step(got.data(), got.data() + 5, 3, 3, 1.0, 0.1), -HOTLOOP_EINVAL);
}

TEST(CApi, JuliaIsTheKernel) {
  const std::ptrdiff_t n = 1000;
  const auto z = normal<double>(2 * n, 8);
  const double c[2] = {-0.62772, -0.42193};
  std::vector<std::int32_t> got(n, -1), ref(n, -2);
  ASSERT_EQ(hotloop_julia(z.data(), c, 0, got.data(), n, 300), HOTLOOP_OK);
  hotloop::julia(z.data(), c, 0, ref.data(), n, 300);
  EXPECT_EQ(got, ref);
  const auto cs = normal<double>(2 * n, 9, 0.0, 0.5);
  ASSERT_EQ(hotloop_julia(z.data(), cs.data(), 1, got.data(), n, 50), HOTLOOP_OK);
  hotloop::julia(z.data(), cs.data(), 1, ref.data(), n, 50);
  EXPECT_EQ(got, ref);
  EXPECT_EQ(hotloop_julia(z.data(), c, 2, got.data(), n, 5), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_julia(z.data(), c, 0, got.data(), -1, 5), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_julia(z.data(), c, 0, got.data(), n, -1), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_julia(nullptr, c, 0, got.data(), n, 5), -HOTLOOP_EINVAL);
  EXPECT_EQ(hotloop_julia(nullptr, nullptr, 0, nullptr, 0, 5), HOTLOOP_OK);
}

}  // namespace
