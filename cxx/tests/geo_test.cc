// Tests of hotloop::geo (cxx/include/hotloop/geo.hpp): invalid rings and polygons come back as
// errors (never an S2 abort), valid ones as the loops and polygons S2 itself would build.

#include "hotloop/geo.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "s2/s2cell.h"
#include "s2/s2latlng.h"
#include "s2/s2region_coverer.h"

namespace {

using Ring = std::vector<double>;  // lon, lat, lon, lat, ...

std::unique_ptr<S2Loop> loop_of(const Ring& r, std::string* error) {
  return hotloop::geo::make_loop(r.data(), static_cast<std::int64_t>(r.size() / 2), error);
}

// Normalised loops of `rings`, or an empty vector (and *error) if one is invalid.
std::vector<std::unique_ptr<S2Loop>> loops_of(const std::vector<Ring>& rings, std::string* error) {
  std::vector<std::unique_ptr<S2Loop>> loops;
  for (const Ring& r : rings) {
    auto loop = loop_of(r, error);
    if (!loop) return {};
    loop->Normalize();
    loops.push_back(std::move(loop));
  }
  return loops;
}

const Ring kSquare = {0, 0, 10, 0, 10, 10, 0, 10, 0, 0};  // closed, counter-clockwise
const Ring kSquareCW = {0, 0, 0, 10, 10, 10, 10, 0};      // open, clockwise
const Ring kHole = {2, 2, 2, 8, 8, 8, 8, 2, 2, 2};        // clockwise, as RFC 7946 winds
const Ring kIsland = {4, 4, 6, 4, 6, 6, 4, 6, 4, 4};      // inside kHole
const Ring kFarSquare = {20, 20, 30, 20, 30, 30, 20, 30, 20, 20};
const Ring kCrossing = {5, 5, 15, 5, 15, 15, 5, 15, 5, 5};  // overlaps kSquare's corner

TEST(GeoLoop, SquareEitherWindingIsTheSameSmallLoop) {
  std::string error;
  auto a = loop_of(kSquare, &error);
  auto b = loop_of(kSquareCW, &error);
  ASSERT_TRUE(a && b) << error;
  EXPECT_EQ(a->num_vertices(), 4);  // the closing vertex is dropped
  EXPECT_EQ(b->num_vertices(), 4);
  EXPECT_TRUE(a->IsNormalized());
  EXPECT_FALSE(b->IsNormalized());  // clockwise: S2 reads the rest of the Earth
  b->Normalize();
  EXPECT_NEAR(a->GetArea(), b->GetArea(), 1e-15);
  EXPECT_LT(a->GetArea(), 0.04);
}

TEST(GeoLoop, RepeatedVerticesAreMerged) {
  std::string error;
  auto loop = loop_of({0, 0, 0, 0, 10, 0, 10, 0, 10, 10, 0, 10, 0, 0, 0, 0}, &error);
  ASSERT_TRUE(loop) << error;
  EXPECT_EQ(loop->num_vertices(), 4);
}

TEST(GeoLoop, RejectsBadRingsWithAReason) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    Ring ring;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {{}, "at least 3 distinct vertices, got 0"},
      {{0, 0, 1, 1, 0, 0}, "at least 3 distinct vertices, got 2"},
      {{0, 0, 1, 1, 1, 1, 0, 0}, "at least 3 distinct vertices, got 2"},
      {{0, 0, 10, 0, 10, 91, 0, 0}, "vertex 2"},
      {{0, 0, 10, 0, 10, -90.5, 0, 0}, "latitude must lie in [-90, 90]"},
      {{0, 0, 10, 0, 180.5, 10, 0, 0}, "longitude in [-180, 180]"},
      {{0, 0, nan, 0, 10, 10, 0, 0}, "vertex 1"},
      {{0, 0, 10, 0, 10, inf, 0, 0}, "vertex 2 has"},
      {{0, 0, 10, 0, 5, 5, 10, 10, 0, 10, 5, 5, 0, 0}, "uplicate"},  // a vertex visited twice
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_EQ(loop_of(c.ring, &error), nullptr) << c.reason;
    EXPECT_NE(error.find(c.reason), std::string::npos) << "got: " << error;
  }
}

