// hotloop's C ABI (see hotloop_c.h): argument checks, then the C++ kernels of cxx/include.
//
// The library is compiled with -fvisibility=hidden (and linked with hotloop_c.map where the
// linker takes version scripts), so only the functions marked HOTLOOP_C_EXPORT are exported:
// the C++ kernels inside stay private and cannot clash with another copy of them in the process
// (the Python extension modules carry their own).
#include "hotloop_c.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "hotloop/diffusion.hpp"
#include "hotloop/fib.hpp"
#include "hotloop/julia.hpp"
#include "hotloop/moments.hpp"
#include "hotloop/rolling.hpp"
#include "hotloop/threads.hpp"
#include "hotloop/wsmask.hpp"

#if defined(__GNUC__)
#define HOTLOOP_C_EXPORT extern "C" __attribute__((visibility("default")))
#else
#define HOTLOOP_C_EXPORT extern "C"
#endif

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::uint64_t kFibError = std::numeric_limits<std::uint64_t>::max();
constexpr int kInvalid = -HOTLOOP_EINVAL;

// The statistic of hotloop.var/std for n values, or NaN where the ABI says so.
// sqrt_of: the standard deviation, from M2 and its exponent (sqrt(variance) would lose what
// the variance's underflow or overflow lost).
double variance_or_std(const double* x, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t ddof,
                       bool sqrt_of) noexcept {
  if (x == nullptr || n <= 0 || ddof < 0 || n <= ddof) return kNaN;
  const hotloop::Moments r = hotloop::moments(x, n, stride, /*skipna=*/false, /*need_m2=*/true);
  return sqrt_of ? hotloop::stddev(r, ddof) : hotloop::variance(r, ddof);
}

int rolling(const double* x, ptrdiff_t n, ptrdiff_t x_stride, ptrdiff_t window,
            ptrdiff_t min_periods, ptrdiff_t ddof, hotloop::RollingStat stat, double* out,
            ptrdiff_t out_stride) noexcept {
  if (n < 0 || window < 1 || min_periods < 0 || min_periods > window || ddof < 0 ||
      ddof >= window || (n > 0 && (x == nullptr || out == nullptr))) {
    return kInvalid;
  }
  hotloop::rolling_moments(x, n, x_stride, window, min_periods, ddof, stat, out, out_stride);
  return HOTLOOP_OK;
}

}  // namespace

HOTLOOP_C_EXPORT int hotloop_abi_version(void) { return HOTLOOP_C_ABI_VERSION; }

HOTLOOP_C_EXPORT const char* hotloop_simd_level(void) { return hotloop::simd_level(); }

HOTLOOP_C_EXPORT uint64_t hotloop_fib(int n) {
  if (n < 0 || n > hotloop::kFibMaxN) return kFibError;
  return hotloop::fib_recursive(n);
}

HOTLOOP_C_EXPORT uint64_t hotloop_fib_fast(int n) {
  if (n < 0 || n > hotloop::kFibMaxN) return kFibError;
  return hotloop::fib_fast(n);
}

HOTLOOP_C_EXPORT int hotloop_ws_mask(const uint8_t* data, uint8_t* out, size_t n,
                                     const uint8_t* key, size_t offset) {
  if (n == 0) return HOTLOOP_OK;
  if (data == nullptr || out == nullptr || key == nullptr) return kInvalid;
  const auto d = reinterpret_cast<std::uintptr_t>(data);
  const auto o = reinterpret_cast<std::uintptr_t>(out);
  if (d != o && d < o + n && o < d + n) return kInvalid;  // overlapping, not in place
  hotloop::ws_mask(data, out, n, key, offset);
  return HOTLOOP_OK;
}

HOTLOOP_C_EXPORT double hotloop_mean(const double* x, ptrdiff_t n, ptrdiff_t stride) {
  if (x == nullptr || n <= 0) return kNaN;
  return hotloop::moments(x, n, stride, /*skipna=*/false, /*need_m2=*/false).mean;
}

HOTLOOP_C_EXPORT double hotloop_var(const double* x, ptrdiff_t n, ptrdiff_t stride,
                                    ptrdiff_t ddof) {
  return variance_or_std(x, n, stride, ddof, /*sqrt_of=*/false);
}

HOTLOOP_C_EXPORT double hotloop_std(const double* x, ptrdiff_t n, ptrdiff_t stride,
                                    ptrdiff_t ddof) {
  return variance_or_std(x, n, stride, ddof, /*sqrt_of=*/true);
}

HOTLOOP_C_EXPORT int hotloop_rolling_mean(const double* x, ptrdiff_t n, ptrdiff_t x_stride,
                                          ptrdiff_t window, ptrdiff_t min_periods, double* out,
                                          ptrdiff_t out_stride) {
  return rolling(x, n, x_stride, window, min_periods, 0, hotloop::RollingStat::mean, out,
                 out_stride);
}

HOTLOOP_C_EXPORT int hotloop_rolling_var(const double* x, ptrdiff_t n, ptrdiff_t x_stride,
                                         ptrdiff_t window, ptrdiff_t min_periods, ptrdiff_t ddof,
                                         double* out, ptrdiff_t out_stride) {
  return rolling(x, n, x_stride, window, min_periods, ddof, hotloop::RollingStat::var, out,
                 out_stride);
}

HOTLOOP_C_EXPORT int hotloop_rolling_std(const double* x, ptrdiff_t n, ptrdiff_t x_stride,
                                         ptrdiff_t window, ptrdiff_t min_periods, ptrdiff_t ddof,
                                         double* out, ptrdiff_t out_stride) {
  return rolling(x, n, x_stride, window, min_periods, ddof, hotloop::RollingStat::std, out,
                 out_stride);
}

HOTLOOP_C_EXPORT int hotloop_diffusion_step(const double* in, double* out, ptrdiff_t ny,
                                            ptrdiff_t nx, double D, double dt) {
  if (in == nullptr || out == nullptr || ny < 3 || nx < 3) return kInvalid;
  const auto i = reinterpret_cast<std::uintptr_t>(in);
  const auto o = reinterpret_cast<std::uintptr_t>(out);
  const auto bytes = static_cast<std::uintptr_t>(ny) * static_cast<std::uintptr_t>(nx) * 8;
  if (i < o + bytes && o < i + bytes) return kInvalid;
  hotloop::diffusion_step(in, out, ny, nx, D, dt);
  return HOTLOOP_OK;
}

HOTLOOP_C_EXPORT int hotloop_julia(const double* z, const double* c, ptrdiff_t c_step, int32_t* out,
                                   ptrdiff_t n, int32_t maxiter) {
  if (n < 0 || maxiter < 0 || (c_step != 0 && c_step != 1)) return kInvalid;
  if (n == 0) return HOTLOOP_OK;
  if (z == nullptr || c == nullptr || out == nullptr) return kInvalid;
  hotloop::julia(z, c, c_step, out, n, maxiter);
  return HOTLOOP_OK;
}
