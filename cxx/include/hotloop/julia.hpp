// Escape-time fractals: Julia and Mandelbrot counts.
//
// The count of a point is the classic `calculate_z` loop of the teaching material:
//
//   n = 0
//   while n < maxiter and z.real * z.real + z.imag * z.imag < 4:
//       z = z * z + c
//       n += 1
//
// evaluated in IEEE double arithmetic exactly as CPython evaluates it on complex numbers:
//   |z|^2 = fl(fl(zr * zr) + fl(zi * zi)),
//   zr'   = fl(fl(fl(zr * zr) - fl(zi * zi)) + cr),
//   zi'   = fl(fl(fl(zr * zi) + fl(zi * zr)) + ci)   (the sum is an exact doubling).
// Every lane of the vectorised kernels performs these very operations, rounded one at a time: the
// kernels must be compiled without fused multiply-add contraction (-ffp-contract=off, which
// hotloop's builds set) and without -ffast-math, and then produce the same count as the pure-Python
// loop, point for point, on every instruction set. Non-finite input is not special: a NaN or
// infinite |z|^2 fails the test, so such a point stops there (z = NaN gives 0; c = NaN gives 1
// for a finite z inside the circle).
//
// Speed. Points are processed in groups of lanes: four AVX-512 vectors of eight doubles (32
// points), three AVX2 vectors of four or four SSE2 vectors of two, the version picked at run time
// for the CPU. The lanes iterate in short blocks; after each block every lane that escaped or
// reached maxiter writes its count and takes the next point, so a lane never idles while points
// remain. Within a block a lane that has escaped keeps computing (its count is frozen by a mask),
// which costs less than testing it at every iteration.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hotloop/interrupt.hpp"

namespace hotloop {

// Counts of n points. This is the plain, serial entry point (one call computes a whole problem
// on the calling thread); parallel callers split [0, n) into chunks and call it per chunk.
//   z:   read, 2 * n doubles: point k is z[2k] + i z[2k+1] (the layout of std::complex<double>
//        and NumPy's complex128).
//   c:   read, interleaved likewise; point k uses c[2 * k * c_step] + i c[2 * k * c_step + 1].
//        c_step = 1: one c per point; c_step = 0: one c for every point.
//   out: written, n counts, each in [0, maxiter].
// Preconditions (checked by the caller): n >= 0, maxiter >= 0, c_step is 0 or 1, out does not
// overlap z or c. Never throws, never allocates.
// interrupt (may be null) is polled every few tens of microseconds of work; once it says stop the
// call returns at once and the counts it had not written yet stay unwritten.
void julia(const double* z, const double* c, std::ptrdiff_t c_step, std::int32_t* out,
           std::ptrdiff_t n, std::int32_t maxiter, Interrupt* interrupt = nullptr) noexcept;

// A grid of pixel centres, row-major, row 0 at the top (largest imaginary part):
//   pixel (row r, column j) is x + i y with  x = x0 + (j + 0.5) * dx,  y = y1 - (r + 0.5) * dy,
// each operation rounded once, in that order (NumPy computes the same numbers with
// x0 + (np.arange(width) + 0.5) * dx). For limits xlim, ylim and a width x height image,
// x0 = xlim[0], dx = (xlim[1] - xlim[0]) / width, y1 = ylim[1], dy = (ylim[1] - ylim[0]) / height.
struct PixelGrid {
  std::ptrdiff_t width;
  std::ptrdiff_t height;
  double x0, dx, y1, dy;
};

enum class Fractal : int {
  julia = 0,       // z0 = the pixel, c = the given constant
  mandelbrot = 1,  // z0 = 0, c = the pixel
};

// Counts of the pixels begin <= p < end (p = r * width + j) of a grid; the coordinates are
// computed on the fly, so no input array is needed.
//   out: written, out[p - begin] for each pixel p of the range.
// cr, ci: the constant c of a Julia set (ignored for the Mandelbrot set).
// Preconditions: width, height >= 1, 0 <= begin <= end <= width * height, maxiter >= 0.
// Never throws, never allocates.
// interrupt: as for julia.
void escape_grid(const PixelGrid& grid, Fractal kind, double cr, double ci, std::int32_t maxiter,
                 std::int32_t* out, std::ptrdiff_t begin, std::ptrdiff_t end,
                 Interrupt* interrupt = nullptr) noexcept;

// Number of points per task that parallel callers hand to one thread at a time (dynamic
// scheduling). Large enough that the lanes' drain at the end of a task costs little, small
// enough for many tasks per thread on a megapixel image.
inline constexpr std::ptrdiff_t kEscapeChunk = 8192;

// julia / escape_grid (the whole grid) on up to max_threads threads (hotloop::parallel_for,
// threads.hpp), kEscapeChunk points per task: the counts are those of the serial call whatever
// the number of threads (a point's count depends on that point alone). interrupt (may be null)
// stops every thread's work early; the counts not written yet stay unwritten.
void julia_parallel(const double* z, const double* c, std::ptrdiff_t c_step, std::int32_t* out,
                    std::ptrdiff_t n, std::int32_t maxiter, int max_threads,
                    Interrupt* interrupt = nullptr) noexcept;
void escape_grid_parallel(const PixelGrid& grid, Fractal kind, double cr, double ci,
                          std::int32_t maxiter, std::int32_t* out, int max_threads,
                          Interrupt* interrupt = nullptr) noexcept;

// The pixels of rows [row_begin, row_end) and columns [col_begin, col_end) of the grid only,
// into out (row-major, (row_end - row_begin) x (col_end - col_begin)): the same counts as that
// part of the whole grid, from the same coordinates (global pixel indices), so a tiled image
// (dask) needs no coordinate arrays. Preconditions: 0 <= row_begin <= row_end <= height,
// 0 <= col_begin <= col_end <= width; as escape_grid_parallel otherwise.
void escape_region_parallel(const PixelGrid& grid, Fractal kind, double cr, double ci,
                            std::int32_t maxiter, std::int32_t* out, std::ptrdiff_t row_begin,
                            std::ptrdiff_t row_end, std::ptrdiff_t col_begin,
                            std::ptrdiff_t col_end, int max_threads,
                            Interrupt* interrupt = nullptr) noexcept;

}  // namespace hotloop
