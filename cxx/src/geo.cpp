// Validation in front of S2: see cxx/include/hotloop/geo.hpp for the rules.

#include "hotloop/geo.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>  // its ios_base::Init sets up std::cerr for S2's logging
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "s2/s2cell.h"
#include "s2/s2debug.h"
#include "s2/s2error.h"
#include "s2/s2latlng.h"

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

bool cover(S2RegionCoverer* coverer, const S2Polygon& polygon, bool interior,
           std::vector<S2CellId>* cells, std::string* error) noexcept {
  try {
    if (interior) {
      coverer->GetInteriorCovering(polygon, cells);
    } else {
      coverer->GetCovering(polygon, cells);
    }
    return true;
  } catch (const std::bad_alloc&) {
    *error = "out of memory";
    return false;
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

}  // namespace hotloop::geo

// The wheel's static libraries were compiled by GCC 14, whose <iostream> makes every object that
// includes it refer to std::ios_base_library_init(), an empty function that libstdc++ 13 added
// only to pin that version (GLIBCXX_3.4.32); the streams themselves are set up by libstdc++ and by
// <iostream>'s static initialiser (included above). Debian 12's libstdc++ (GCC 12) lacks the
// symbol, so it is defined here, weak, so that a newer libstdc++'s own definition wins.
namespace std {
__attribute__((weak)) void ios_base_library_init() {}
}  // namespace std
