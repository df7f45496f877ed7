// The 2-D diffusion (heat) equation, explicit scheme, five-point stencil.
//
// One step maps a grid `in` to `out` cell by cell, exactly as the teaching material's C function
// (the same operations in the same order, each rounded once; no fused multiply-add):
//
//   laplacian = in[i+1][j] + in[i-1][j] + in[i][j+1] + in[i][j-1] - 4 * in[i][j]
//   out[i][j] = in[i][j] + (D * dt) * laplacian
//
// With the fixed boundary the interior cells 1 <= i < ny - 1, 1 <= j < nx - 1 are updated and the
// edge cells keep their values; with the periodic boundary every cell is updated and neighbours
// wrap around (index -1 is ny - 1, as NumPy's np.roll). float grids compute in float with the
// coefficient (float)(D * dt). NaN and infinity propagate through the arithmetic.
//
// Many steps (diffusion_tile) use temporal blocking, which changes the order in which cells are
// computed, never how: every cell of every step is the same expression of the same inputs, so
// any tiling, any thread count and any number of steps per block give results bitwise identical
// to calling diffusion_step once per step.
//
// Entry points for both float types are templates, defined in diffusion.cpp for T = float and
// double (detail/float_types.hpp); coef is D * dt, already rounded to T.
//
// Temporal blocking. The grid is cut into tiles (bands of rows x strips of columns) that advance
// `steps` time steps at once. A tile reads its rows and columns plus a halo of `steps` cells on
// every side at time t and writes its own cells at time t + steps; the halo is recomputed by each
// tile that needs it (overlapped tiling), so tiles are independent and run in parallel. Inside a
// tile the levels t+1 .. t+steps advance together as a wavefront over the rows: once rows j-1, j,
// j+1 of level s-1 exist, row j of level s is computed. Level 0 is read from the grid in place
// and the last level written to it; each level in between keeps only three rows, in a scratch
// buffer small enough to stay in the L1 cache, so a tile reads and writes the grid once per
// `steps` time steps instead of once per step.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace hotloop {

// One step of a C-contiguous ny x nx grid of doubles, serially: exactly the teaching material's
// C function `evolve(in, out, D, dt)`. This is the plain, serial entry point of the family.
//   in:  read, ny * nx doubles, row-major.
//   out: written, the interior cells (1 <= i < ny - 1, 1 <= j < nx - 1); its edge cells are not
//        touched. Must not overlap in.
// Preconditions (checked by the caller): ny >= 3, nx >= 3. Never throws, never allocates.
void diffusion_step(const double* in, double* out, std::ptrdiff_t ny, std::ptrdiff_t nx, double D,
                    double dt) noexcept;

// One step with the fixed boundary on grids with row strides (in elements; cells of a row are
// contiguous), float or double. Same contract as above.
template <class T>
void diffusion_step(const T* in, std::ptrdiff_t in_ld, T* out, std::ptrdiff_t out_ld,
                    std::ptrdiff_t ny, std::ptrdiff_t nx, T coef) noexcept;

enum class Boundary : int {
  fixed = 0,     // edge cells held at their initial values
  periodic = 1,  // wrap-around
};

// How a many-step run is cut: `steps` time steps per block, tiles of `band` rows x `strip`
// columns, and the scratch each thread needs (in elements of the grid's type).
struct DiffusionTiling {
  int steps;
  std::ptrdiff_t band;
  std::ptrdiff_t strip;
  std::ptrdiff_t scratch;
};

// The tiling for an ny x nx grid of `itemsize`-byte cells (4 or 8) and n_threads threads: strips
// of about 4 KiB of cells; steps chosen so that a tile's 3 * steps scratch rows take at most
// 48 KiB (the L1 data cache) when both grids fit in 8 MiB, 256 KiB (L2) when they come from main
// memory; bands of about 16 * steps rows (at least 32, and steps at most band / 8), more of them
// with several threads (about four tiles per thread). Preconditions: ny, nx >= 1, n_threads >= 1.
DiffusionTiling diffusion_tiling(std::ptrdiff_t ny, std::ptrdiff_t nx, std::size_t itemsize,
                                 int n_threads) noexcept;

