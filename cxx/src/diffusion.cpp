#include "hotloop/diffusion.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "hotloop/detail/float_types.hpp"
#include "hotloop/detail/simd.hpp"
#include "hotloop/threads.hpp"

namespace hotloop {
namespace {

using detail::broadcast;
using detail::load_vec;
using detail::SimdOf;
using detail::store_vec;

// Cells per strip (about 4 KiB of a row), and the scratch a tile may use, which sets the steps
// per block. Two regimes, measured on 512 x 512 .. 2048 x 2048 (AMD EPYC: 48 KiB L1d, 1 MiB L2):
// - The two grids fit in the last-level cache (up to kCachedGrids bytes): the wavefront's own
//   traffic is the limit, so the three rows of each level between the first and the last stay
//   in the L1 data cache (kL1Scratch: 2-3 steps per block on 4 KiB rows). ~1.3x faster on
//   512 x 512 than twenty steps in L2.
// - Larger grids come from main memory, whose bandwidth is the limit: many steps per block,
//   with the scratch in L2 (kL2Scratch, ~20 steps): ~1.5x faster on 2048 x 2048 than 3 steps.
constexpr std::size_t kStripBytes = 4096;
constexpr std::size_t kL1Scratch = 48 * 1024;
constexpr std::size_t kL2Scratch = 256 * 1024;
constexpr std::size_t kCachedGrids = 8 * 1024 * 1024;
constexpr int kMaxSteps = 32;
// Rows of a band per step of a block (see diffusion_tiling).
constexpr std::ptrdiff_t kBandSteps = 16;
// Cells of padding before each scratch row (one 64-byte line of floats, two of doubles).
constexpr std::ptrdiff_t kPad = 16;

// Distance between two scratch rows, in cells: a whole number of cache lines.
constexpr std::ptrdiff_t scratch_pitch(std::ptrdiff_t strip, int steps) noexcept {
  return (kPad + strip + 2 * static_cast<std::ptrdiff_t>(steps) + 1 + 15) / 16 * 16;
}

// out[i] for 0 <= i < m from the rows above (up), at (mid) and below (down), all pointing at the
// first cell; mid[-1] and mid[m] are read too. The teaching material's expression, in its order.
//
// Vectorised with Bits-wide vectors. The left and right neighbours are not loaded from memory
// (two unaligned loads that straddle cache lines) but shifted in from the neighbouring vectors of
// mid, which are needed anyway: the row is then read once, with one load per vector.
template <int Bits, class T>
HOTLOOP_INLINE void stencil_row(const T* __restrict up, const T* __restrict mid,
                                const T* __restrict down, T* __restrict out, std::ptrdiff_t m,
                                T coef) noexcept {
  using V = typename SimdOf<T, Bits>::type;
  using I = typename SimdOf<T, Bits>::mask;
  constexpr int W = SimdOf<T, Bits>::lanes;
  std::ptrdiff_t i = 0;
  if (m >= W) {
    const V c = broadcast<V>(coef), four = broadcast<V>(T(4));
    V prev = broadcast<V>(mid[-1]), shift_left, shift_right;
    I to_left, to_right;
    for (int k = 0; k < W; ++k) {
      to_left[k] = W - 1 + k;  // (prev, cur) -> mid[i - 1 .. i + W - 2]
      to_right[k] = 1 + k;     // (cur, next) -> mid[i + 1 .. i + W]
    }
    V cur = load_vec<V>(mid);
    // out[at .. at + W) from the vectors of mid before (p), at (x) and after (n) it.
    auto cells = [&](V p, V x, V n, std::ptrdiff_t at) noexcept {
      shift_left = __builtin_shuffle(p, x, to_left);
      shift_right = __builtin_shuffle(x, n, to_right);
      const V laplacian =
          load_vec<V>(down + at) + load_vec<V>(up + at) + shift_right + shift_left - four * x;
      store_vec(out + at, x + c * laplacian);
    };
    auto body = [&](V next) noexcept {
      cells(prev, cur, next, i);
      prev = cur;
      cur = next;
    };
    // Four vectors per iteration: the vectors of mid rotate through named registers instead of
    // being moved, and the loop's own instructions are paid once per 4 W cells (the wavefront's
    // rows are L1-resident, where the core's instruction throughput, not memory, is the limit:
    // ~1.2x measured).
    for (; i + 5 * W <= m; i += 4 * W) {
      const V n1 = load_vec<V>(mid + i + W), n2 = load_vec<V>(mid + i + 2 * W);
      const V n3 = load_vec<V>(mid + i + 3 * W), n4 = load_vec<V>(mid + i + 4 * W);
      cells(prev, cur, n1, i);
      cells(cur, n1, n2, i + W);
      cells(n1, n2, n3, i + 2 * W);
      cells(n2, n3, n4, i + 3 * W);
      prev = n3;
      cur = n4;
    }
    for (; i + 2 * W <= m; i += W) body(load_vec<V>(mid + i + W));
    if (i + W <= m) {  // the last whole vector: of the next one only mid[i + W] may be read
      body(broadcast<V>(mid[i + W]));
      i += W;
    }
    if (i < m) {  // the last m - i cells: one vector ending at m, overlapping cells done above
      const std::ptrdiff_t j = m - W;
      const V centre = load_vec<V>(mid + j);
      const V laplacian = load_vec<V>(down + j) + load_vec<V>(up + j) + load_vec<V>(mid + j + 1) +
                          load_vec<V>(mid + j - 1) - four * centre;
      store_vec(out + j, centre + c * laplacian);
      i = m;
    }
  }
  for (; i < m; ++i) {
    const T laplacian = down[i] + up[i] + mid[i + 1] + mid[i - 1] - T(4) * mid[i];
    out[i] = mid[i] + coef * laplacian;
  }
}

template <int Bits, class T>
HOTLOOP_INLINE void step_impl(const T* in, std::ptrdiff_t in_ld, T* out, std::ptrdiff_t out_ld,
                              std::ptrdiff_t ny, std::ptrdiff_t nx, T coef) noexcept {
  for (std::ptrdiff_t i = 1; i < ny - 1; ++i) {
    const T* mid = in + i * in_ld + 1;
    stencil_row<Bits>(mid - in_ld, mid, mid + in_ld, out + i * out_ld + 1, nx - 2, coef);
  }
}

HOTLOOP_INLINE std::ptrdiff_t wrap(std::ptrdiff_t i, std::ptrdiff_t n) noexcept {
  const std::ptrdiff_t r = i % n;
  return r < 0 ? r + n : r;
}

HOTLOOP_INLINE std::ptrdiff_t max_of(std::ptrdiff_t a, std::ptrdiff_t b) noexcept {
  return a > b ? a : b;
}
HOTLOOP_INLINE std::ptrdiff_t min_of(std::ptrdiff_t a, std::ptrdiff_t b) noexcept {
  return a < b ? a : b;
}

// The wavefront over one tile; see diffusion.hpp.
//
// Local coordinates: local column q is global column c0 - S + q (S = steps); a scratch row holds
// the local columns 0 .. width - 1 after kPad cells of padding. Level s (0 = the input at time t)
// is valid on the rows [lo[s], hi[s]) and, within a row, on the local columns [qlo[s], qhi[s]):
// the tile widened by S - s on each side, clipped to the interior with the fixed boundary.
// Row j of level s is computed in wavefront round k = j + s, after rows j - 1, j and j + 1 of
// level s - 1 (rounds k - 2, k - 1 and, earlier in round k, k itself).
//
// Where the rows live. Level 0 is read from src in place, and the held edges of the fixed
// boundary (rows 0 and ny - 1 of every level, columns 0 and nx - 1) too; level S is written to
// dst directly; levels 1 .. S - 1 keep three rows each (slot j mod 3) in the scratch, which the
// tiling sizes to stay in the L1 cache. Only the periodic boundary copies level 0 into the
// scratch, to unwrap the rows and columns that cross the grid's edge.
//
// Scratch rows of levels 2 .. S - 1 are computed from a cache-line aligned column on, a few cells
// left of the valid range (never left of column 1 of the grid with the fixed boundary): those
// extra cells read cells outside the previous level's valid range and hold garbage, but no valid
// cell of the next level reads them (its range is one cell narrower on each side), and aligned
// rows keep the vector loads within cache lines.
template <int Bits, class T>
HOTLOOP_INLINE void tile_impl(const T* src, T* dst, std::ptrdiff_t ld, std::ptrdiff_t ny,
                              std::ptrdiff_t nx, std::ptrdiff_t r0, std::ptrdiff_t r1,
                              std::ptrdiff_t c0, std::ptrdiff_t c1, int S, T coef,
                              Boundary boundary, T* scratch) noexcept {
  constexpr std::ptrdiff_t kAlign = 64 / sizeof(T);  // cells per cache line
  const bool periodic = boundary == Boundary::periodic;
  const std::ptrdiff_t width = (c1 - c0) + 2 * static_cast<std::ptrdiff_t>(S);
  const std::ptrdiff_t pitch = scratch_pitch(c1 - c0, S);
  const std::ptrdiff_t g0 = c0 - S;  // global column of local column 0
  // Row buffers start on a cache line (diffusion_scratch leaves room for this).
  const auto misalign = reinterpret_cast<std::uintptr_t>(scratch) % 64;
  T* const base = scratch + (misalign ? (64 - misalign) / sizeof(T) : 0) + kPad;

  std::ptrdiff_t lo[kMaxSteps + 1], hi[kMaxSteps + 1], qlo[kMaxSteps + 1], qhi[kMaxSteps + 1];
  for (int s = 0; s <= S; ++s) {
    const std::ptrdiff_t halo = S - s;
    lo[s] = r0 - halo;
    hi[s] = r1 + halo;
    qlo[s] = s;
    qhi[s] = width - s;
    if (!periodic) {
      const std::ptrdiff_t edge = s == 0 ? 0 : 1;  // level 0 includes the fixed edges
      lo[s] = max_of(lo[s], edge);
      hi[s] = min_of(hi[s], ny - edge);
      qlo[s] = max_of(qlo[s], edge - g0);
      qhi[s] = min_of(qhi[s], nx - edge - g0);
    }
  }

  auto ring = [&](int s, std::ptrdiff_t j) noexcept -> T* {
    return base + (3 * s + wrap(j, 3)) * pitch;
  };
  // Local column q of row j of level s, as computed (q >= 1 - g0 with the fixed boundary, so
  // that pointers into src stay inside the grid).
  auto at = [&](int s, std::ptrdiff_t j, std::ptrdiff_t q) noexcept -> const T* {
    if (!periodic && (s == 0 || j == 0 || j == ny - 1)) return src + j * ld + (g0 + q);
    return ring(s, j) + q;
  };
  // Periodic: copies global row `row` (wrapped) into level 0's ring, columns 0 .. width - 1.
  auto load_row = [&](std::ptrdiff_t row, T* local) noexcept {
    const T* g = src + wrap(row, ny) * ld;
    std::ptrdiff_t q = 0;
    while (q < width) {  // runs of columns that do not wrap
      const std::ptrdiff_t col = wrap(g0 + q, nx);
      const std::ptrdiff_t run = min_of(width - q, nx - col);
      std::memcpy(local + q, g + col, static_cast<std::size_t>(run) * sizeof(T));
      q += run;
    }
  };
  // The held edge columns of the fixed boundary, where they fall inside the local rows.
  const bool left_edge = !periodic && g0 <= 0;
  const bool right_edge = !periodic && nx - 1 - g0 < width;
  // Leftmost column a level may be computed from: one right of the fixed edge.
  const std::ptrdiff_t q_min = periodic ? 0 : 1 - g0;

  std::ptrdiff_t k_end = lo[0];
  for (int s = 0; s <= S; ++s) {
    if (hi[s] > lo[s]) k_end = max_of(k_end, hi[s] + s);
  }
  for (std::ptrdiff_t k = lo[0]; k < k_end; ++k) {
    if (periodic && k < hi[0]) load_row(k, ring(0, k));
    for (int s = 1; s <= S; ++s) {
      const std::ptrdiff_t j = k - s;
      if (j < lo[s] || j >= hi[s] || qhi[s] <= qlo[s]) continue;
      if (s == S) {
        const std::ptrdiff_t q0 = qlo[s];
        stencil_row<Bits>(at(s - 1, j - 1, q0), at(s - 1, j, q0), at(s - 1, j + 1, q0),
                          dst + j * ld + (g0 + q0), qhi[s] - q0, coef);
        continue;
      }
      // Level 1 reads src: its exact range. Above, from the cache line that holds qlo[s].
      const std::ptrdiff_t q0 =
          s == 1 ? qlo[s] : max_of((kPad + qlo[s]) / kAlign * kAlign - kPad, q_min);
      T* out = ring(s, j);
      stencil_row<Bits>(at(s - 1, j - 1, q0), at(s - 1, j, q0), at(s - 1, j + 1, q0), out + q0,
                        qhi[s] - q0, coef);
      if (left_edge) out[-g0] = src[j * ld];
      if (right_edge) out[nx - 1 - g0] = src[j * ld + nx - 1];
    }
  }
}

// One version per instruction set of each kernel, for each float type. GCC dispatches calls to
// such a version set only from this file (a caller elsewhere would bind to the default version),
// so the entry points below are the way in.
#define HOTLOOP_STEP_BODY(BITS) step_impl<BITS>(in, in_ld, out, out_ld, ny, nx, coef);
#define HOTLOOP_TILE_BODY(BITS) \
  tile_impl<BITS>(src, dst, ld, ny, nx, r0, r1, c0, c1, steps, coef, boundary, scratch);
#define HOTLOOP_DIFFUSION_VERSIONS(T)                                                              \
  HOTLOOP_ISA_VERSIONS(                                                                            \
      void step_isa(const T* in, std::ptrdiff_t in_ld, T* out, std::ptrdiff_t out_ld,              \
                    std::ptrdiff_t ny, std::ptrdiff_t nx, T coef) noexcept,                        \
      HOTLOOP_STEP_BODY)                                                                           \
  HOTLOOP_ISA_VERSIONS(                                                                            \
      void tile_isa(const T* src, T* dst, std::ptrdiff_t ld, std::ptrdiff_t ny, std::ptrdiff_t nx, \
                    std::ptrdiff_t r0, std::ptrdiff_t r1, std::ptrdiff_t c0, std::ptrdiff_t c1,    \
                    int steps, T coef, Boundary boundary, T* scratch) noexcept,                    \
      HOTLOOP_TILE_BODY)
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_DIFFUSION_VERSIONS)

}  // namespace

