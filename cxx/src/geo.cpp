// Validation in front of S2: see cxx/include/hotloop/geo.hpp for the rules.

#include "hotloop/geo.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>  // its ios_base::Init sets up std::cerr for S2's logging
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hotloop/threads.hpp"
#include "s2/s2cell.h"
#include "s2/s2debug.h"
#include "s2/s2error.h"
#include "s2/s2latlng.h"
#include "s2/s2shape_index_region.h"

namespace hotloop::geo {
namespace {

std::string describe_vertex(std::int64_t i, double lon, double lat) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "vertex %lld has (lon, lat) = (%.17g, %.17g)",
                static_cast<long long>(i), lon, lat);
  return buf;
}

}  // namespace

std::unique_ptr<S2Loop> make_loop(const double* lonlat, std::int64_t n_vertices,
                                  std::string* error) noexcept {
  try {
    std::vector<S2Point> points;
    points.reserve(static_cast<std::size_t>(n_vertices > 0 ? n_vertices : 0));
    for (std::int64_t i = 0; i < n_vertices; ++i) {
      const double lon = lonlat[2 * i], lat = lonlat[2 * i + 1];
      if (!valid_latlng(lat, lon)) {
        *error = describe_vertex(i, lon, lat) +
                 ": the latitude must lie in [-90, 90] and the longitude in [-180, 180]";
        return nullptr;
      }
      const S2Point p = S2LatLng::FromDegrees(lat, lon).ToPoint();
      // Repeated positions are common in real data (and GeoJSON closes every ring by
      // repeating the first one); S2 calls them degenerate edges, so drop them here.
      if (points.empty() || points.back() != p) points.push_back(p);
    }
    while (points.size() > 1 && points.front() == points.back()) points.pop_back();
    if (points.size() < 3) {
      *error = "a ring needs at least 3 distinct vertices, got " + std::to_string(points.size());
      return nullptr;
    }
    // S2Loop's own checks without an index (FindValidationErrorNoIndex is private to S2):
    // no vertex twice, no edge between antipodal points. Crossing edges are found by
    // make_polygon, in the index that the covering needs anyway.
    const std::size_t n = points.size();
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return points[a] < points[b] || (points[a] == points[b] && a < b);
    });
    for (std::size_t k = 1; k < n; ++k) {
      if (points[order[k]] == points[order[k - 1]]) {
        *error = "Duplicate vertices: " + std::to_string(order[k - 1]) + " and " +
                 std::to_string(order[k]);
        return nullptr;
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (points[i] == -points[(i + 1) % n]) {
        *error = "Vertices " + std::to_string(i) + " and " + std::to_string((i + 1) % n) +
                 " are antipodal";
        return nullptr;
      }
    }
    // DISABLE: with --s2debug on, S2 would ABSL_CHECK the loop's validity (and abort).
    auto loop = std::make_unique<S2Loop>(points, S2Debug::DISABLE);
    return loop;
  } catch (const std::bad_alloc&) {
    *error = "out of memory";
    return nullptr;
  }
}

namespace {

std::string ring(std::size_t i) { return "ring " + std::to_string(i); }

// Why loops (in input order, each passed make_loop and Normalize) cannot form a polygon with
// these roles, in the input's terms; empty if the fault lies elsewhere. Slow (an index per
// loop, all pairs of loops), so it only runs once make_polygon has found a fault.
std::string explain(const std::vector<std::unique_ptr<S2Loop>>& loops,
                    const std::int64_t* shell_of) {
  const std::size_t n = loops.size();
  for (std::size_t i = 0; i < n; ++i) {
    S2Error why;
    if (loops[i]->FindValidationError(&why)) return ring(i) + ": " + std::string(why.message());
  }
  // Boolean operations of valid loops are exact, crossing or not.
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = static_cast<std::size_t>(shell_of[i]);
    if (s != i && !loops[s]->Contains(*loops[i])) {
      return ring(i) + " is a hole of " + ring(s) + " but does not lie inside it";
    }
    for (std::size_t j = 0; j < i; ++j) {
      const S2Loop& a = *loops[i];
      const S2Loop& b = *loops[j];
      if (a.Intersects(b) && !a.Contains(b) && !b.Contains(a)) {
        return "rings " + std::to_string(j) + " and " + std::to_string(i) +
               " cross or partly overlap";
      }
    }
  }
  return "";
}

}  // namespace