// Elements of scratch that diffusion_tile needs for a strip of `strip` columns and `steps` steps:
// 3 * steps + 2 rows of padded cells, and room to align them on a cache line.
constexpr std::ptrdiff_t diffusion_scratch(std::ptrdiff_t strip, int steps) noexcept {
  const std::ptrdiff_t pitch =
      (16 + strip + 2 * static_cast<std::ptrdiff_t>(steps) + 1 + 15) / 16 * 16;
  return (3 * static_cast<std::ptrdiff_t>(steps) + 2) * pitch + 16 + 64;
}

// Advances the cells of rows [r0, r1) x columns [c0, c1) by `steps` steps.
//   src:     read, the whole grid at time t (ny x nx, row stride ld); only the tile and a halo
//            of `steps` cells around it are read.
//   dst:     written, the tile's cells at time t + steps (same shape and stride as src). With the
//            fixed boundary edge cells are never written: dst must hold them already.
//   scratch: written, at least diffusion_scratch(c1 - c0, steps) elements, private to the call.
// dst must not overlap src or scratch. Tiles of one block may run concurrently: they read src
// and write disjoint parts of dst.
// Preconditions: ny, nx >= 3, 0 <= r0 < r1 <= ny, 0 <= c0 < c1 <= nx, steps >= 1.
// Never throws, never allocates.
template <class T>
void diffusion_tile(const T* src, T* dst, std::ptrdiff_t ld, std::ptrdiff_t ny, std::ptrdiff_t nx,
                    std::ptrdiff_t r0, std::ptrdiff_t r1, std::ptrdiff_t c0, std::ptrdiff_t c1,
                    int steps, T coef, Boundary boundary, T* scratch) noexcept;

// Quiescent tiles. A cell whose inputs are all +0.0 (every bit zero) stays +0.0 exactly:
// 0 + 0 + 0 + 0 - 4 * 0 is +0, and +0 + coef * +0 is +0 for any coef >= 0. So a tile whose cells
// and halo (the cells within `steps` of it) are all +0 at time t is all +0 at t + steps, and a
// block can skip it instead of computing it: diffusion on a mostly cold grid (a heat source in
// a cold plate) then costs in proportion to the warm part. -0.0 is not zero here (a -0 cell
// becomes +0 after a step), so results stay bitwise identical to stepping every cell.
//
// Tiles are numbered k = band_index * strips + strip_index, 0 <= k < diffusion_tiles(...).
std::ptrdiff_t diffusion_tiles(std::ptrdiff_t ny, std::ptrdiff_t nx,
                               const DiffusionTiling& tiling) noexcept;

// zero[k] = 1 when every cell of tile k of the C-contiguous ny x nx grid is +0.0, else 0.
//   grid: read. zero: written, diffusion_tiles(ny, nx, tiling) flags.
template <class T>
void diffusion_zero_tiles(const T* grid, std::ptrdiff_t ny, std::ptrdiff_t nx,
                          const DiffusionTiling& tiling, unsigned char* zero) noexcept;

// Tile k of one block of `steps` steps (steps <= tiling.steps), src -> dst (C-contiguous
// ny x nx), skipping it when zero_src says that it and its halo are +0.0: then it is written as
// zeros, or not at all when zero_dst[k] says dst holds zeros there already. Sets zero_dst[k]
// (a computed tile is scanned when it was zero in src; one that was warm is flagged 0, "not
// known to be zero", which is always safe). Tiles of one block may run concurrently (they write
// disjoint parts of dst and of zero_dst). scratch: tiling.scratch elements private to the call.
template <class T>
void diffusion_tile_sparse(const T* src, T* dst, std::ptrdiff_t ny, std::ptrdiff_t nx,
                           const DiffusionTiling& tiling, std::ptrdiff_t k, int steps, T coef,
                           Boundary boundary, T* scratch, const unsigned char* zero_src,
                           unsigned char* zero_dst) noexcept;