void diffusion_step(const double* in, double* out, std::ptrdiff_t ny, std::ptrdiff_t nx, double D,
                    double dt) noexcept {
  step_isa(in, nx, out, nx, ny, nx, D * dt);
}

template <class T>
void diffusion_step(const T* in, std::ptrdiff_t in_ld, T* out, std::ptrdiff_t out_ld,
                    std::ptrdiff_t ny, std::ptrdiff_t nx, T coef) noexcept {
  step_isa(in, in_ld, out, out_ld, ny, nx, coef);
}

DiffusionTiling diffusion_tiling(std::ptrdiff_t ny, std::ptrdiff_t nx, std::size_t itemsize,
                                 int n_threads) noexcept {
  DiffusionTiling t;
  // Strips of about kStripBytes, all of the same width (the last one may be narrower).
  const std::ptrdiff_t target = static_cast<std::ptrdiff_t>(kStripBytes / itemsize);
  const std::ptrdiff_t strips = nx <= target + target / 2 ? 1 : (nx + target - 1) / target;
  t.strip = (nx + strips - 1) / strips;
  // Steps per block: three scratch rows per level within the scratch budget.
  const std::ptrdiff_t row_bytes = (t.strip + 16) * static_cast<std::ptrdiff_t>(itemsize);
  const double grids =
      2.0 * static_cast<double>(ny) * static_cast<double>(nx) * static_cast<double>(itemsize);
  const std::size_t budget = grids <= static_cast<double>(kCachedGrids) ? kL1Scratch : kL2Scratch;
  std::ptrdiff_t steps = static_cast<std::ptrdiff_t>(budget) / (3 * row_bytes);
  steps = steps < 1 ? 1 : (steps > kMaxSteps ? kMaxSteps : steps);
  t.steps = static_cast<int>(steps);
  // Bands: at most kBandSteps * steps rows high, so that a band's halo (about `steps` rows
  // recomputed per block) stays near 1 / kBandSteps of the work, while tiles stay small enough
  // for quiescent ones to be skipped (diffusion.hpp). With several threads, also about four
  // tiles per thread, handed out dynamically, so that a thread the OS leaves waiting (a busy
  // machine) delays a block by one small tile, not by a thread's whole share. Bands are at least
  // 32 rows high, and steps are capped at band / 8.
  const std::ptrdiff_t band_rows = max_of(32, kBandSteps * t.steps);
  std::ptrdiff_t bands = (ny + band_rows - 1) / band_rows;
  if (n_threads > 1) {
    const std::ptrdiff_t want = (4 * static_cast<std::ptrdiff_t>(n_threads) + strips - 1) / strips;
    bands = max_of(bands, want);
  }
  const std::ptrdiff_t most = max_of(1, ny / 32);
  bands = min_of(bands, most);
  // With several threads, a whole number of tiles per thread where the rows allow it: every
  // block ends at a barrier, and one tile left over costs a thread's idle tile time per block.
  const auto tiles = [&](std::ptrdiff_t b) {  // tiles when asking for b bands
    const std::ptrdiff_t rows = (ny + b - 1) / b;
    return (ny + rows - 1) / rows * strips;
  };
  if (n_threads > 1) {
    std::ptrdiff_t b = bands;
    while (b < most && tiles(b) % n_threads != 0) ++b;
    if (tiles(b) % n_threads == 0) bands = b;
  }
  t.band = (ny + bands - 1) / bands;
  if (bands > 1 && t.steps > t.band / 8)
    t.steps = static_cast<int>(t.band / 8 > 1 ? t.band / 8 : 1);
  t.scratch = diffusion_scratch(t.strip, t.steps);
  return t;
}