std::unique_ptr<S2Polygon> make_polygon(std::vector<std::unique_ptr<S2Loop>>* loops,
                                        const std::int64_t* shell_of, std::string* error) noexcept {
  try {
    std::vector<std::unique_ptr<S2Loop>> owned = std::move(*loops);
    loops->clear();
    const std::size_t n = owned.size();
    std::unordered_map<const S2Loop*, std::size_t> input_index;
    for (std::size_t i = 0; i < n; ++i) input_index.emplace(owned[i].get(), i);

    // The fast path: nest the loops by containment and let S2 validate the polygon in one
    // index (crossing edges within and between loops), the index its covering then reuses.
    // With S2Debug::DISABLE and S2's DCHECKs compiled out (NDEBUG) nothing here can abort on
    // crossing loops; their nesting is then meaningless, and explain() says what is wrong.
    auto polygon = std::make_unique<S2Polygon>();
    polygon->set_s2debug_override(S2Debug::DISABLE);
    polygon->InitNested(std::move(owned));
    S2Error why;
    if (polygon->FindValidationError(&why)) {
      std::vector<std::unique_ptr<S2Loop>> back(n);
      for (auto& loop : polygon->Release()) {
        const std::size_t i = input_index.at(loop.get());
        back[i] = std::move(loop);
      }
      const std::string reason = explain(back, shell_of);
      *error = reason.empty() ? std::string(why.message()) : reason;
      return nullptr;
    }
    // Containment decided which loops are holes; it must agree with the rings' roles: a hole
    // directly inside its own shell, a shell at even depth (an island in a lake is fine).
    for (int k = 0; k < polygon->num_loops(); ++k) {
      const std::size_t i = input_index.at(polygon->loop(k));
      const std::size_t s = static_cast<std::size_t>(shell_of[i]);
      if (s == i) {
        if (polygon->loop(k)->is_hole()) {
          *error = ring(i) +
                   " is the shell of a polygon that lies inside another polygon's shell "
                   "(polygons of one geometry must not overlap)";
          return nullptr;
        }
        continue;
      }
      const int parent = polygon->GetParent(k);
      if (parent >= 0 && input_index.at(polygon->loop(parent)) == s) continue;
      if (parent >= 0 && polygon->loop(parent)->is_hole()) {
        *error = ring(i) + " is a hole but lies inside another hole of the polygon";
      } else {
        *error = ring(i) + " is a hole of " + ring(s) + " but does not lie inside it";
      }
      return nullptr;
    }
    return polygon;
  } catch (const std::bad_alloc&) {
    *error = "out of memory";
    return nullptr;
  } catch (const std::out_of_range&) {
    *error = "internal error: S2Polygon returned a loop it was not given";
    return nullptr;
  }
}

