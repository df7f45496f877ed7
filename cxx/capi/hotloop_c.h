/* hotloop's C ABI: plain C functions over hotloop's C++ kernels, for ctypes, cffi, Go (cgo),
 * Rust, Julia, ... The shared library is libhotloop_c.so, shipped inside the Python package next
 * to the extension modules (hotloop.ffi.library_path() tells where; hotloop.ffi.header_path()
 * gives this file). It contains no Python and needs only the C++ runtime.
 *
 * Conventions
 * - Arrays are passed as a pointer to element 0, a length and, where it says so, a stride counted
 *   in ELEMENTS (not bytes; it may be negative). "read" arrays are not modified; "written" arrays
 *   must not overlap any input unless the function says otherwise.
 * - Functions returning int return HOTLOOP_OK (0) or a negative HOTLOOP_E* code, and then write
 *   nothing. Functions returning a value document their error value.
 * - Every function is thread-safe (no global state) and runs on the calling thread: there is no
 *   OpenMP team behind this ABI; callers split work between threads themselves if they want to.
 * - Kernels are the very ones of the Python package (same source, same SIMD dispatch), so the
 *   results are bit-identical to hotloop's Python functions on the same input.
 *
 * The part between the "cdef" markers below is plain C declarations that cffi's cdef() reads as
 * they are (hotloop.ffi.cdef() extracts it); keep it free of preprocessor conditionals.
 */
#ifndef HOTLOOP_C_H
#define HOTLOOP_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hotloop-cdef-begin ---- */

/* Version of this ABI: changes whenever a declaration below changes incompatibly. */
#define HOTLOOP_C_ABI_VERSION 1

/* Return codes. */
#define HOTLOOP_OK 0
#define HOTLOOP_EINVAL 1 /* returned negated: -HOTLOOP_EINVAL, an invalid argument */

/* HOTLOOP_C_ABI_VERSION of the library actually loaded (compare with the header's). */
int hotloop_abi_version(void);

/* "avx512f", "avx2" or "baseline": the SIMD code path the kernels use on this CPU. A static
 * string; do not free it. */
const char* hotloop_simd_level(void);

/* ---- Fibonacci ---- */

/* Largest n for which fib(n) fits in uint64_t (fib(93) = 12200160415121876738). */
#define HOTLOOP_FIB_MAX_N 93

/* fib(n) by the naive recursion (about 1.6**n calls: a call-overhead benchmark, fib(35) takes
 * tens of milliseconds, fib(60) hours). Returns UINT64_MAX, which is no Fibonacci number, for
 * n < 0 or n > HOTLOOP_FIB_MAX_N. */
uint64_t hotloop_fib(int n);

/* fib(n) by fast doubling, O(log n). Same domain and error value as hotloop_fib. */
uint64_t hotloop_fib_fast(int n);

/* ---- WebSocket masking (RFC 6455, section 5.3) ---- */

/* out[i] = data[i] ^ key[(offset + i) % 4] for 0 <= i < n.
 *   data: read, n bytes, any alignment.
 *   out:  written, n bytes. May equal data (in-place masking); must not otherwise overlap it.
 *   key:  read, 4 bytes.
 *   offset: key position of data[0] (only offset % 4 matters): mask a payload split into pieces
 *           by passing each piece's position in the payload.
 * Returns HOTLOOP_OK, or -HOTLOOP_EINVAL when n > 0 and a pointer is NULL, or when out and data
 * overlap without being equal. */
int hotloop_ws_mask(const uint8_t* data, uint8_t* out, size_t n, const uint8_t* key, size_t offset);

/* ---- Statistics of a float64 sequence (x: read, n values at x[0], x[stride], ...) ---- */

/* Mean, variance and standard deviation, accurate to a few ulps (shifted, compensated
 * two-pass; see hotloop.std). var/std divide by n - ddof. NaN policy of NumPy: a NaN anywhere
 * gives NaN; +-inf give an infinite mean and a NaN variance. They return NaN when n <= 0, when
 * ddof < 0 or n <= ddof, or when x is NULL. */