TEST(GeoLoop, AntimeridianAndPole) {
  std::string error;
  // A 2-degree square across longitude 180: the short way, not around the Earth.
  auto across = loop_of({179, -1, -179, -1, -179, 1, 179, 1, 179, -1}, &error);
  ASSERT_TRUE(across) << error;
  across->Normalize();
  EXPECT_TRUE(across->Contains(S2LatLng::FromDegrees(0, 180).ToPoint()));
  EXPECT_FALSE(across->Contains(S2LatLng::FromDegrees(0, 0).ToPoint()));
  // A ring along latitude 80: its smaller side holds the north pole.
  Ring cap;
  for (int lon = -180; lon < 180; lon += 30) {
    cap.push_back(lon);
    cap.push_back(80);
  }
  auto polar = loop_of(cap, &error);
  ASSERT_TRUE(polar) << error;
  polar->Normalize();
  EXPECT_TRUE(polar->Contains(S2LatLng::FromDegrees(90, 0).ToPoint()));
}

TEST(GeoPolygon, ShellWithHoleAndIsland) {
  std::string error;
  auto loops = loops_of({kSquare, kHole, kIsland}, &error);
  ASSERT_EQ(loops.size(), 3u) << error;
  const std::int64_t shell_of[] = {0, 0, 2};  // the island is a second polygon's shell
  auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
  ASSERT_TRUE(polygon) << error;
  EXPECT_TRUE(loops.empty());
  EXPECT_EQ(polygon->num_loops(), 3);
  EXPECT_TRUE(polygon->Contains(S2LatLng::FromDegrees(1, 1).ToPoint()));
  EXPECT_FALSE(polygon->Contains(S2LatLng::FromDegrees(3, 3).ToPoint()));  // in the hole
  EXPECT_TRUE(polygon->Contains(S2LatLng::FromDegrees(5, 5).ToPoint()));   // on the island
}

TEST(GeoPolygon, RejectsBadNesting) {
  struct Case {
    std::vector<Ring> rings;
    std::vector<std::int64_t> shell_of;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {{kSquare, kFarSquare}, {0, 0}, "does not lie inside it"},
      {{kSquare, kCrossing}, {0, 1}, "cross or partly overlap"},
      {{kSquare, kHole}, {0, 1}, "lies inside another polygon's shell"},
      {{kSquare, kHole, kIsland}, {0, 0, 0}, "inside another hole"},
      {{kSquare, kSquareCW}, {0, 1}, "uplicate"},                   // the same loop twice
      {{{0, 0, 10, 10, 10, 0, 0, 10, 0, 0}}, {0}, "ring 0: Edge"},  // a bow tie: "crosses"
      {{kSquare, kHole, {3, 3, 12, 3, 12, 7, 3, 7}}, {0, 0, 2}, "rings 0 and 2 cross"},
  };
  for (const Case& c : cases) {
    std::string error;
    auto loops = loops_of(c.rings, &error);
    ASSERT_EQ(loops.size(), c.rings.size()) << error;
    EXPECT_EQ(hotloop::geo::make_polygon(&loops, c.shell_of.data(), &error), nullptr) << c.reason;
    EXPECT_NE(error.find(c.reason), std::string::npos) << "got: " << error;
  }
}

TEST(GeoPolygon, EmptyAndCovering) {
  std::string error;
  std::vector<std::unique_ptr<S2Loop>> none;
  auto empty = hotloop::geo::make_polygon(&none, nullptr, &error);
  ASSERT_TRUE(empty) << error;
  EXPECT_TRUE(empty->is_empty());

  auto loops = loops_of({kSquare, kHole}, &error);
  const std::int64_t shell_of[] = {0, 0};
  auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
  ASSERT_TRUE(polygon) << error;
  S2RegionCoverer::Options options;
  options.set_max_cells(64);
  S2RegionCoverer coverer(options);
  std::vector<S2CellId> outer, inner;
  coverer.GetCovering(*polygon, &outer);
  coverer.GetInteriorCovering(*polygon, &inner);
  ASSERT_FALSE(outer.empty());
  ASSERT_FALSE(inner.empty());
  for (S2CellId id : inner) EXPECT_TRUE(polygon->Contains(S2Cell(id))) << id.ToToken();
  for (S2CellId id : outer) EXPECT_TRUE(polygon->MayIntersect(S2Cell(id))) << id.ToToken();
  const S2CellId inside(S2LatLng::FromDegrees(1, 1));
  bool covered = false;
  for (S2CellId id : outer) covered = covered || id.contains(inside);
  EXPECT_TRUE(covered);
}