namespace {

// The region S2RegionCoverer covers in place of an S2Polygon: the same answers, a count of the
// tests, a way to stop (see CoverBudget), and each candidate cell's two tests for the price of
// one.
//
// The answers. S2Polygon answers MayIntersect and Contains(S2Cell) through an
// S2ShapeIndexRegion on its index, and GetCellUnionBound too (s2polygon.cc); this class asks
// one S2ShapeIndexRegion on the same index, and for GetCellUnionBound it asks it alone. The
// coverer tests a new candidate cell with MayIntersect and then, if it may intersect, with
// Contains (S2RegionCoverer::NewCandidate). S2ShapeIndexRegion (s2shape_index_region.h, S2 0.14)
// answers both from the same three steps: locate the cell in the index (DISJOINT, SUBDIVIDED
// into several index cells, or INDEXED: inside one index cell); for INDEXED, whether an edge
// of the polygon in that index cell crosses the (padded) cell, and if none does, whether the
// polygon contains the cell's centre. MayIntersect is (edge or centre), true when SUBDIVIDED;
// Contains is (no edge and centre), false when SUBDIVIDED. Its VisitIntersectingShapes
// computes both in one pass (for an INDEXED cell: the polygon is visited iff MayIntersect, with
// contains_target == Contains), so MayIntersect here locates the cell (DISJOINT and SUBDIVIDED
// are decided by that alone), visits, and keeps Contains for the call that follows on the same
// cell. On 1000 of the Python suite's polygons (32 cells, levels to 20) the coverer makes
// 252,000 MayIntersect calls and 154,000 Contains calls, each on the cell it has just asked
// MayIntersect about; the edge and centre tests are half of the covering's time. The coverings
// took 198 ms (CPU) through S2Polygon and 169 ms here (GeoCoverSteps 2 and 4, less 1). The
// answers stay S2's own: GeoCover in cxx/tests/geo_test.cc compares whole coverings with the
// coverer's on the S2Polygon for every kind of option, and tests/test_geo.py with the official
// binding's.
class CoverRegion final : public S2Region {
 public:
  // max_tests: a count, or CoverBudget::kNoMaxTests.
  CoverRegion(const S2Polygon& polygon, const S2RegionCoverer::Options& options, bool interior,
              std::int64_t max_tests, Interrupt* interrupt) noexcept
      : polygon_(polygon),
        region_(&polygon.index()),
        iter_(&polygon.index()),
        min_level_(options.min_level()),
        max_level_(options.max_level()),
        level_mod_(options.level_mod()),
        interior_(interior),
        max_tests_(max_tests),
        ticker_(interrupt, kPollTests) {}

  // S2Region requires a copy; the coverer never asks for one. The polygon is the same region.
  S2Region* Clone() const override { return polygon_.Clone(); }
  S2Cap GetCapBound() const override { return polygon_.GetCapBound(); }
  S2LatLngRect GetRectBound() const override { return polygon_.GetRectBound(); }
  void GetCellUnionBound(std::vector<S2CellId>* cell_ids) const override {
    region_.GetCellUnionBound(cell_ids);
  }
  bool MayIntersect(const S2Cell& cell) const override {
    if (!charge(cell)) return false;
    if (!contains_follows(cell.level())) return region_.MayIntersect(cell);
    switch (iter_.Locate(cell.id())) {
      case S2CellRelation::DISJOINT:
        return false;
      case S2CellRelation::SUBDIVIDED:
        remember(cell.id(), false);
        return true;
      case S2CellRelation::INDEXED:
        break;
    }
    bool intersects = false, contains = false;
    // One shape (the polygon) in the index: visited at most once.
    region_.VisitIntersectingShapes(cell, [&](const S2Shape*, bool contains_target) {
      intersects = true;
      contains = contains_target;
      return false;
    });
    remember(cell.id(), contains);
    return intersects;
  }
  bool Contains(const S2Cell& cell) const override {
    if (!charge(cell)) return false;
    if (cell.id() == known_) return known_contains_;
    return region_.Contains(cell);
  }
  bool Contains(const S2Point& p) const override { return polygon_.Contains(p); }

  CoverStatus status() const noexcept { return status_; }
  std::int64_t tests() const noexcept { return tests_; }

 private:
  // Whether the coverer asks Contains after a MayIntersect of a cell of this level that says
  // yes (S2RegionCoverer::NewCandidate): for its candidates, whose levels are min_level plus a
  // multiple of level_mod, except in a covering that would add no level below them. Cells it
  // tests on the way to a level_mod-deeper candidate, or above min_level, get MayIntersect only.
  bool contains_follows(int level) const noexcept {
    if (level < min_level_ || (level - min_level_) % level_mod_ != 0) return false;
    return interior_ || level + level_mod_ <= max_level_;
  }

  void remember(S2CellId id, bool contains) const noexcept {
    known_ = id;
    known_contains_ = contains;
  }

