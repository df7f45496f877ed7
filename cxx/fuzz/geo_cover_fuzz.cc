// libFuzzer harness of hotloop::geo::cover_geometries: coordinates arrive from GeoJSON files,
// untrusted, and S2 aborts the process (ABSL_CHECK) or reads out of bounds on invalid loops and
// polygons, so make_loop/make_polygon must refuse everything S2 cannot take.
//
// Input: 4 option bytes, then rings. Each ring: a header byte (vertex count, hole or shell,
// whether a new geometry starts), then per vertex a tag byte and its payload: mostly 16-bit
// fixed-point offsets around a centre chosen by the tag (so that valid, tiny, huge, polar and
// antimeridian rings are all common), sometimes raw 8-byte doubles (NaN, infinities,
// out-of-range values, subnormals).
//
// Oracles: no crash and no sanitizer report; the same result on 1 and 2 threads; a successful
// covering holds valid cells, strictly increasing, with levels in [min_level, max_level]; a
// failure names a geometry that exists.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hotloop/geo.hpp"

namespace {

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  double raw_double() {
    std::uint8_t b[8] = {};
    for (auto& x : b) x = byte();
    double d;
    std::memcpy(&d, b, sizeof d);
    return d;
  }
  double fixed(double scale) {  // [-scale, scale)
    const int lo = byte();
    const int hi = byte();
    const auto v = static_cast<std::int16_t>(lo | (hi << 8));
    return scale * v / 32768.0;
  }
};

// Centres: the origin, near a pole, on the antimeridian, and exactly at a pole.
constexpr double kCentres[4][2] = {{0, 0}, {30, 89.9}, {180, 10}, {-75, -90}};
// Half-widths of a ring in degrees: continental to sub-millimetre.
constexpr double kScales[4] = {60, 1, 1e-4, 1e-9};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  S2RegionCoverer::Options options;
  const std::uint8_t o0 = in.byte(), o1 = in.byte(), o2 = in.byte(), o3 = in.byte();
  options.set_max_cells(1 + o0 % 64);
  // min_level stays <= 6 (at most 6 * 4**6 forced cells): deeper levels are refused or
  // allowed by check_min_level's area bound (2**24 cells), which is tested elsewhere and too
  // slow for a fuzzer.
  const int min_level = o1 % 7;
  options.set_min_level(min_level);
  options.set_max_level(min_level + o2 % (31 - min_level));
  options.set_level_mod(1 + o3 % 3);
  const bool interior = (o0 & 64) != 0;
  // An interior covering of a sliver (a ring whose vertices lie on one great circle, valid for
  // S2) finds no cell inside it and subdivides the whole boundary down to max_level, twice as
  // many cells per level. The default budget stops it after 2 to 3 s; a smaller one keeps
  // every fuzzer input fast and still runs the budget's path.
  hotloop::geo::CoverBudget budget;
  budget.max_tests = 1 << 16;

  std::vector<double> lonlat;
  std::vector<std::int64_t> ring_start = {0}, shell_of, geom_start = {0};
  std::int64_t shell = 0;  // the current shell, counted from the geometry's first ring
  while (!in.empty() && shell_of.size() < 12) {
    const std::uint8_t header = in.byte();
    if ((header & 0x80) && !shell_of.empty()) {  // a new geometry
      geom_start.push_back(static_cast<std::int64_t>(shell_of.size()));
    }
    const std::int64_t first = geom_start.back();
    const std::int64_t index = static_cast<std::int64_t>(shell_of.size()) - first;
    if ((header & 0x40) == 0 || index == 0) shell = index;  // a shell, else a hole of `shell`
    shell_of.push_back(shell);
    const int n_vertices = header & 0x3f;
    for (int v = 0; v < n_vertices && !in.empty(); ++v) {
      const std::uint8_t tag = in.byte();
      double lon, lat;
      if (tag % 16 == 0) {
        lon = in.raw_double();
        lat = in.raw_double();
      } else {
        const double* c = kCentres[(tag >> 4) & 3];
        const double scale = kScales[(tag >> 6) & 3];
        lon = c[0] + in.fixed(scale);
        lat = c[1] + in.fixed(scale);
      }
      lonlat.push_back(lon);
      lonlat.push_back(lat);
    }
    ring_start.push_back(static_cast<std::int64_t>(lonlat.size() / 2));
  }
  geom_start.push_back(static_cast<std::int64_t>(shell_of.size()));
  const std::int64_t n_geoms = static_cast<std::int64_t>(geom_start.size()) - 1;

  std::vector<std::vector<S2CellId>> cells[2];
  hotloop::geo::CoverFailure failure[2];
  bool ok[2];
  for (int t = 0; t < 2; ++t) {
    ok[t] = hotloop::geo::cover_geometries(lonlat.data(), ring_start.data(), shell_of.data(),
                                           geom_start.data(), n_geoms, options, interior, t + 1,
                                           &cells[t], &failure[t], budget);
  }
  if (ok[0] != ok[1] || failure[0].geometry != failure[1].geometry ||
      failure[0].ring != failure[1].ring || failure[0].message != failure[1].message) {
    std::abort();  // the thread count changed the outcome
  }
  if (!ok[0]) {
    if (failure[0].out_of_memory) return 0;
    if (failure[0].geometry < 0 || failure[0].geometry >= n_geoms || failure[0].message.empty()) {
      std::abort();
    }
    return 0;
  }
  if (cells[0] != cells[1]) std::abort();
  for (const auto& covering : cells[0]) {
    for (std::size_t k = 0; k < covering.size(); ++k) {
      const S2CellId c = covering[k];
      if (!c.is_valid() || c.level() < options.min_level() || c.level() > options.max_level()) {
        std::abort();
      }
      if (k > 0 && !(covering[k - 1] < c)) std::abort();
    }
  }
  return 0;
}