template <class T>
void diffusion_tile(const T* src, T* dst, std::ptrdiff_t ld, std::ptrdiff_t ny, std::ptrdiff_t nx,
                    std::ptrdiff_t r0, std::ptrdiff_t r1, std::ptrdiff_t c0, std::ptrdiff_t c1,
                    int steps, T coef, Boundary boundary, T* scratch) noexcept {
  tile_isa(src, dst, ld, ny, nx, r0, r1, c0, c1, steps, coef, boundary, scratch);
}

namespace {

// True when every cell of rows [r0, r1) x columns [c0, c1) of the grid is +0.0 (all bits zero).
template <class T>
bool zero_rect(const T* grid, std::ptrdiff_t ld, std::ptrdiff_t r0, std::ptrdiff_t r1,
               std::ptrdiff_t c0, std::ptrdiff_t c1) noexcept {
  using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  for (std::ptrdiff_t r = r0; r < r1; ++r) {
    const T* row = grid + r * ld;
    Bits any = 0;
    for (std::ptrdiff_t c = c0; c < c1; ++c) {
      Bits b;
      std::memcpy(&b, row + c, sizeof b);
      any |= b;
    }
    if (any != 0) return false;
  }
  return true;
}

struct TileGrid {
  std::ptrdiff_t bands, strips;
};

TileGrid tile_grid(std::ptrdiff_t ny, std::ptrdiff_t nx, const DiffusionTiling& t) noexcept {
  return {(ny + t.band - 1) / t.band, (nx + t.strip - 1) / t.strip};
}

// True when every tile that holds a cell of rows [lo, hi) x columns [clo, chi) is flagged zero;
// coordinates outside the grid wrap (periodic) or are dropped (fixed).
bool zero_around(const unsigned char* zero, std::ptrdiff_t ny, std::ptrdiff_t nx,
                 const DiffusionTiling& t, std::ptrdiff_t lo, std::ptrdiff_t hi, std::ptrdiff_t clo,
                 std::ptrdiff_t chi, bool periodic) noexcept {
  const TileGrid g = tile_grid(ny, nx, t);
  if (!periodic) {
    lo = max_of(lo, 0);
    hi = min_of(hi, ny);
    clo = max_of(clo, 0);
    chi = min_of(chi, nx);
  } else {
    // A halo that wraps onto the tile itself involves every band (every strip).
    if (hi - lo >= ny) {
      lo = 0;
      hi = ny;
    }
    if (chi - clo >= nx) {
      clo = 0;
      chi = nx;
    }
  }
  // The bands and strips met by the ranges, each visited once per run of rows or columns.
  for (std::ptrdiff_t r = lo; r < hi;) {
    const std::ptrdiff_t row = wrap(r, ny);
    const std::ptrdiff_t band = row / t.band;
    const std::ptrdiff_t band_end = min_of((band + 1) * t.band, ny);
    for (std::ptrdiff_t c = clo; c < chi;) {
      const std::ptrdiff_t col = wrap(c, nx);
      const std::ptrdiff_t strip = col / t.strip;
      if (!zero[band * g.strips + strip]) return false;
      c += min_of((strip + 1) * t.strip, nx) - col;
    }
    r += band_end - row;
  }
  return true;
}

}  // namespace