  // Whether the test of `cell` may go ahead. Once the budget is spent or the interrupt fired,
  // every cell is disjoint from the region (and contains none of it): the coverer makes no new
  // candidates, so its loop ends after the few it holds.
  bool charge(const S2Cell& cell) const noexcept {
    if (status_ != CoverStatus::kCovered) return false;
    if (cell.level() > min_level_ && ++tests_ > max_tests_ && max_tests_ >= 0) {
      status_ = CoverStatus::kOverBudget;
      return false;
    }
    if (ticker_.tick()) {
      status_ = CoverStatus::kInterrupted;
      return false;
    }
    return true;
  }

  const S2Polygon& polygon_;
  // S2Region's methods are const; the coverer calls them from one thread. S2ShapeIndexRegion's
  // VisitIntersectingShapes is not const (it moves its iterator, as its const methods do).
  mutable S2ShapeIndexRegion<MutableS2ShapeIndex> region_;
  mutable MutableS2ShapeIndex::Iterator iter_;
  const int min_level_, max_level_, level_mod_;
  const bool interior_;
  const std::int64_t max_tests_;
  mutable InterruptTicker ticker_;
  mutable std::int64_t tests_ = 0;
  mutable CoverStatus status_ = CoverStatus::kCovered;
  mutable S2CellId known_ = S2CellId::None();  // the last cell MayIntersect decided Contains of
  mutable bool known_contains_ = false;
};

}  // namespace

CoverStatus cover(S2RegionCoverer* coverer, const S2Polygon& polygon, bool interior,
                  const CoverBudget& budget, std::vector<S2CellId>* cells,
                  std::int64_t* tests) noexcept {
  try {
    const S2RegionCoverer::Options& options = coverer->options();
    const std::int64_t max_tests = budget.max_tests == CoverBudget::kAutoMaxTests
                                       ? auto_max_tests(options.max_cells())
                                       : budget.max_tests;
    const CoverRegion region(polygon, options, interior, max_tests, budget.interrupt);
    if (interior) {
      coverer->GetInteriorCovering(region, cells);
    } else {
      coverer->GetCovering(region, cells);
    }
    if (tests != nullptr) *tests = region.tests();
    return region.status();
  } catch (const std::bad_alloc&) {
    return CoverStatus::kOutOfMemory;
  }
}

std::size_t cell_token(std::uint64_t id, char* out) noexcept {
  try {
    const std::string token = S2CellId(id).ToToken();
    std::memcpy(out, token.data(), token.size());
    return token.size();
  } catch (const std::bad_alloc&) {
    return 0;
  }
}

bool check_min_level(const S2Polygon& polygon, int min_level, std::string* error) noexcept {
  // The whole sphere (4 pi) holds 6 * 4**min_level cells: no polygon can force more.
  if (S2Cell::AverageArea(min_level) * kMaxForcedCells >= 4 * M_PI) return true;
  const double cells = polygon.GetArea() / S2Cell::AverageArea(min_level);
  if (cells <= kMaxForcedCells) return true;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "min_level=%d would force about %.3g cells into its covering (the limit is %.3g); "
                "use a smaller min_level",
                min_level, cells, kMaxForcedCells);
  *error = buf;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Parallel drivers

namespace {

// Items per parallel_for chunk: about kTargetChunkNanoseconds of work each (threads.hpp), from
// the per-item costs that cxx/bench/geo_benchmark measures on one core of the 2-vCPU VM.
constexpr std::ptrdiff_t grain_for(double nanoseconds_per_item) {
  return static_cast<std::ptrdiff_t>(kTargetChunkNanoseconds / nanoseconds_per_item) + 1;
}
constexpr std::ptrdiff_t kLatLngGrain = grain_for(100);  // two sincos, the Hilbert walk
constexpr std::ptrdiff_t kCentreGrain = grain_for(100);  // two atan2, a sqrt
constexpr std::ptrdiff_t kParentGrain = grain_for(1);    // a mask
constexpr std::ptrdiff_t kTokenGrain = grain_for(50);    // a std::string each way

}  // namespace