// cover() answers the coverer's tests itself (one pass for MayIntersect and Contains, a
// budget, Ctrl-C): the cells must be S2's own, for every option that changes which cells the
// coverer tests.
void expect_same_cells(const S2Polygon& polygon, const std::string& name) {
  for (int max_cells : {1, 8, 300}) {
    for (int min_level : {0, 5}) {
      for (int level_mod : {1, 2, 3}) {
        for (int span : {6, 20}) {
          S2RegionCoverer::Options options;
          options.set_max_cells(max_cells);
          options.set_min_level(min_level);
          options.set_max_level(min_level + span);
          options.set_level_mod(level_mod);
          S2RegionCoverer coverer(options);
          for (bool interior : {false, true}) {
            std::vector<S2CellId> want, got;
            if (interior) {
              coverer.GetInteriorCovering(polygon, &want);
            } else {
              coverer.GetCovering(polygon, &want);
            }
            std::int64_t tests = -1;
            ASSERT_EQ(hotloop::geo::cover(&coverer, polygon, interior, {}, &got, &tests),
                      hotloop::geo::CoverStatus::kCovered);
            ASSERT_EQ(got, want) << name << ": " << max_cells << " cells, levels " << min_level
                                 << ".." << min_level + span << " by " << level_mod << ", interior "
                                 << interior;
            EXPECT_GE(tests, 0);
            EXPECT_LT(tests, 200000);
          }
        }
      }
    }
  }
}

TEST(GeoCover, SameCellsAsTheCovererOnThePolygon) {
  std::string error;
  for (const std::vector<Ring>& rings :
       {std::vector<Ring>{kSquare, kHole, kIsland}, std::vector<Ring>{kFarSquare}}) {
    auto loops = loops_of(rings, &error);
    const std::int64_t shell_of[] = {0, 0, 2};
    auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
    ASSERT_TRUE(polygon) << error;
    expect_same_cells(*polygon, "squares");
  }
  // Star-shaped rings of 5 to 40 vertices, 1e-5 to 5 degrees across, anywhere.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int k = 0; k < 12; ++k) {
    const double lat0 = 170 * u(rng) - 85, lon0 = 360 * u(rng) - 180;
    const double radius = std::pow(10.0, -5 + 5.7 * u(rng));
    const int n = 5 + static_cast<int>(36 * u(rng));
    Ring ring;
    for (int j = 0; j < n; ++j) {
      const double a = 2 * M_PI * j / n, r = radius * (0.3 + 0.7 * u(rng));
      ring.push_back(lon0 + r * std::cos(a) / std::cos(lat0 * M_PI / 180));
      ring.push_back(lat0 + r * std::sin(a));
    }
    auto loops = loops_of({ring}, &error);
    if (loops.empty()) continue;  // a vertex past +-180 or +-90: not this test's subject
    const std::int64_t shell_of[] = {0};
    auto polygon = hotloop::geo::make_polygon(&loops, shell_of, &error);
    if (!polygon) continue;
    expect_same_cells(*polygon, "star " + std::to_string(k));
  }
}

// A ring whose vertices lie on one meridian: valid for S2, and with no cell inside it.
std::unique_ptr<S2Polygon> sliver() {
  std::string error;
  auto loops = loops_of({{0, -60, 0, 0, 0, 60}}, &error);
  const std::int64_t shell_of[] = {0};
  return hotloop::geo::make_polygon(&loops, shell_of, &error);
}

TEST(GeoCover, SliverStopsAtTheBudget) {
  auto polygon = sliver();
  ASSERT_TRUE(polygon);
  S2RegionCoverer::Options options;
  options.set_max_cells(8);
  options.set_max_level(30);
  S2RegionCoverer coverer(options);
  hotloop::geo::CoverBudget budget;
  budget.max_tests = 20000;
  std::vector<S2CellId> cells;
  std::int64_t tests = 0;
  EXPECT_EQ(hotloop::geo::cover(&coverer, *polygon, true, budget, &cells, &tests),
            hotloop::geo::CoverStatus::kOverBudget);
  EXPECT_EQ(tests, budget.max_tests + 1);
  // The coverer is left reusable: an exterior covering of the same sliver is S2's.
  std::vector<S2CellId> want;
  coverer.GetCovering(*polygon, &want);
  EXPECT_EQ(hotloop::geo::cover(&coverer, *polygon, false, budget, &cells, &tests),
            hotloop::geo::CoverStatus::kCovered);
  EXPECT_EQ(cells, want);
  EXPECT_FALSE(cells.empty());
  // At max_level 8 the whole interior search fits: no cell, and S2's answer.
  options.set_max_level(8);
  S2RegionCoverer shallow(options);
  EXPECT_EQ(hotloop::geo::cover(&shallow, *polygon, true, budget, &cells, &tests),
            hotloop::geo::CoverStatus::kCovered);
  EXPECT_TRUE(cells.empty());
  EXPECT_LT(tests, budget.max_tests);
}