double hotloop_mean(const double* x, ptrdiff_t n, ptrdiff_t stride);
double hotloop_var(const double* x, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t ddof);
double hotloop_std(const double* x, ptrdiff_t n, ptrdiff_t stride, ptrdiff_t ddof);

/* Rolling (moving-window) mean, variance and standard deviation of one series, as
 * hotloop.rolling_mean/var/std: output i describes x[max(0, i - window + 1) .. i]; NaNs are
 * skipped; an output is NaN unless its window holds at least max(min_periods, 1) non-NaN
 * values; var/std divide by count - ddof (NaN where count <= ddof). Relative error below 2**-36.
 *   x:   read, n values at x[i * x_stride].
 *   out: written, n values at out[i * out_stride]; must not overlap x.
 * Returns HOTLOOP_OK, or -HOTLOOP_EINVAL unless n >= 0, window >= 1,
 * 0 <= min_periods <= window, 0 <= ddof < window, and x and out are non-NULL when n > 0. */
int hotloop_rolling_mean(const double* x, ptrdiff_t n, ptrdiff_t x_stride, ptrdiff_t window,
                         ptrdiff_t min_periods, double* out, ptrdiff_t out_stride);
int hotloop_rolling_var(const double* x, ptrdiff_t n, ptrdiff_t x_stride, ptrdiff_t window,
                        ptrdiff_t min_periods, ptrdiff_t ddof, double* out, ptrdiff_t out_stride);
int hotloop_rolling_std(const double* x, ptrdiff_t n, ptrdiff_t x_stride, ptrdiff_t window,
                        ptrdiff_t min_periods, ptrdiff_t ddof, double* out, ptrdiff_t out_stride);

/* ---- Diffusion (heat) equation and Julia sets ---- */

/* One explicit step of the 2-D diffusion equation on a C-contiguous ny x nx float64 grid
 * (hotloop.evolve; the teaching material's C function evolve(in, out, D, dt)):
 *   out[i][j] = in[i][j] + (D * dt) * (in[i+1][j] + in[i-1][j] + in[i][j+1] + in[i][j-1]
 *                                       - 4 * in[i][j])
 * for the interior cells 1 <= i < ny - 1, 1 <= j < nx - 1; the edge cells of out are not written.
 *   in:  read, ny * nx doubles, row-major.
 *   out: written (interior only), ny * nx doubles; must not overlap in.
 * Returns HOTLOOP_OK, or -HOTLOOP_EINVAL unless ny >= 3, nx >= 3, the pointers are non-NULL and
 * the grids do not overlap. */
int hotloop_diffusion_step(const double* in, double* out, ptrdiff_t ny, ptrdiff_t nx, double D,
                           double dt);

/* Escape-time counts of z -> z*z + c for n points (hotloop.julia): for each point the number of
 * updates made while count < maxiter and re(z)^2 + im(z)^2 < 4, in IEEE double arithmetic exactly
 * as Python's complex numbers compute it.
 *   z:   read, 2 * n doubles: point k is z[2k] + i z[2k+1] (complex128 / double _Complex layout).
 *   c:   read; point k uses c[2 k c_step] + i c[2 k c_step + 1]: c_step = 1 gives one c per
 *        point, c_step = 0 one c for all.
 *   out: written, n counts in [0, maxiter]; must not overlap z or c.
 * Returns HOTLOOP_OK, or -HOTLOOP_EINVAL unless n >= 0, maxiter >= 0, c_step is 0 or 1 and the
 * pointers are non-NULL when n > 0. */
int hotloop_julia(const double* z, const double* c, ptrdiff_t c_step, int32_t* out, ptrdiff_t n,
                  int32_t maxiter);

/* ---- hotloop-cdef-end ---- */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* HOTLOOP_C_H */