std::int64_t latlng_to_cells(const double* lat, const double* lon, std::int64_t n, int level,
                             std::uint64_t* out, int max_threads) noexcept {
  std::atomic<std::int64_t> bad{0};
  parallel_for(n, max_threads, kLatLngGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    std::int64_t chunk_bad = 0;
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      // S2's own path, nothing re-derived: the ids equal the library's bit for bit. Measured
      // alternatives (S2's steps over blocks of 64 points so that consecutive points' latencies
      // overlap; a branch-free face and (s, t) selection) were no faster: two sincos take half
      // the time and the Hilbert-curve walk most of the rest.
      if (valid_latlng(lat[i], lon[i])) {
        out[i] = S2CellId(S2LatLng::FromDegrees(lat[i], lon[i])).parent(level).id();
      } else {
        out[i] = 0;
        ++chunk_bad;
      }
    }
    if (chunk_bad) bad.fetch_add(chunk_bad, std::memory_order_relaxed);
  });
  return bad.load();
}

void cells_to_latlng(const std::uint64_t* ids, std::int64_t n, double* lat, double* lon,
                     int max_threads) noexcept {
  parallel_for(n, max_threads, kCentreGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      const S2LatLng ll = S2CellId(ids[i]).ToLatLng();
      lat[i] = ll.lat().degrees();
      lon[i] = ll.lng().degrees();
    }
  });
}

void cell_parents(const std::uint64_t* ids, std::int64_t n, int level, std::uint64_t* out,
                  int max_threads) noexcept {
  parallel_for(n, max_threads, kParentGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) out[i] = S2CellId(ids[i]).parent(level).id();
  });
}

bool cells_to_tokens(const std::uint64_t* ids, std::int64_t n, char* out,
                     int max_threads) noexcept {
  std::atomic<bool> failed{false};
  parallel_for(n, max_threads, kTokenGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      char* slot = out + 16 * i;
      const std::size_t size = cell_token(ids[i], slot);
      if (size == 0) failed.store(true, std::memory_order_relaxed);
      std::memset(slot + size, 0, 16 - size);
    }
  });
  return !failed.load();
}

std::int64_t tokens_to_cells(const char* tokens, std::int64_t width, std::int64_t n,
                             std::uint64_t* out, int max_threads) noexcept {
  // The smallest index of a malformed token: chunks run in any order.
  std::atomic<std::int64_t> first_bad{n};
  parallel_for(n, max_threads, kTokenGrain, [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      const char* p = tokens + width * i;
      const void* nul = std::memchr(p, 0, static_cast<std::size_t>(width));
      const std::size_t size = nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - p)
                                   : static_cast<std::size_t>(width);
      const std::uint64_t id = cell_from_token(p, size).id();
      out[i] = id;
      // S2 answers 0 both for its token "X" and for malformed text.
      if (id == 0 && !(size == 1 && (p[0] == 'X' || p[0] == 'x'))) {
        std::int64_t seen = first_bad.load(std::memory_order_relaxed);
        while (i < seen && !first_bad.compare_exchange_weak(seen, i)) {
        }
      }
    }
  });
  const std::int64_t bad = first_bad.load();
  return bad < n ? bad : -1;
}