TEST(GeoCover, InterruptStopsTheCovering) {
  auto polygon = sliver();
  ASSERT_TRUE(polygon);
  S2RegionCoverer::Options options;
  options.set_max_cells(8);
  S2RegionCoverer coverer(options);
  hotloop::Interrupt interrupt(nullptr, nullptr);
  interrupt.request_stop();
  hotloop::geo::CoverBudget budget;
  budget.max_tests = hotloop::geo::CoverBudget::kNoMaxTests;  // only the interrupt can stop it
  budget.interrupt = &interrupt;
  std::vector<S2CellId> cells;
  std::int64_t tests = 0;
  EXPECT_EQ(hotloop::geo::cover(&coverer, *polygon, true, budget, &cells, &tests),
            hotloop::geo::CoverStatus::kInterrupted);
  EXPECT_LE(tests, static_cast<std::int64_t>(hotloop::geo::kPollTests));
}

TEST(GeoToken, RoundTripAndMalformed) {
  const S2CellId id(S2LatLng::FromDegrees(40.7, -74.0));
  const std::string token = id.ToToken();
  EXPECT_EQ(hotloop::geo::cell_from_token(token.data(), token.size()), id);
  EXPECT_EQ(hotloop::geo::cell_from_token("89c25", 5).ToToken(), "89c25");
  EXPECT_EQ(hotloop::geo::cell_from_token("89C25", 5).ToToken(), "89c25");
  EXPECT_EQ(hotloop::geo::cell_from_token("zz", 2).id(), 0u);
  EXPECT_EQ(hotloop::geo::cell_from_token("0123456789abcdef0", 17).id(), 0u);
  EXPECT_EQ(hotloop::geo::cell_from_token("X", 1).id(), 0u);
}

TEST(GeoLatLng, ValidRange) {
  EXPECT_TRUE(hotloop::geo::valid_latlng(90, 180));
  EXPECT_TRUE(hotloop::geo::valid_latlng(-90, -180));
  EXPECT_FALSE(hotloop::geo::valid_latlng(90.000001, 0));
  EXPECT_FALSE(hotloop::geo::valid_latlng(0, 180.000001));
  EXPECT_FALSE(hotloop::geo::valid_latlng(0, std::nan("")));
  EXPECT_FALSE(hotloop::geo::valid_latlng(std::nan(""), 0));
  EXPECT_FALSE(hotloop::geo::valid_latlng(0, std::numeric_limits<double>::infinity()));
}

// A point whose t coordinate is exactly 478896715 / 2**30: S2 0.11 and later take the floor
// (row 478896715); S2 0.10 rounded 478896714.5 half to even (row 478896714). The official
// binding and s2cell agree with the floor.
TEST(GeoLeafCell, ExactBoundaryTakesTheFloor) {
  const S2Point p = S2LatLng::FromDegrees(46.92986692568797, 4.6557569826083975).ToPoint();
  EXPECT_EQ(S2CellId(p).id(), 5184304031146164503u);
}

}  // namespace