std::ptrdiff_t diffusion_tiles(std::ptrdiff_t ny, std::ptrdiff_t nx,
                               const DiffusionTiling& tiling) noexcept {
  const TileGrid g = tile_grid(ny, nx, tiling);
  return g.bands * g.strips;
}

template <class T>
void diffusion_zero_tiles(const T* grid, std::ptrdiff_t ny, std::ptrdiff_t nx,
                          const DiffusionTiling& t, unsigned char* zero) noexcept {
  const TileGrid g = tile_grid(ny, nx, t);
  for (std::ptrdiff_t b = 0; b < g.bands; ++b)
    for (std::ptrdiff_t s = 0; s < g.strips; ++s)
      zero[b * g.strips + s] = zero_rect(grid, nx, b * t.band, min_of((b + 1) * t.band, ny),
                                         s * t.strip, min_of((s + 1) * t.strip, nx));
}

template <class T>
void diffusion_tile_sparse(const T* src, T* dst, std::ptrdiff_t ny, std::ptrdiff_t nx,
                           const DiffusionTiling& t, std::ptrdiff_t k, int steps, T coef,
                           Boundary boundary, T* scratch, const unsigned char* zero_src,
                           unsigned char* zero_dst) noexcept {
  const TileGrid g = tile_grid(ny, nx, t);
  const std::ptrdiff_t r0 = (k / g.strips) * t.band, r1 = min_of(r0 + t.band, ny);
  const std::ptrdiff_t c0 = (k % g.strips) * t.strip, c1 = min_of(c0 + t.strip, nx);
  if (zero_around(zero_src, ny, nx, t, r0 - steps, r1 + steps, c0 - steps, c1 + steps,
                  boundary == Boundary::periodic)) {
    if (!zero_dst[k]) {
      // All +0.0, edge cells of the fixed boundary included (they are +0 in src, and equal
      // in both buffers).
      for (std::ptrdiff_t r = r0; r < r1; ++r)
        std::memset(dst + r * nx + c0, 0, static_cast<std::size_t>(c1 - c0) * sizeof(T));
      zero_dst[k] = 1;
    }
    return;
  }
  diffusion_tile(src, dst, nx, ny, nx, r0, r1, c0, c1, steps, coef, boundary, scratch);
  // A flag may say "not known to be zero" (0) of a zero tile: that only costs a skip. So only
  // tiles at the edge of the warm region, zero in src but next to a warm one, are scanned;
  // a warm tile stays warm (its values spread, they do not vanish but by underflow).
  zero_dst[k] = zero_src[k] ? zero_rect(dst, nx, r0, r1, c0, c1) : 0;
}

