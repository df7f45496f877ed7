// hotloop's thin layer over Google's S2 geometry library (0.14, the headers and static libraries
// that the official `s2geometry` wheel ships): the checks that keep S2's fatal assertions from
// ever seeing unvalidated input, and the few calls whose S2 signatures Cython cannot spell
// (absl::string_view, absl::Span).
//
// S2 aborts the process (ABSL_CHECK, and ABSL_DCHECK in debug builds) on invalid cells, levels,
// loops and polygons, and silently builds nonsense where no check guards. So every ring goes
// through make_loop(), which checks coordinates and vertices itself (the cheap half of S2's
// loop validation), and every set of rings through make_polygon(), which lets S2 validate the
// whole polygon in one index (FindValidationError) and, if that fails, explains the fault in the
// input's terms instead of letting S2 abort. Loops and polygons are built with
// S2Debug::DISABLE, S2's documented construct-then-validate pattern: with its DCHECKs compiled
// out (NDEBUG), building or nesting loops whose edges cross cannot abort, and nothing is covered
// before validation has passed.
//
// Orientation rule (decided here, stated in hotloop.geo's docstrings): GeoJSON's winding is not
// trusted. Every ring is taken to bound the smaller of the two regions it separates on the sphere
// (S2Loop::Normalize, applied by the caller), the first ring of a polygon is its shell and the
// others are its holes; S2Polygon::InitNested then orders the loops by containment, and
// make_polygon() checks that this nesting matches the shell/hole roles the input declared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hotloop/interrupt.hpp"
#include "s2/s2cell_id.h"
#include "s2/s2loop.h"
#include "s2/s2polygon.h"
#include "s2/s2region_coverer.h"

namespace hotloop::geo {

// The coordinates make_loop() and hotloop.geo.latlng_to_cell accept: |lat| <= 90 and
// |lon| <= 180 degrees (S2LatLng::is_valid()). NaN fails both comparisons.
inline bool valid_latlng(double lat_deg, double lon_deg) noexcept {
  return lat_deg >= -90.0 && lat_deg <= 90.0 && lon_deg >= -180.0 && lon_deg <= 180.0;
}

// One GeoJSON ring as an S2Loop, its vertices checked (crossing edges: make_polygon), not yet
// normalised.
//   lonlat      read: n_vertices (longitude, latitude) pairs in degrees, GeoJSON's order.
//   error       written: the reason when nullptr is returned.
// The closing vertex may repeat the first one (GeoJSON) or not; consecutive vertices that map to
// the same S2Point are merged. Refused (nullptr): a coordinate outside valid_latlng(), fewer
// than 3 distinct vertices, a vertex that appears twice, an edge between antipodal points (the
// checks of S2's FindValidationErrorNoIndex). Never throws (nullptr + "out of memory" on
// std::bad_alloc).
std::unique_ptr<S2Loop> make_loop(const double* lonlat, std::int64_t n_vertices,
                                  std::string* error) noexcept;

// The polygon bounded by `loops` (each from make_loop, then normalised).
//   loops     read, then emptied: the loops move into the polygon (also on failure).
//   shell_of  read: shell_of[i] is the index in `loops` of loop i's shell; shell_of[i] == i for a
//             shell. A MultiPolygon lists several shells, each followed by its holes.
//   error     written: the reason when nullptr is returned.
// Refused (nullptr): a hole not inside its shell, a shell inside another polygon's shell (not
// in one of its holes), loops whose edges cross or that share an edge (S2's own validation).
// Zero loops give the empty polygon. Never throws.
std::unique_ptr<S2Polygon> make_polygon(std::vector<std::unique_ptr<S2Loop>>* loops,
                                        const std::int64_t* shell_of, std::string* error) noexcept;

// The most cells that min_level may force into one covering (about 128 MiB of ids): beyond it
// S2RegionCoverer would try to allocate the covering anyway (it ignores max_cells where
// min_level requires more cells) and run the process out of memory.
inline constexpr double kMaxForcedCells = 1 << 24;

// Refuses (false, *error) a covering whose min_level alone would need more than
// kMaxForcedCells cells: area / average cell area at min_level, a lower bound of the count.
bool check_min_level(const S2Polygon& polygon, int min_level, std::string* error) noexcept;

// How much work one covering may do. S2RegionCoverer tests cells against the region
// (S2Region::MayIntersect, then Contains for a candidate cell: 0.2 to 1 us each on a small
// polygon) until it has max_cells cells. An interior covering of a sliver (a polygon with no
// cell inside it above max_level, e.g. a ring whose vertices lie on one great circle) never gets
// them: it tests every cell along the boundary down to max_level, twice as many at each level
// (for a ring along a meridian from -60 to 60 degrees, GeoSliverInterior in
// cxx/bench/geo_benchmark: 66,000 tests and 30 ms at max_level 12, 4.2 million and 1.8 s at 18,
// and on to 4**15 times more at 30). S2 has no hook to stop a covering, so cover() answers the
// coverer's tests itself and, once the budget is spent, answers "disjoint" to every further
// test: the coverer then runs out of candidates within microseconds and its result is discarded.
//
// The count is of calls (a MayIntersect and the Contains that follows it on the same cell are
// two), for cells finer than min_level: how many cells of min_level or coarser a covering needs
// is bounded by check_min_level.
struct CoverBudget {
  // The most tests one covering may make: a count >= 1, kAutoMaxTests (auto_max_tests of the
  // coverer's max_cells) or kNoMaxTests.
  std::int64_t max_tests = kAutoMaxTests;
  // Polled every kPollTests tests and between geometries; may be null.
  Interrupt* interrupt = nullptr;