// The parallel driver: `steps` steps of a C-contiguous ny x nx grid, block after block of
// tiling.steps steps, the tiles of each block shared out dynamically among up to n_threads
// threads (fewer when there are fewer tiles) by one hotloop::parallel_for per block (threads.hpp:
// the caller never waits for a helper that has not started; helpers that finish a block spin
// briefly, so the next block finds them awake). Quiescent tiles are skipped (above). Results are
// bitwise those of diffuse_serial (and of repeated diffusion_step) for any n_threads and any
// tiling.
//
// The function runs to the end and has no callback: a caller that must react while it runs
// (Ctrl-C, a progress report) calls it once per chunk of steps, exchanging a <-> b and
// zero_a <-> zero_b whenever a call returns 1. n_threads = 1 runs on the calling thread alone.
//   a:       read and written; holds the grid at the start of the call.
//   b:       read and written; the other buffer. With the fixed boundary its edge cells must
//            equal a's (start from a copy of a).
//   zero_a, zero_b: read and written, diffusion_tiles(ny, nx, tiling) flags each, describing a
//            and b. Before the first call of a run both hold diffusion_zero_tiles(a) (b a copy
//            of a); between calls, what the previous call left. All 0 in both: no tile is
//            skipped (and the flags stay 0).
//   scratch: written, min(n_threads, kMaxScratchSlices) * tiling.scratch elements, one slice
//            per thread working at a time.
// Returns 0 when a holds the grid after `steps` steps, 1 when b does.
// Preconditions: ny, nx >= 3; tiling = diffusion_tiling(ny, nx, sizeof(T), m) for some m >= 1
// (m = n_threads spreads the work best); steps >= 0; n_threads >= 1; a, b, scratch and the flag
// arrays do not overlap. Never throws, never allocates.
template <class T>
int diffuse(T* a, T* b, std::ptrdiff_t ny, std::ptrdiff_t nx, const DiffusionTiling& tiling,
            std::ptrdiff_t steps, T coef, Boundary boundary, int n_threads, T* scratch,
            unsigned char* zero_a, unsigned char* zero_b) noexcept;

// The most threads diffuse uses (scratch slices); the pool caps threads lower anyway.
inline constexpr int kMaxScratchSlices = 256;

// `steps` steps of a C-contiguous ny x nx grid on the calling thread, block after block, tile
// after tile, without OpenMP: the plain twin of diffuse (the C++ tests compare the two). With
// `sparse`, quiescent tiles are skipped (above).
//   a, b: read and written, both holding the initial grid (b's edge cells matter with the fixed
//         boundary). Returns the buffer, a or b, that holds the grid after `steps` steps.
// Allocates the scratch (std::vector, may throw std::bad_alloc).
template <class T>
T* diffuse_serial(T* a, T* b, std::ptrdiff_t ny, std::ptrdiff_t nx, std::ptrdiff_t steps, T coef,
                  Boundary boundary, bool sparse = true) {
  const DiffusionTiling tiling = diffusion_tiling(ny, nx, sizeof(T), 1);
  std::vector<T> scratch(static_cast<std::size_t>(tiling.scratch));
  const std::ptrdiff_t tiles = diffusion_tiles(ny, nx, tiling);
  // A flag of 0 ("not known to be zero") makes a tile computed, and a computed tile is flagged
  // zero only when it was flagged zero in src: without `sparse`, every flag stays 0.
  std::vector<unsigned char> za(static_cast<std::size_t>(tiles), 0), zb(za.size(), 0);
  if (sparse) {
    diffusion_zero_tiles(a, ny, nx, tiling, za.data());
    zb = za;
  }
  for (std::ptrdiff_t done = 0; done < steps; done += tiling.steps) {
    const int s = static_cast<int>(steps - done < tiling.steps ? steps - done : tiling.steps);
    for (std::ptrdiff_t k = 0; k < tiles; ++k)
      diffusion_tile_sparse(a, b, ny, nx, tiling, k, s, coef, boundary, scratch.data(), za.data(),
                            zb.data());
    std::swap(a, b);
    std::swap(za, zb);
  }
  return a;
}

}  // namespace hotloop