namespace {

// Geometry g's covering into *cells, or false with *failure filled (failure->geometry unset).
bool cover_one(const double* lonlat, const std::int64_t* ring_start, const std::int64_t* shell_of,
               std::int64_t r0, std::int64_t r1, S2RegionCoverer* coverer, bool interior,
               const CoverBudget& budget, std::vector<S2CellId>* cells,
               CoverFailure* failure) noexcept {
  try {
    std::vector<std::unique_ptr<S2Loop>> loops;
    loops.reserve(static_cast<std::size_t>(r1 - r0));
    for (std::int64_t r = r0; r < r1; ++r) {
      auto loop = make_loop(lonlat + 2 * ring_start[r], ring_start[r + 1] - ring_start[r],
                            &failure->message);
      if (!loop) {
        failure->ring = r - r0;
        return false;
      }
      // The orientation rule: each ring bounds the smaller region it separates.
      loop->Normalize();
      loops.push_back(std::move(loop));
    }
    std::unique_ptr<S2Polygon> polygon = make_polygon(&loops, shell_of + r0, &failure->message);
    if (!polygon) return false;
    if (!check_min_level(*polygon, coverer->options().min_level(), &failure->message)) {
      return false;
    }
    switch (cover(coverer, *polygon, interior, budget, cells)) {
      case CoverStatus::kCovered:
        return true;
      case CoverStatus::kOverBudget:
        failure->over_budget = true;
        failure->message = "its covering needs more cell tests than its budget allows";
        return false;
      case CoverStatus::kInterrupted:
        failure->interrupted = true;
        failure->message = "interrupted";
        return false;
      case CoverStatus::kOutOfMemory:
        break;
    }
    failure->out_of_memory = true;
    failure->message = "out of memory";
    return false;
  } catch (const std::bad_alloc&) {
    failure->out_of_memory = true;
    failure->message = "out of memory";
    return false;
  }
}

}  // namespace

bool cover_geometries(const double* lonlat, const std::int64_t* ring_start,
                      const std::int64_t* shell_of, const std::int64_t* geom_start,
                      std::int64_t n_geoms, const S2RegionCoverer::Options& options, bool interior,
                      int max_threads, std::vector<std::vector<S2CellId>>* cells,
                      CoverFailure* failure, const CoverBudget& budget) noexcept {
  *failure = CoverFailure();
  try {
    cells->assign(static_cast<std::size_t>(n_geoms), {});
  } catch (const std::bad_alloc&) {
    failure->out_of_memory = true;
    failure->message = "out of memory";
    return false;
  }
  // The first failing geometry in input order, whichever thread finds which failure first;
  // geometries after a known failure are skipped, and all of them after an interrupt.
  std::atomic<std::int64_t> first_failure{n_geoms};
  std::atomic<bool> interrupted{false};
  std::mutex lock;
  // One chunk per geometry: the cheapest take microseconds, and cost varies a thousandfold.
  parallel_for(
      n_geoms, max_threads, 1,
      [&](std::ptrdiff_t begin, std::ptrdiff_t end) {
        S2RegionCoverer coverer(options);  // per chunk: its scratch state is not shareable
        for (std::ptrdiff_t g = begin; g < end; ++g) {
          if (g > first_failure.load(std::memory_order_relaxed)) return;
          if (interrupted.load(std::memory_order_relaxed) ||
              (budget.interrupt != nullptr && budget.interrupt->poll())) {
            interrupted.store(true, std::memory_order_relaxed);
            return;
          }
          CoverFailure here;
          if (cover_one(lonlat, ring_start, shell_of, geom_start[g], geom_start[g + 1], &coverer,
                        interior, budget, &(*cells)[static_cast<std::size_t>(g)], &here)) {
            continue;
          }
          if (here.interrupted) {
            interrupted.store(true, std::memory_order_relaxed);
            return;
          }
          std::lock_guard<std::mutex> guard(lock);
          if (g < first_failure.load()) {
            first_failure.store(g);
            here.geometry = g;
            here.out_of_memory = here.out_of_memory || here.message == "out of memory";
            *failure = std::move(here);
          }
        }
      },
      budget.interrupt);
  if (interrupted.load()) {
    *failure = CoverFailure();
    failure->interrupted = true;
    failure->message = "interrupted";
    return false;
  }
  return failure->geometry < 0 && !failure->out_of_memory;
}

}  // namespace hotloop::geo

// The wheel's static libraries were compiled by GCC 14, whose <iostream> makes every object that
// includes it refer to std::ios_base_library_init(), an empty function that libstdc++ 13 added
// only to pin that version (GLIBCXX_3.4.32); the streams themselves are set up by libstdc++ and by
// <iostream>'s static initialiser (included above). Debian 12's libstdc++ (GCC 12) lacks the
// symbol, so it is defined here, weak, so that a newer libstdc++'s own definition wins.
namespace std {
__attribute__((weak)) void ios_base_library_init() {}
}  // namespace std