template <class T>
int diffuse(T* a, T* b, std::ptrdiff_t ny, std::ptrdiff_t nx, const DiffusionTiling& tiling,
            std::ptrdiff_t steps, T coef, Boundary boundary, int n_threads, T* scratch,
            unsigned char* zero_a, unsigned char* zero_b) noexcept {
  const std::ptrdiff_t tiles = diffusion_tiles(ny, nx, tiling);
  const std::ptrdiff_t blocks = (steps + tiling.steps - 1) / tiling.steps;
  if (blocks == 0) return 0;
  if (tiles < n_threads) n_threads = static_cast<int>(tiles);
  if (n_threads > kMaxScratchSlices) n_threads = kMaxScratchSlices;
  // One parallel_for per block, whose tiles the threads claim one at a time: a thread that the
  // OS leaves waiting delays a block by one small tile, not by a share of the grid, and the pool
  // never waits for a helper that has not started (threads.hpp). Between blocks the helpers
  // spin for a while before they park, so the next block finds them awake. Not an OpenMP team
  // meeting at a barrier after each block: that waits for every thread of the team, and lost
  // 10-45x against one thread with 50 ms between calls or another process on a core.
  //
  // At most n_threads calls of the body run at once; each takes a free scratch slice.
  std::atomic<bool> busy[kMaxScratchSlices] = {};
  for (std::ptrdiff_t blk = 0; blk < blocks; ++blk) {
    const bool even = blk % 2 == 0;
    const int s = static_cast<int>(min_of(tiling.steps, steps - blk * tiling.steps));
    const T* const src = even ? a : b;
    T* const dst = even ? b : a;
    const unsigned char* const zsrc = even ? zero_a : zero_b;
    unsigned char* const zdst = even ? zero_b : zero_a;
    parallel_for(tiles, n_threads, 1, [&](std::ptrdiff_t first, std::ptrdiff_t last) {
      int slice = 0;
      while (busy[slice].exchange(true, std::memory_order_acquire)) slice = (slice + 1) % n_threads;
      T* const work = scratch + static_cast<std::ptrdiff_t>(slice) * tiling.scratch;
      for (std::ptrdiff_t k = first; k < last; ++k)
        diffusion_tile_sparse(src, dst, ny, nx, tiling, k, s, coef, boundary, work, zsrc, zdst);
      busy[slice].store(false, std::memory_order_release);
    });
  }
  return static_cast<int>(blocks % 2);
}