  static constexpr std::int64_t kAutoMaxTests = -2;
  static constexpr std::int64_t kNoMaxTests = -1;
};

// The default budget: 2**22 tests (2 to 3 s of work on a sliver, 66 MB of candidate cells), or
// 128 per requested cell when max_cells asks for more. Measured need on countryinfo's 172 valid
// country boundaries, the largest over every third one: 2**16 tests for 4096 cells down to level
// 30 (hotloop.geo's defaults), 2**17 for the interior covering; 2**20 and 2**21 (10 and 20 per
// cell) for 100,000 cells. So the default leaves ordinary coverings a margin of 6 to 64.
inline std::int64_t auto_max_tests(int max_cells) noexcept {
  const std::int64_t per_cell = 128 * static_cast<std::int64_t>(max_cells);
  return per_cell > (std::int64_t{1} << 22) ? per_cell : std::int64_t{1} << 22;
}

// Tests between two polls of CoverBudget::interrupt (~0.1 ms of work).
inline constexpr unsigned kPollTests = 256;

enum class CoverStatus { kCovered, kOverBudget, kInterrupted, kOutOfMemory };

// The covering (or, with interior, the interior covering) of polygon by coverer, into cells,
// identical to coverer->GetCovering(polygon) (GetInteriorCovering) when kCovered is returned.
// Otherwise *cells is unspecified: kOverBudget (more tests than budget.max_tests),
// kInterrupted (budget.interrupt said stop), kOutOfMemory (an allocation failed). *tests (may be
// null) is set to the number of tests counted. Never throws, so that it can run in the pool's
// threads.
CoverStatus cover(S2RegionCoverer* coverer, const S2Polygon& polygon, bool interior,
                  const CoverBudget& budget, std::vector<S2CellId>* cells,
                  std::int64_t* tests = nullptr) noexcept;

// S2CellId::ToToken(id) into out[0..16) (not terminated); returns its length (1 to 16), or 0 if
// the string could not be allocated. Never throws.
std::size_t cell_token(std::uint64_t id, char* out) noexcept;

// S2CellId::FromToken on (data, size) characters, for callers without absl::string_view.
// Returns S2CellId::None() (id 0) for a malformed token, as S2 does, and for the token "X".
inline S2CellId cell_from_token(const char* data, std::size_t size) noexcept {
  return S2CellId::FromToken(absl::string_view(data, size));
}

// ---------------------------------------------------------------------------------------------
// Parallel drivers of hotloop.geo's loops. Each splits its items over hotloop::parallel_for
// (threads.hpp): max_threads is the caller's thread count (Python's effective_n_threads); the
// results never depend on it. None throws and none waits for a helper thread that has not
// started, so they are safe in a child process after fork() and on a busy machine.

// out[i] = S2CellId(S2LatLng::FromDegrees(lat[i], lon[i])).parent(level).id(), id for id, or 0
// where !valid_latlng(lat[i], lon[i]) (those are counted, not converted).
//   lat, lon  read: n degrees each.
//   out       written: n ids.
// level: 0..30. Returns the number of invalid points.
std::int64_t latlng_to_cells(const double* lat, const double* lon, std::int64_t n, int level,
                             std::uint64_t* out, int max_threads) noexcept;

// lat[i], lon[i] = the centre of cell ids[i] in degrees (S2CellId::ToLatLng).
//   ids       read: n valid cell ids (S2CellId::is_valid(); the caller checks).
//   lat, lon  written: n values each.
void cells_to_latlng(const std::uint64_t* ids, std::int64_t n, double* lat, double* lon,
                     int max_threads) noexcept;

// out[i] = S2CellId(ids[i]).parent(level).id().
//   ids  read: n valid cell ids whose levels are >= level (the caller checks).
//   out  written: n ids (may alias ids).
void cell_parents(const std::uint64_t* ids, std::int64_t n, int level, std::uint64_t* out,
                  int max_threads) noexcept;

// S2CellId(ids[i]).ToToken() into out[16 * i, 16 * i + 16), padded with NUL bytes.
//   ids  read: n values (any 64-bit value has a token).
//   out  written: 16 * n bytes.
// Returns false if a string could not be allocated (out is then incomplete).
bool cells_to_tokens(const std::uint64_t* ids, std::int64_t n, char* out, int max_threads) noexcept;

// out[i] = S2CellId::FromToken(token i), token i being tokens[width * i, width * i + width) up to
// its first NUL byte.
//   tokens  read: width * n bytes.
//   out     written: n ids.
// Returns the index of the first malformed token (empty, longer than 16 characters, not
// hexadecimal; "X" or "x" is id 0), or -1 if there is none.
std::int64_t tokens_to_cells(const char* tokens, std::int64_t width, std::int64_t n,
                             std::uint64_t* out, int max_threads) noexcept;

// Where cover_geometries stopped: the first geometry (in input order) that could not be covered.
struct CoverFailure {
  std::int64_t geometry = -1;  // -1: every geometry was covered
  std::int64_t ring = -1;      // the ring, counted from the geometry's first one; -1: not one ring
  bool out_of_memory = false;
  bool over_budget = false;  // the geometry's covering needed more tests than budget allows
  bool interrupted = false;  // budget.interrupt said stop (geometry is then -1)
  std::string message;
};

// The coverings of many geometries, each a polygon given as flat rings (GeoJSON's order):
//   lonlat      read: (longitude, latitude) pairs in degrees; ring r is the vertices
//               [ring_start[r], ring_start[r + 1]).
//   ring_start  read: n_rings + 1 offsets, non-decreasing.
//   shell_of    read: n_rings entries; shell_of[r] is the index of ring r's shell counted from
//               its geometry's first ring (make_polygon's shell_of).
//   geom_start  read: n_geoms + 1 offsets into the rings; geometry g owns
//               [geom_start[g], geom_start[g + 1]).
//   cells       written: resized to n_geoms; (*cells)[g] is geometry g's covering (interior
//               covering with interior), in S2's order.
//   failure     written: the first geometry that make_loop, make_polygon or check_min_level
//               refused, or whose covering needed more tests than the budget allows (later
//               ones may not have been covered); or out_of_memory; or interrupted (the
//               coverings are then incomplete).
// Geometries are handed out one at a time (a triangle and a coastline differ 1000-fold in cost),
// each with its own S2RegionCoverer (one reused for every geometry was no faster:
// GeoCoverGeometries against GeoCoverSteps in cxx/bench/geo_benchmark). Returns
// failure->geometry < 0 && !failure->out_of_memory && !failure->interrupted.
bool cover_geometries(const double* lonlat, const std::int64_t* ring_start,
                      const std::int64_t* shell_of, const std::int64_t* geom_start,
                      std::int64_t n_geoms, const S2RegionCoverer::Options& options, bool interior,
                      int max_threads, std::vector<std::vector<S2CellId>>* cells,
                      CoverFailure* failure, const CoverBudget& budget = {}) noexcept;

}  // namespace hotloop::geo