// The parallel drivers against S2 called one item at a time, on 1 and 2 threads.
namespace drivers {

constexpr std::int64_t kPoints = 20000;

struct Points {
  std::vector<double> lat, lon;
};

Points random_points() {
  Points p;
  std::uint64_t state = 12345;
  auto uniform = [&state] {  // xorshift64*, in [0, 1)
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<double>((state * 2685821657736338717ULL) >> 11) * 0x1p-53;
  };
  for (std::int64_t i = 0; i < kPoints; ++i) {
    p.lat.push_back(std::asin(2 * uniform() - 1) * 180 / M_PI);
    p.lon.push_back(360 * uniform() - 180);
  }
  // The poles, the antimeridian and one invalid point of each kind.
  for (double lat : {90.0, -90.0, 0.0}) {
    for (double lon : {180.0, -180.0, 0.0}) {
      p.lat.push_back(lat);
      p.lon.push_back(lon);
    }
  }
  return p;
}

TEST(GeoDrivers, LatLngToCellsIsS2CellIdForEveryThreadCount) {
  Points p = random_points();
  const std::int64_t n = static_cast<std::int64_t>(p.lat.size());
  for (int level : {30, 17, 0}) {
    std::vector<std::uint64_t> want(p.lat.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      want[i] = S2CellId(S2LatLng::FromDegrees(p.lat[i], p.lon[i])).parent(level).id();
    }
    for (int threads : {1, 2}) {
      std::vector<std::uint64_t> got(p.lat.size(), 1);
      EXPECT_EQ(
          hotloop::geo::latlng_to_cells(p.lat.data(), p.lon.data(), n, level, got.data(), threads),
          0);
      EXPECT_EQ(got, want) << "level " << level << ", " << threads << " threads";
    }
  }
  p.lat[7] = std::numeric_limits<double>::quiet_NaN();
  p.lon[9000] = 180.5;
  std::vector<std::uint64_t> got(p.lat.size());
  EXPECT_EQ(hotloop::geo::latlng_to_cells(p.lat.data(), p.lon.data(), n, 30, got.data(), 2), 2);
  EXPECT_EQ(got[7], 0u);
  EXPECT_EQ(got[9000], 0u);
}

TEST(GeoDrivers, CentresParentsAndTokens) {
  const Points p = random_points();
  const std::int64_t n = static_cast<std::int64_t>(p.lat.size());
  std::vector<std::uint64_t> ids(p.lat.size());
  hotloop::geo::latlng_to_cells(p.lat.data(), p.lon.data(), n, 30, ids.data(), 2);
  std::vector<double> lat(ids.size()), lon(ids.size());
  hotloop::geo::cells_to_latlng(ids.data(), n, lat.data(), lon.data(), 2);
  std::vector<std::uint64_t> parents(ids.size());
  hotloop::geo::cell_parents(ids.data(), n, 9, parents.data(), 2);
  std::vector<char> tokens(16 * ids.size());
  ASSERT_TRUE(hotloop::geo::cells_to_tokens(ids.data(), n, tokens.data(), 2));
  std::vector<std::uint64_t> back(ids.size());
  EXPECT_EQ(hotloop::geo::tokens_to_cells(tokens.data(), 16, n, back.data(), 2), -1);
  EXPECT_EQ(back, ids);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const S2CellId cell(ids[i]);
    ASSERT_EQ(lat[i], cell.ToLatLng().lat().degrees());
    ASSERT_EQ(lon[i], cell.ToLatLng().lng().degrees());
    ASSERT_EQ(parents[i], cell.parent(9).id());
    ASSERT_EQ(std::string(&tokens[16 * i], cell.ToToken().size()), cell.ToToken());
  }
  tokens[16 * 5000] = 'g';
  tokens[16 * 15000] = 'z';
  EXPECT_EQ(hotloop::geo::tokens_to_cells(tokens.data(), 16, n, back.data(), 2), 5000);
}

