// Google Benchmark programs for hotloop::geo: the loops of hotloop.geo without Python, so the
// wrapper's share of the time can be read off (Python figures: benchmarks/suites/geo.py).
//
//   build/cxx/geo_benchmark --benchmark_min_time=0.1
//
// GeoLatLngToCell/GeoCellToLatLng: items are points (ns/point = 1e9 / items_per_second).
// GeoCoverPolygons/<max_cells>: items are polygons, each a fixed-seed 16-gon of radius 0.05 to
// 2 degrees, built and validated by make_loop/make_polygon, then covered.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "hotloop/geo.hpp"
#include "s2/s2error.h"
#include "s2/s2latlng.h"
#include "s2/s2region_coverer.h"

namespace {

constexpr std::uint64_t kSeed = 20240601;
constexpr double kPi = 3.14159265358979323846;

// n (lat, lon) points, uniform on the sphere.
const std::vector<double>& points() {
  static const std::vector<double> p = [] {
    std::mt19937_64 rng(kSeed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::vector<double> v(2 * 1000000);
    for (std::size_t i = 0; i < v.size(); i += 2) {
      v[i] = std::asin(u(rng)) * 180.0 / kPi;
      v[i + 1] = 180.0 * u(rng);
    }
    return v;
  }();
  return p;
}

// Rings of 16 (lon, lat) vertices, one per polygon, closed as GeoJSON writes them.
const std::vector<double>& rings() {
  static const std::vector<double> r = [] {
    std::mt19937_64 rng(kSeed + 1);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    std::vector<double> v;
    for (int k = 0; k < 1000; ++k) {
      const double lat = 140.0 * u(rng) - 70.0, lon = 360.0 * u(rng) - 180.0;
      const double radius = 0.05 + 1.95 * u(rng);
      for (int j = 0; j <= 16; ++j) {
        const double a = 2 * kPi * (j % 16) / 16;
        double x = lon + radius * std::cos(a) / std::cos(lat * kPi / 180.0);
        if (x > 180) x -= 360;
        if (x < -180) x += 360;
        v.push_back(x);
        v.push_back(lat + radius * std::sin(a));
      }
    }
    return v;
  }();
  return r;
}

void GeoLatLngToCell(benchmark::State& state) {
  const std::vector<double>& p = points();
  const std::size_t n = p.size() / 2;
  std::vector<std::uint64_t> out(n);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = S2CellId(S2LatLng::FromDegrees(p[2 * i], p[2 * i + 1])).id();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(GeoLatLngToCell)->Unit(benchmark::kMillisecond);

// hotloop.geo.latlng_to_cell's driver on one thread (the same ids as GeoLatLngToCell's loop).
void GeoLatLngToCells(benchmark::State& state) {
  const std::vector<double>& p = points();
  const std::size_t n = p.size() / 2;
  std::vector<double> lat(n), lon(n);
  for (std::size_t i = 0; i < n; ++i) {
    lat[i] = p[2 * i];
    lon[i] = p[2 * i + 1];
  }
  std::vector<std::uint64_t> out(n);
  for (auto _ : state) {
    const std::int64_t bad =
        hotloop::geo::latlng_to_cells(lat.data(), lon.data(), static_cast<std::int64_t>(n), 30,
                                      out.data(), static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(bad);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(GeoLatLngToCells)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void GeoCellToLatLng(benchmark::State& state) {
  const std::vector<double>& p = points();
  const std::size_t n = p.size() / 2;
  std::vector<std::uint64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    ids[i] = S2CellId(S2LatLng::FromDegrees(p[2 * i], p[2 * i + 1])).id();
  }
  std::vector<double> out(2 * n);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) {
      const S2LatLng ll = S2CellId(ids[i]).ToLatLng();
      out[2 * i] = ll.lat().degrees();
      out[2 * i + 1] = ll.lng().degrees();
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(GeoCellToLatLng)->Unit(benchmark::kMillisecond);

void GeoCoverPolygons(benchmark::State& state) {
  const std::vector<double>& r = rings();
  const std::int64_t n_polygons = static_cast<std::int64_t>(r.size() / 34);
  S2RegionCoverer::Options options;
  options.set_max_cells(static_cast<int>(state.range(0)));
  S2RegionCoverer coverer(options);
  std::vector<S2CellId> cells;
  std::int64_t n_cells = 0;
  const std::int64_t shell_of[] = {0};
  for (auto _ : state) {
    n_cells = 0;
    for (std::int64_t k = 0; k < n_polygons; ++k) {
      std::string error;
      std::vector<std::unique_ptr<S2Loop>> loops;
      loops.push_back(hotloop::geo::make_loop(&r[34 * k], 17, &error));
      if (!loops.back()) {
        state.SkipWithError(error.c_str());
        return;
      }
      loops.back()->Normalize();
      auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
      coverer.GetCovering(*polygon, &cells);
      n_cells += static_cast<std::int64_t>(cells.size());
    }
  }
  state.SetItemsProcessed(state.iterations() * n_polygons);
  state.counters["cells_per_polygon"] = static_cast<double>(n_cells) / n_polygons;
}
BENCHMARK(GeoCoverPolygons)->Arg(8)->Arg(64)->Arg(4096)->Unit(benchmark::kMillisecond);

// Star-shaped rings like benchmarks/suites/geo.py's polygons: 8 to 32 vertices at 0.5 to 1 times
// a radius of 0.005 to 0.5 degrees, closed as GeoJSON writes them. Flat (lon, lat) pairs;
// polygon k is [start[k], start[k + 1]) in vertices.
struct StarRings {
  std::vector<double> lonlat;
  std::vector<std::int64_t> start{0};
};

const StarRings& star_rings() {
  static const StarRings r = [] {
    StarRings out;
    std::mt19937_64 rng(kSeed + 2);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int k = 0; k < 1000; ++k) {
      const double lon0 = 358 * u(rng) - 179, lat0 = 140 * u(rng) - 70;
      const double radius = std::pow(10.0, -2 * u(rng)) / 2;
      const int n = 8 + static_cast<int>(25 * u(rng));
      const double scale = 1 / std::max(std::cos(lat0 * kPi / 180), 0.2);
      for (int j = 0; j <= n; ++j) {
        const double a = 2 * kPi * (j % n) / n, r = radius * (0.5 + 0.5 * u(rng));
        out.lonlat.push_back(lon0 + scale * r * std::cos(a));
        out.lonlat.push_back(lat0 + r * std::sin(a));
      }
      out.lonlat[out.lonlat.size() - 2] = out.lonlat[2 * out.start.back()];
      out.lonlat[out.lonlat.size() - 1] = out.lonlat[2 * out.start.back() + 1];
      out.start.push_back(static_cast<std::int64_t>(out.lonlat.size() / 2));
    }
    return out;
  }();
  return r;
}

// The steps of one covering of the Python suite's kind of polygon (at most 32 cells, levels up
// to 20), cumulatively: range(0) = 0 builds the loops (make_loop + Normalize), 1 also the
// validated polygon (make_polygon, which builds the index the covering uses), 2 also covers it
// as the official binding does (S2RegionCoverer::GetCovering on the S2Polygon), 4 instead as
// hotloop does (hotloop::geo::cover: the same cells, MayIntersect and the Contains that follows
// it on a candidate cell answered in one pass, and a count of the cells tested). 3 is the
// official binding's path in C++ for comparison: S2Polygon::InitNested without validation, then
// the covering (which builds the index on first use).
void GeoCoverSteps(benchmark::State& state) {
  const StarRings& r = star_rings();
  const std::int64_t n_polygons = static_cast<std::int64_t>(r.start.size()) - 1;
  const int steps = static_cast<int>(state.range(0));
  S2RegionCoverer::Options options;
  options.set_max_cells(32);
  options.set_max_level(20);
  S2RegionCoverer coverer(options);
  std::vector<S2CellId> cells;
  const std::int64_t shell_of[] = {0};
  for (auto _ : state) {
    for (std::int64_t k = 0; k < n_polygons; ++k) {
      std::string error;
      std::vector<std::unique_ptr<S2Loop>> loops;
      loops.push_back(
          hotloop::geo::make_loop(&r.lonlat[2 * r.start[k]], r.start[k + 1] - r.start[k], &error));
      loops.back()->Normalize();
      if (steps < 1) continue;
      if (steps == 3) {
        S2Polygon polygon;
        polygon.InitNested(std::move(loops));
        coverer.GetCovering(polygon, &cells);
        continue;
      }
      auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
      if (steps < 2) continue;
      if (steps == 4) {
        hotloop::geo::cover(&coverer, *polygon, false, {}, &cells);
      } else {
        coverer.GetCovering(*polygon, &cells);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * n_polygons);
}
BENCHMARK(GeoCoverSteps)->DenseRange(0, 4)->Unit(benchmark::kMillisecond);

// What make_polygon's parts cost on the same polygons, cumulatively: range(0) = 0 builds the
// loops (make_loop + Normalize), 1 also S2Polygon::InitNested, 2 also builds its index
// (MutableS2ShapeIndex::ForceBuild, which the covering needs anyway), 3 also validates it
// (S2Polygon::FindValidationError, as make_polygon does).
void GeoPolygonSteps(benchmark::State& state) {
  const StarRings& r = star_rings();
  const std::int64_t n_polygons = static_cast<std::int64_t>(r.start.size()) - 1;
  const int steps = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (std::int64_t k = 0; k < n_polygons; ++k) {
      std::string error;
      std::vector<std::unique_ptr<S2Loop>> loops;
      loops.push_back(
          hotloop::geo::make_loop(&r.lonlat[2 * r.start[k]], r.start[k + 1] - r.start[k], &error));
      loops.back()->Normalize();
      if (steps < 1) continue;
      S2Polygon polygon;
      polygon.set_s2debug_override(S2Debug::DISABLE);
      polygon.InitNested(std::move(loops));
      if (steps < 2) continue;
      polygon.index().ForceBuild();
      if (steps < 3) continue;
      S2Error why;
      benchmark::DoNotOptimize(polygon.FindValidationError(&why));
    }
  }
  state.SetItemsProcessed(state.iterations() * n_polygons);
}
BENCHMARK(GeoPolygonSteps)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);

// hotloop.geo.cover_geojson's C++ driver on the same polygons (GeoCoverSteps 4 and its
// overheads: one chunk per polygon, the failure bookkeeping), on range(0) threads.
void GeoCoverGeometries(benchmark::State& state) {
  const StarRings& r = star_rings();
  const std::int64_t n_polygons = static_cast<std::int64_t>(r.start.size()) - 1;
  std::vector<std::int64_t> shell_of(static_cast<std::size_t>(n_polygons), 0);
  std::vector<std::int64_t> geom_start(static_cast<std::size_t>(n_polygons) + 1);
  for (std::size_t g = 0; g < geom_start.size(); ++g) geom_start[g] = static_cast<std::int64_t>(g);
  S2RegionCoverer::Options options;
  options.set_max_cells(32);
  options.set_max_level(20);
  std::vector<std::vector<S2CellId>> cells;
  hotloop::geo::CoverFailure failure;
  for (auto _ : state) {
    if (!hotloop::geo::cover_geometries(r.lonlat.data(), r.start.data(), shell_of.data(),
                                        geom_start.data(), n_polygons, options, false,
                                        static_cast<int>(state.range(0)), &cells, &failure)) {
      state.SkipWithError(failure.message.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * n_polygons);
}
BENCHMARK(GeoCoverGeometries)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// The interior covering of a sliver (a ring along one meridian from -60 to 60 degrees: no cell
// lies inside it) at max_level range(0), at most 8 cells, with hotloop's default budget
// (auto_max_tests(8) = 2**22 cell tests): the time doubles per level until the budget stops it.
// Counters: tests (cell tests counted), over_budget (1 once the budget stopped it).
void GeoSliverInterior(benchmark::State& state) {
  const double ring[] = {0, -60, 0, 0, 0, 60};
  std::string error;
  std::vector<std::unique_ptr<S2Loop>> loops;
  loops.push_back(hotloop::geo::make_loop(ring, 3, &error));
  loops.back()->Normalize();
  const std::int64_t shell_of[] = {0};
  auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
  S2RegionCoverer::Options options;
  options.set_max_cells(8);
  options.set_max_level(static_cast<int>(state.range(0)));
  S2RegionCoverer coverer(options);
  std::vector<S2CellId> cells;
  std::int64_t tests = 0;
  hotloop::geo::CoverStatus status = hotloop::geo::CoverStatus::kCovered;
  for (auto _ : state) {
    status = hotloop::geo::cover(&coverer, *polygon, true, {}, &cells, &tests);
  }
  state.counters["tests"] = static_cast<double>(tests);
  state.counters["over_budget"] = status == hotloop::geo::CoverStatus::kOverBudget;
}
BENCHMARK(GeoSliverInterior)->DenseRange(10, 30, 2)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