// The entry points, for each float type.
#define HOTLOOP_DIFFUSION_ENTRY_POINTS(T)                                                          \
  template void diffusion_step<T>(const T*, std::ptrdiff_t, T*, std::ptrdiff_t, std::ptrdiff_t,    \
                                  std::ptrdiff_t, T) noexcept;                                     \
  template void diffusion_tile<T>(const T*, T*, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,    \
                                  std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t, std::ptrdiff_t,  \
                                  int, T, Boundary, T*) noexcept;                                  \
  template void diffusion_zero_tiles<T>(const T*, std::ptrdiff_t, std::ptrdiff_t,                  \
                                        const DiffusionTiling&, unsigned char*) noexcept;          \
  template void diffusion_tile_sparse<T>(const T*, T*, std::ptrdiff_t, std::ptrdiff_t,             \
                                         const DiffusionTiling&, std::ptrdiff_t, int, T, Boundary, \
                                         T*, const unsigned char*, unsigned char*) noexcept;       \
  template int diffuse<T>(T*, T*, std::ptrdiff_t, std::ptrdiff_t, const DiffusionTiling&,          \
                          std::ptrdiff_t, T, Boundary, int, T*, unsigned char*,                    \
                          unsigned char*) noexcept;
HOTLOOP_FOR_EACH_FLOAT(HOTLOOP_DIFFUSION_ENTRY_POINTS)

}  // namespace hotloop