TEST(GeoDrivers, CoverGeometriesMatchesOneCoverer) {
  // 200 squares, every third with a hole, as flat tables.
  std::vector<double> lonlat;
  std::vector<std::int64_t> ring_start = {0}, shell_of, geom_start = {0};
  for (int g = 0; g < 200; ++g) {
    const double x = -170 + 1.7 * g, y = -60 + 0.6 * g, s = 0.05 + 0.01 * g;
    for (double v : {x, y, x + s, y, x + s, y + s, x, y + s}) lonlat.push_back(v);
    ring_start.push_back(static_cast<std::int64_t>(lonlat.size() / 2));
    shell_of.push_back(0);
    if (g % 3 == 0) {
      const double a = x + s / 4, b = y + s / 4, t = s / 2;
      for (double v : {a, b, a, b + t, a + t, b + t, a + t, b}) lonlat.push_back(v);
      ring_start.push_back(static_cast<std::int64_t>(lonlat.size() / 2));
      shell_of.push_back(0);
    }
    geom_start.push_back(static_cast<std::int64_t>(shell_of.size()));
  }
  S2RegionCoverer::Options options;
  options.set_max_cells(12);
  S2RegionCoverer coverer(options);
  std::vector<std::vector<S2CellId>> want;
  for (int g = 0; g < 200; ++g) {
    std::string error;
    std::vector<std::unique_ptr<S2Loop>> loops;
    for (std::int64_t r = geom_start[g]; r < geom_start[g + 1]; ++r) {
      loops.push_back(
          loop_of(Ring(lonlat.begin() + 2 * ring_start[r], lonlat.begin() + 2 * ring_start[r + 1]),
                  &error));
      loops.back()->Normalize();
    }
    auto polygon = hotloop::geo::make_polygon(&loops, &shell_of[geom_start[g]], &error);
    ASSERT_TRUE(polygon) << error;
    want.emplace_back();
    coverer.GetCovering(*polygon, &want.back());
  }
  for (int threads : {1, 2}) {
    std::vector<std::vector<S2CellId>> got;
    hotloop::geo::CoverFailure failure;
    EXPECT_TRUE(hotloop::geo::cover_geometries(lonlat.data(), ring_start.data(), shell_of.data(),
                                               geom_start.data(), 200, options, false, threads,
                                               &got, &failure))
        << failure.message;
    EXPECT_EQ(got, want);
  }
  std::vector<std::vector<S2CellId>> want_interior;
  {
    hotloop::geo::CoverFailure failure;
    ASSERT_TRUE(hotloop::geo::cover_geometries(lonlat.data(), ring_start.data(), shell_of.data(),
                                               geom_start.data(), 200, options, true, 2,
                                               &want_interior, &failure));
    for (int g = 0; g < 200; g += 7) {
      std::string error;
      std::vector<std::unique_ptr<S2Loop>> loops;
      for (std::int64_t r = geom_start[g]; r < geom_start[g + 1]; ++r) {
        loops.push_back(loop_of(
            Ring(lonlat.begin() + 2 * ring_start[r], lonlat.begin() + 2 * ring_start[r + 1]),
            &error));
        loops.back()->Normalize();
      }
      auto polygon = hotloop::geo::make_polygon(&loops, &shell_of[geom_start[g]], &error);
      std::vector<S2CellId> cells;
      coverer.GetInteriorCovering(*polygon, &cells);
      EXPECT_EQ(want_interior[g], cells) << "geometry " << g;
    }
  }
  // A budget too small for some geometries: the first of them is named, whatever the threads.
  {
    hotloop::geo::CoverBudget budget;
    budget.max_tests = 20;
    std::vector<std::vector<S2CellId>> got;
    hotloop::geo::CoverFailure failure;
    EXPECT_FALSE(hotloop::geo::cover_geometries(lonlat.data(), ring_start.data(), shell_of.data(),
                                                geom_start.data(), 200, options, false, 2, &got,
                                                &failure, budget));
    EXPECT_TRUE(failure.over_budget);
    EXPECT_GE(failure.geometry, 0);
    for (int threads : {1, 2}) {
      hotloop::geo::CoverFailure again;
      EXPECT_FALSE(hotloop::geo::cover_geometries(lonlat.data(), ring_start.data(), shell_of.data(),
                                                  geom_start.data(), 200, options, false, threads,
                                                  &got, &again, budget));
      EXPECT_EQ(again.geometry, failure.geometry);
    }
  }
  // Geometry 40's shell repeats its first vertex as its third; 150's gets NaN: the first
  // failure is reported whichever thread meets which.
  const std::int64_t v40 = ring_start[geom_start[40]], v150 = ring_start[geom_start[150]];
  lonlat[2 * v40 + 4] = lonlat[2 * v40];
  lonlat[2 * v40 + 5] = lonlat[2 * v40 + 1];
  lonlat[2 * v150] = std::numeric_limits<double>::quiet_NaN();
  for (int threads : {1, 2}) {
    std::vector<std::vector<S2CellId>> got;
    hotloop::geo::CoverFailure failure;
    EXPECT_FALSE(hotloop::geo::cover_geometries(lonlat.data(), ring_start.data(), shell_of.data(),
                                                geom_start.data(), 200, options, false, threads,
                                                &got, &failure));
    EXPECT_EQ(failure.geometry, 40);
    EXPECT_EQ(failure.ring, 0);
    EXPECT_FALSE(failure.out_of_memory);
    EXPECT_NE(failure.message.find("Duplicate vertices"), std::string::npos) << failure.message;
  }
}

}  // namespace drivers
