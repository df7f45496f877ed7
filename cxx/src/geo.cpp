// Validation in front of S2: see cxx/include/hotloop/geo.hpp for the rules.

#include "hotloop/geo.hpp"

#include <cstdio>
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
    // DISABLE: S2 would otherwise S2_CHECK the loop's validity (and abort) in debug builds.
    auto loop = std::make_unique<S2Loop>(points, S2Debug::DISABLE);
    S2Error why;
    if (loop->FindValidationError(&why)) {
      *error = std::string(why.message());
      return nullptr;
    }
    return loop;
  } catch (const std::bad_alloc&) {
    *error = "out of memory";
    return nullptr;
  }
}

std::unique_ptr<S2Polygon> make_polygon(std::vector<std::unique_ptr<S2Loop>>* loops,
                                        const std::int64_t* shell_of, std::string* error) noexcept {
  try {
    std::vector<std::unique_ptr<S2Loop>> owned = std::move(*loops);
    loops->clear();
    const std::size_t n = owned.size();
    // InitNested assumes loops that never cross; find those that do first, with S2's own
    // boolean predicates (exact for valid loops), so InitNested never sees them.
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t s = static_cast<std::size_t>(shell_of[i]);
      if (s != i && !owned[s]->Contains(*owned[i])) {
        *error = "ring " + std::to_string(i) + " is a hole of ring " + std::to_string(s) +
                 " but does not lie inside it";
        return nullptr;
      }
      for (std::size_t j = 0; j < i; ++j) {
        const S2Loop& a = *owned[i];
        const S2Loop& b = *owned[j];
        if (a.Intersects(b) && !a.Contains(b) && !b.Contains(a)) {
          *error = "rings " + std::to_string(j) + " and " + std::to_string(i) +
                   " cross or partly overlap";
          return nullptr;
        }
      }
    }
    std::unordered_map<const S2Loop*, std::size_t> input_index;
    for (std::size_t i = 0; i < n; ++i) input_index.emplace(owned[i].get(), i);

    auto polygon = std::make_unique<S2Polygon>();
    polygon->set_s2debug_override(S2Debug::DISABLE);
    polygon->InitNested(std::move(owned));
    S2Error why;
    if (polygon->FindValidationError(&why)) {
      *error = std::string(why.message());
      return nullptr;
    }
    // Containment decided which loops are holes; it must agree with the rings' roles.
    for (int k = 0; k < polygon->num_loops(); ++k) {
      const S2Loop* loop = polygon->loop(k);
      const std::size_t i = input_index.at(loop);
      const bool declared_hole = static_cast<std::size_t>(shell_of[i]) != i;
      if (loop->is_hole() != declared_hole) {
        *error = declared_hole ? "ring " + std::to_string(i) +
                                     " is a hole but lies inside another hole of the polygon"
                               : "ring " + std::to_string(i) +
                                     " is the shell of a polygon that lies inside another "
                                     "polygon's shell (polygons of one geometry must not overlap)";
        return nullptr;
      }
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
