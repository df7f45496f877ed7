"""hotloop.geo against the official S2 Python binding (s2geometry, S2 0.14) and s2cell.

hotloop.geo is built on Debian's S2 0.10; the oracle is the official SWIG binding of S2 0.14 from
PyPI, driven one object at a time in Python with the same construction rules (each ring
normalised, rings nested by containment) and the same coverer options. Cells and coverings
must agree id for id, on hand-made shapes, on hypothesis-generated polygons and on the country
boundaries that the countryinfo package ships.
"""

import hashlib
import json
import math
import multiprocessing
import os
import pathlib
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from interrupts import interrupted_after

geo = pytest.importorskip("hotloop.geo", reason="hotloop was built without S2 (libs2-dev)")
s2 = pytest.importorskip("s2geometry")

# --------------------------------------------------------------------------------------------
# The oracle: the official binding, one object at a time


def s2_point(lon, lat):
    return s2.S2LatLng.FromDegrees(lat, lon).ToPoint()


def s2_loop(ring):
    """The official binding's loop for a GeoJSON ring, repeated vertices dropped."""
    points, last = [], None
    for position in ring:
        p = s2_point(position[0], position[1])
        key = (p.x(), p.y(), p.z())
        if key != last:
            points.append(p)
            last = key
    while len(points) > 1 and (points[0].x(), points[0].y(), points[0].z()) == last:
        points.pop()
        last = (points[-1].x(), points[-1].y(), points[-1].z())
    return s2.S2Loop(points)


def s2_polygon(polygons):
    """polygons: a list of polygons, each a list of rings. None if S2 finds it invalid."""
    loops = []
    for polygon in polygons:
        for ring in polygon:
            loop = s2_loop(ring)
            if not loop.IsValid():
                return None
            loop.Normalize()
            loops.append(loop)
    polygon = s2.S2Polygon()
    polygon.InitNested(loops)
    return polygon if polygon.IsValid() else None


def s2_cover(polygons, max_cells=4096, min_level=0, max_level=30, level_mod=1, interior=False):
    polygon = s2_polygon(polygons)
    assert polygon is not None, "the oracle finds this polygon invalid"
    coverer = s2.S2RegionCoverer()
    coverer.set_max_cells(max_cells)
    coverer.set_min_level(min_level)
    coverer.set_max_level(max_level)
    coverer.set_level_mod(level_mod)
    cells = coverer.GetInteriorCovering(polygon) if interior else coverer.GetCovering(polygon)
    return np.array([c.id() for c in cells], dtype=np.uint64)


def as_geojson(polygons):
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def check_cover(polygons, **options):
    got = geo.cover_geojson(as_geojson(polygons), **options)
    want = s2_cover(polygons, **options)
    assert got.dtype == np.uint64
    np.testing.assert_array_equal(got, want)
    return got


# --------------------------------------------------------------------------------------------
# Hand-made shapes


def square(lon0, lat0, size, clockwise=False):
    ring = [[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size], [lon0, lat0 + size]]
    if clockwise:
        ring.reverse()
    return [*ring, ring[0]]


def regular(lon0, lat0, radius, n, clockwise=False):
    """A regular n-gon in the tangent plane at (lon0, lat0): simple on the sphere for any size."""
    return star(lon0, lat0, [radius] * n, clockwise=clockwise)


def star(lon0, lat0, radii, phase=0.0, clockwise=False):
    """A star-shaped ring around (lon0, lat0): vertex k at angle 2 pi k / n, distance radii[k]
    degrees, built in the gnomonic projection at the centre so that geodesic edges stay simple."""
    lat0r, lon0r = math.radians(lat0), math.radians(lon0)
    c = np.array(
        [math.cos(lat0r) * math.cos(lon0r), math.cos(lat0r) * math.sin(lon0r), math.sin(lat0r)]
    )
    east = np.array([-math.sin(lon0r), math.cos(lon0r), 0.0])
    north = np.cross(c, east)
    ring = []
    n = len(radii)
    for k, r in enumerate(radii):
        a = phase + 2 * math.pi * k / n
        v = c + math.tan(math.radians(r)) * (math.cos(a) * east + math.sin(a) * north)
        v /= np.linalg.norm(v)
        ring.append([math.degrees(math.atan2(v[1], v[0])), math.degrees(math.asin(v[2]))])
    if clockwise:
        ring.reverse()
    return [*ring, ring[0]]


HAND_MADE = {
    "square": [[square(0, 0, 10)]],
    "square clockwise": [[square(0, 0, 10, clockwise=True)]],
    "tiny": [[square(2.35, 48.85, 1e-6)]],
    "concave L": [[[[0, 0], [6, 0], [6, 2], [2, 2], [2, 6], [0, 6], [0, 0]]]],
    "concave star": [[star(-100, 40, [5, 1, 5, 1, 5, 1, 5, 1, 5, 1])]],
    "with holes": [[square(0, 0, 10), square(1, 1, 3, clockwise=True), square(5, 5, 3)]],
    "antimeridian": [[[[170, -10], [-170, -10], [-170, 10], [170, 10], [170, -10]]]],
    "antimeridian hole": [[regular(180, 0, 20, 12), regular(180, 0, 5, 6, clockwise=True)]],
    "north pole cap": [[regular(0, 90, 5, 24)]],
    "south pole crossing": [[regular(30, -87, 6, 9)]],
    "near pole": [[regular(60, 88, 1, 7)]],
    "continent": [[regular(20, 10, 35, 40)]],
    "multipolygon": [[square(0, 0, 1)], [square(3, 3, 1)], [regular(-60, -20, 4, 8)]],
    "island in a lake": [[square(0, 0, 10), square(2, 2, 6, clockwise=True)], [square(4, 4, 2)]],
}


@pytest.mark.parametrize("name", HAND_MADE)
@pytest.mark.parametrize(
    "options",
    [
        {"max_cells": 8},
        {"max_cells": 200},
        {"max_cells": 4096, "max_level": 16},
        {"max_cells": 50, "min_level": 4, "max_level": 20, "level_mod": 2},
        {"max_cells": 100, "min_level": 5, "max_level": 21, "level_mod": 3},
        {"max_cells": 64, "interior": True},
        {"max_cells": 1},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_cover_matches_official_binding(name, options):
    check_cover(HAND_MADE[name], **options)


def test_cover_default_options():
    check_cover(HAND_MADE["concave star"])
    check_cover(HAND_MADE["with holes"])


def test_winding_does_not_matter():
    ccw = geo.cover_geojson(as_geojson([[square(0, 0, 10)]]), max_cells=30)
    cw = geo.cover_geojson(as_geojson([[square(0, 0, 10, clockwise=True)]]), max_cells=30)
    np.testing.assert_array_equal(ccw, cw)
    holes = [[square(0, 0, 10), square(1, 1, 3)]]
    holes_cw = [[square(0, 0, 10, clockwise=True), square(1, 1, 3, clockwise=True)]]
    np.testing.assert_array_equal(
        geo.cover_geojson(as_geojson(holes), max_cells=40),
        geo.cover_geojson(as_geojson(holes_cw), max_cells=40),
    )


def test_hole_is_excluded_and_covering_contains_the_polygon():
    polygon = [[square(0, 0, 10), square(2, 2, 6)]]
    interior = geo.cover_geojson(as_geojson(polygon), max_cells=500, interior=True)
    centre = geo.latlng_to_cell([5.0], [5.0])[0]
    inside = geo.latlng_to_cell([1.0], [1.0])[0]

    def covered(cells, leaf):
        return any(leaf_in(leaf, c) for c in cells)

    def leaf_in(leaf, cell):
        lsb = int(cell) & -int(cell)
        return int(cell) - (lsb - 1) <= int(leaf) <= int(cell) + (lsb - 1)

    assert not covered(interior, centre)
    assert covered(interior, inside)
    outer = geo.cover_geojson(as_geojson(polygon), max_cells=500)
    assert covered(outer, inside)


def test_antimeridian_needs_no_split():
    # The same region given once across +-180 and once as two halves split there (RFC 7946).
    whole = [[[[175, 0], [-175, 0], [-175, 5], [175, 5], [175, 0]]]]
    east = geo.cover_geojson(as_geojson(whole), max_cells=500, interior=True)
    halves = [
        [[[175, 0], [180, 0], [180, 5], [175, 5], [175, 0]]],
        [[[-180, 0], [-175, 0], [-175, 5], [-180, 5], [-180, 0]]],
    ]
    check_cover(halves, max_cells=300)
    lat, lon = geo.cell_to_latlng(east)
    assert np.all((np.abs(lon) >= 175) & (lat > 0) & (lat < 5))


# --------------------------------------------------------------------------------------------
# Hypothesis: random simple polygons anywhere, of any size


@st.composite
def star_polygons(draw):
    lat0 = draw(st.floats(-90, 90))
    lon0 = draw(st.floats(-180, 180))
    scale = draw(st.sampled_from([1e-4, 0.01, 1.0, 10.0, 40.0]))
    n = draw(st.integers(6, 24))
    radii = draw(
        st.lists(st.floats(0.3, 1.0), min_size=n, max_size=n).map(lambda r: [scale * x for x in r])
    )
    phase = draw(st.floats(0, 2 * math.pi))
    shell = star(lon0, lat0, radii, phase, clockwise=draw(st.booleans()))
    rings = [shell]
    if draw(st.booleans()):
        # Inside the disc of radius min(radii) * cos(max gap / 2) >= 0.7 min(radii).
        rings.append(regular(lon0, lat0, 0.3 * min(radii), draw(st.integers(3, 8))))
    return [rings]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    polygons=star_polygons(),
    max_cells=st.sampled_from([1, 4, 8, 32, 300]),
    levels=st.tuples(st.integers(0, 30), st.integers(0, 30)).map(sorted),
    level_mod=st.integers(1, 3),
    interior=st.booleans(),
)
def test_cover_random_polygons_match_official_binding(
    polygons, max_cells, levels, level_mod, interior
):
    lo, hi = levels
    # min_level forces cells of that level over the whole area (max_cells does not bound them):
    # keep it to a few hundred cells, which the oracle covers in milliseconds.
    size = max(abs(polygons[0][0][0][1] - polygons[0][0][k][1]) for k in range(3)) + 1e-9
    lo = min(lo, max(0, int(math.log2(90 / size)) + 2))
    hi = max(lo, hi)
    options = {"max_cells": max_cells, "min_level": lo, "max_level": hi, "level_mod": level_mod}
    if hi - lo > 12 and max_cells > 32:
        options["max_cells"] = 32
    check_cover(polygons, interior=interior, **options)


# --------------------------------------------------------------------------------------------
# A real data set: the country boundaries shipped by countryinfo (world.geo.json, public domain)


def country_files():
    countryinfo = pytest.importorskip("countryinfo")
    return sorted((pathlib.Path(countryinfo.__file__).parent / "data").glob("*.json"))


def countries():
    """A FeatureCollection of every country with a boundary, and their names."""
    features, names = [], []
    for path in country_files():
        data = json.loads(path.read_text())
        for feature in (data.get("geoJSON") or {}).get("features", []):
            features.append(feature)
            names.append(path.stem)
    return {"type": "FeatureCollection", "features": features}, names


# Sweden's first polygon lists the island of Öland as its second ring, a hole, though it lies
# outside the mainland: invalid GeoJSON. S2's InitNested alone would silently read it as a
# second shell; hotloop checks each hole against its shell and refuses it.
INVALID_COUNTRIES = {"sweden": "ring 1 is a hole of ring 0 but does not lie inside it"}


def test_countries_match_official_binding():
    doc, names = countries()
    assert len(doc["features"]) > 150
    agreed = 0
    for i, feature in enumerate(doc["features"]):
        g = feature["geometry"]
        polygons = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
        one = {"type": "FeatureCollection", "features": [feature]}
        if names[i] in INVALID_COUNTRIES:
            with pytest.raises(ValueError, match="feature 0: " + INVALID_COUNTRIES[names[i]]):
                geo.cover_geojson(one)
            continue
        # The defaults (4096 cells down to level 30) on every fifth country: the oracle's
        # Python loop over the cells is slow.
        defaults = [{}] if i % 5 == 0 else []
        for options in ({"max_cells": 8}, {"max_cells": 200, "max_level": 14}, *defaults):
            np.testing.assert_array_equal(
                geo.cover_geojson(one, **options), s2_cover(polygons, **options), err_msg=names[i]
            )
        agreed += 1
    assert agreed == len(doc["features"]) - len(INVALID_COUNTRIES)


def test_countries_all_at_once_threads_and_shapes(tmp_path):
    doc, _ = countries()
    valid = []
    for feature in doc["features"]:
        try:
            geo.cover_geojson({"type": "FeatureCollection", "features": [feature]}, max_cells=8)
        except ValueError:
            continue
        valid.append(feature)
    doc = {"type": "FeatureCollection", "features": valid}
    one = geo.cover_geojson(doc, max_cells=64, n_threads=1)
    many = geo.cover_geojson(doc, max_cells=64, n_threads=3)
    np.testing.assert_array_equal(one, many)
    parts = geo.cover_geojson(doc, max_cells=64, per_geometry=True, n_threads=2)
    assert len(parts) == len(valid)
    np.testing.assert_array_equal(np.concatenate(parts), one)
    path = tmp_path / "countries.geojson"
    path.write_text(json.dumps(doc, indent=1))
    np.testing.assert_array_equal(geo.cover_geojson(path, max_cells=64), one)
    np.testing.assert_array_equal(geo.cover_geojson(str(path), max_cells=64), one)
    np.testing.assert_array_equal(geo.cover_geojson(path.read_bytes(), max_cells=64), one)
    np.testing.assert_array_equal(geo.cover_geojson(path.read_text(), max_cells=64), one)


# --------------------------------------------------------------------------------------------
# The work budget of a covering: slivers end in an error (or Ctrl-C), never in a hang

# A ring whose vertices lie on one meridian: S2 accepts it, and no cell lies inside it, so S2's
# interior covering tests every cell along it down to max_level (twice as many per level).
SLIVER = {"type": "Polygon", "coordinates": [[[0, -60], [0, 0], [0, 60], [0, -60]]]}


def test_sliver_interior_covering_stops_at_the_budget():
    # Within the budget (max_level 8): S2's own answer, no cell.
    shallow = geo.cover_geojson(SLIVER, max_cells=8, max_level=8, interior=True)
    assert shallow.size == 0
    np.testing.assert_array_equal(
        shallow, s2_cover([SLIVER["coordinates"]], max_cells=8, max_level=8, interior=True)
    )
    features = [as_geojson(HAND_MADE["square"]), SLIVER]
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": g} for g in features],
    }
    start = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"^feature 1: its interior covering needs more than "
        r"max_cell_tests=100000 cell tests.*lower max_level",
    ):
        geo.cover_geojson(doc, max_cells=8, interior=True, max_cell_tests=100_000)
    assert time.perf_counter() - start < 5  # ~0.05 s; generous for a loaded machine
    # The exterior covering of the same sliver is cheap, and S2's.
    check_cover([SLIVER["coordinates"]], max_cells=8)


def test_budget_does_not_change_ordinary_coverings():
    for name in ("concave star", "with holes", "continent", "tiny"):
        for interior in (False, True):
            want = s2_cover(HAND_MADE[name], max_cells=300, interior=interior)
            got = geo.cover_geojson(as_geojson(HAND_MADE[name]), max_cells=300, interior=interior)
            np.testing.assert_array_equal(got, want)
            unlimited = geo.cover_geojson(
                as_geojson(HAND_MADE[name]), max_cells=300, interior=interior, max_cell_tests=None
            )
            np.testing.assert_array_equal(unlimited, want)


@pytest.mark.skipif(os.name == "nt", reason="SIGINT")
def test_ctrl_c_stops_an_unlimited_covering():
    code = (
        f"import hotloop.geo as g; g.cover_geojson({SLIVER!r}, interior=True, max_cell_tests=None)"
    )
    took, err = interrupted_after(code)
    assert "KeyboardInterrupt" in err
    assert took < 10.0  # ~0.05 s when the machine is idle


# --------------------------------------------------------------------------------------------
# Input shapes


def test_document_shapes():
    a, b = square(0, 0, 1), square(5, 5, 1)
    poly_a = {"type": "Polygon", "coordinates": [a]}
    poly_b = {"type": "Polygon", "coordinates": [b]}
    ca = geo.cover_geojson(poly_a, max_cells=16)
    cb = geo.cover_geojson(poly_b, max_cells=16)
    both = np.concatenate([ca, cb])
    feature = {"type": "Feature", "properties": {}, "geometry": poly_a}
    fc = {"type": "FeatureCollection", "features": [feature, {**feature, "geometry": poly_b}]}
    gc = {"type": "GeometryCollection", "geometries": [poly_a, poly_b]}
    teaching = {"geojson": {"geometries": [poly_a, poly_b]}}
    np.testing.assert_array_equal(geo.cover_geojson(feature, max_cells=16), ca)
    for doc in (fc, gc, teaching):
        np.testing.assert_array_equal(geo.cover_geojson(doc, max_cells=16), both)
        got = geo.cover_geojson(doc, max_cells=16, per_geometry=True)
        assert [len(x) for x in got] == [len(ca), len(cb)]
    # A MultiPolygon (or a nested GeometryCollection) is one geometry: one covering.
    multi = {"type": "MultiPolygon", "coordinates": [[a], [b]]}
    nested = {
        "type": "Feature",
        "geometry": {"type": "GeometryCollection", "geometries": [poly_a, poly_b]},
    }
    np.testing.assert_array_equal(
        geo.cover_geojson(nested, max_cells=32), geo.cover_geojson(multi, max_cells=32)
    )
    # Null geometries and empty polygons cover nothing; altitudes are ignored.
    fc_null = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": None}, feature],
    }
    got = geo.cover_geojson(fc_null, max_cells=16, per_geometry=True)
    assert len(got[0]) == 0
    np.testing.assert_array_equal(got[1], ca)
    assert len(geo.cover_geojson({"type": "MultiPolygon", "coordinates": []})) == 0
    assert len(geo.cover_geojson({"type": "FeatureCollection", "features": []})) == 0
    with_alt = {"type": "Polygon", "coordinates": [[[x, y, 100.0] for x, y in a]]}
    np.testing.assert_array_equal(geo.cover_geojson(with_alt, max_cells=16), ca)
    assert geo.cover_geojson(poly_a, max_cells=16, only_id=True).tolist() == ca.tolist()


# --------------------------------------------------------------------------------------------
# Bad input: a clear error, never a crash


def bad_ring_doc(ring):
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square(0, 0, 1)]}},
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}},
        ],
    }


@pytest.mark.parametrize(
    ("ring", "match"),
    [
        ([[0, 0], [1, 1], [0, 0]], "feature 1, polygon 0 ring 0 .*at least 3 distinct"),
        ([[0, 0], [1, 0], [1, 0], [0, 0]], "at least 3 distinct vertices, got 2"),
        ([[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]], "feature 1.*crosses"),
        ([[0, 0], [10, 0], [10, 95], [0, 0]], r"feature 1.*latitude must lie in \[-90, 90\]"),
        ([[0, 0], [10, 0], [float("nan"), 5], [0, 0]], "feature 1.*vertex 2"),
        ([[0, 0], [10, 0], [5, 5], [10, 10], [0, 10], [5, 5], [0, 0]], "feature 1.*uplicate"),
        ([[0, 0], [1, 0]], "at least 3"),
        ([[0, 0], [10, 0], [190, 5], [0, 0]], r"vertex 2 .*longitude in \[-180, 180\]"),
        ([], "at least 3 distinct vertices, got 0"),
    ],
)
def test_invalid_rings(ring, match):
    with pytest.raises(ValueError, match=match):
        geo.cover_geojson(bad_ring_doc(ring))


@pytest.mark.parametrize(
    ("coordinates", "match"),
    [
        (
            [square(0, 0, 10), square(20, 20, 1)],
            "ring 1 is a hole of ring 0 but does not lie inside",
        ),
        ([square(0, 0, 10), square(5, 5, 10)], "does not lie inside"),
        ([square(0, 0, 10), square(0, 0, 10, clockwise=True)], "uplicate|overlap"),
    ],
)
def test_invalid_polygons(coordinates, match):
    with pytest.raises(ValueError, match=f"the geometry: .*({match})"):
        geo.cover_geojson({"type": "Polygon", "coordinates": coordinates})


def test_min_level_that_would_exhaust_memory_is_refused():
    with pytest.raises(ValueError, match="the geometry: min_level=20 would force about"):
        geo.cover_geojson(as_geojson(HAND_MADE["continent"]), min_level=20)
    assert geo.cover_geojson(as_geojson(HAND_MADE["tiny"]), min_level=20).size > 0


def test_overlapping_multipolygon():
    doc = {"type": "MultiPolygon", "coordinates": [[square(0, 0, 10)], [square(2, 2, 2)]]}
    with pytest.raises(ValueError, match="inside another polygon's shell"):
        geo.cover_geojson(doc)
    doc = {"type": "MultiPolygon", "coordinates": [[square(0, 0, 10)], [square(5, 5, 10)]]}
    with pytest.raises(ValueError, match="the geometry: rings 0 and 1 cross or partly overlap"):
        geo.cover_geojson(doc)


@pytest.mark.parametrize(
    ("doc", "exc", "match"),
    [
        (
            {"type": "Point", "coordinates": [0, 0]},
            ValueError,
            "unsupported GeoJSON object of type 'Point'",
        ),
        (
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            },
            ValueError,
            "the feature: geometry type 'LineString' cannot be covered",
        ),
        ({"type": "FeatureCollection", "features": {}}, ValueError, "must be a JSON array"),
        (
            {"type": "FeatureCollection", "features": [1]},
            ValueError,
            "feature 0: expected a GeoJSON Feature",
        ),
        (
            {"type": "Polygon", "coordinates": [[["a", "b"], [1, 1], [2, 2]]]},
            ValueError,
            r"positions must be \[longitude, latitude\]",
        ),
        ({"type": "Polygon", "coordinates": [[1, 2, 3, 4]]}, ValueError, "pairs"),
        ({"hello": 1}, ValueError, "unsupported GeoJSON object"),
        (42, TypeError, "source must be a path"),
        ("[1, 2]", ValueError, "must be a JSON object"),
    ],
)
def test_bad_documents(doc, exc, match):
    with pytest.raises(exc, match=match):
        geo.cover_geojson(doc)


def test_files_and_json_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        geo.cover_geojson(tmp_path / "missing.geojson")
    with pytest.raises(FileNotFoundError):
        geo.cover_geojson(str(tmp_path / "missing.geojson"))
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "Polygon",\n  "coordinates": [[[0, 0], [1, 0],, [1, 1]]]}')
    with pytest.raises(ValueError, match=r"bad.geojson is not valid JSON: .* line 2 column 35"):
        geo.cover_geojson(bad)
    with pytest.raises(ValueError, match=r"the GeoJSON text is not valid JSON: .* line 1 column 9"):
        geo.cover_geojson('{"type" "Polygon"}')
    with pytest.raises(ValueError, match=r"not UTF-8|not valid JSON"):
        geo.cover_geojson(b"\xff\xfe{")


POLY = {"type": "Polygon", "coordinates": [square(0, 0, 1)]}


@pytest.mark.parametrize(
    ("options", "exc", "match"),
    [
        ({"min_level": 10, "max_level": 5}, ValueError, "min_level=10 must be <= max_level=5"),
        ({"max_level": 31}, ValueError, "max_level must be between 0 and 30, got 31"),
        ({"min_level": -1}, ValueError, "min_level must be between 0 and 30, got -1"),
        ({"level_mod": 4}, ValueError, "level_mod must be between 1 and 3, got 4"),
        ({"level_mod": 0}, ValueError, "level_mod must be between 1 and 3, got 0"),
        ({"max_cells": 0}, ValueError, "max_cells must be between 1 and"),
        ({"max_cells": 2.5}, TypeError, "max_cells must be an int"),
        ({"max_level": "3"}, TypeError, "max_level must be an int"),
        ({"n_threads": 0}, ValueError, "n_threads=0"),
        ({"only_id": False}, ValueError, "only_id=False is not supported.*cell_to_token"),
        ({"only_id": "tokens"}, ValueError, "cell_to_latlng"),
        ({"max_cell_tests": 0}, ValueError, "max_cell_tests must be >= 1, got 0"),
        ({"max_cell_tests": 1.5}, TypeError, "max_cell_tests must be an int"),
        ({"max_cell_tests": "fast"}, ValueError, "max_cell_tests must be 'auto', None or an int"),
    ],
)
def test_bad_options(options, exc, match):
    with pytest.raises(exc, match=match):
        geo.cover_geojson(POLY, **options)


# --------------------------------------------------------------------------------------------
# Points, cells and tokens


def special_points():
    """Poles, +-180, face edges and centres, and points on cell edges and corners."""
    lats = [0.0, 90.0, -90.0, 45.0, -45.0, 35.26438968275465, -35.26438968275465, 89.999999999]
    lons = [0.0, 180.0, -180.0, 45.0, -45.0, 90.0, -90.0, 135.0, -135.0, 179.9999999999, -1e-300]
    pts = [(a, b) for a in lats for b in lons]
    # Cell corners at several levels, as the official binding computes them: a corner at level
    # L lies on the edges of every coarser cell around it.
    rng = np.random.default_rng(7)
    for level in (1, 5, 10, 20, 30):
        for _ in range(200):
            ll = s2.S2LatLng.FromDegrees(rng.uniform(-90, 90), rng.uniform(-180, 180))
            cell = s2.S2Cell(s2.S2CellId(ll).parent(level))
            for k in range(4):
                v = s2.S2LatLng(cell.GetVertex(k))
                pts.append((v.lat().degrees(), v.lng().degrees()))
    # Exact binary fractions of a degree: grids that land on cell boundaries in (u, v).
    for k in range(-8, 9):
        pts.append((k * 11.25, k * 22.5))
    lat, lon = np.array(pts).T
    return lat, lon


def random_points(n, seed=1):
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    s_lat, s_lon = special_points()
    return np.concatenate([lat, s_lat]), np.concatenate([lon, s_lon])


def official_cells(lat, lon, level=30):
    return np.array(
        [
            s2.S2CellId(s2.S2LatLng.FromDegrees(a, b)).parent(level).id()
            for a, b in zip(lat, lon, strict=True)
        ],
        dtype=np.uint64,
    )


def test_latlng_to_cell_matches_official_binding_and_s2cell():
    s2cell = pytest.importorskip("s2cell")
    lat, lon = random_points(100_000)
    got = geo.latlng_to_cell(lat, lon)
    official = official_cells(lat, lon)
    np.testing.assert_array_equal(got, official)
    want = np.array(
        [s2cell.lat_lon_to_cell_id(a, b) for a, b in zip(lat, lon, strict=True)], dtype=np.uint64
    )
    # s2cell breaks ties between cube faces the other way (a point with |x| == |y|, such as
    # longitude 45 at latitude 35.26, the cube's corner, goes to face 0 in s2cell and to face 1
    # in S2): where it differs, it differs from the official library too, always by the face.
    mismatch = np.flatnonzero(got != want)
    assert np.all(mismatch >= 100_000), "s2cell and hotloop disagree on a random point"
    assert np.all(official[mismatch] != want[mismatch])
    assert np.all((got[mismatch] >> np.uint64(61)) != (want[mismatch] >> np.uint64(61)))
    assert mismatch.size < 300
    for level in (0, 1, 7, 13, 29):
        np.testing.assert_array_equal(
            geo.latlng_to_cell(lat, lon, level), official_cells(lat, lon, level)
        )
        want = [
            s2cell.lat_lon_to_cell_id(a, b, level)
            for a, b in zip(lat[:3000], lon[:3000], strict=True)
        ]
        np.testing.assert_array_equal(geo.latlng_to_cell(lat[:3000], lon[:3000], level), want)


def test_exact_leaf_boundaries_follow_current_s2():
    # 2**30 * t is exactly 478896715 here: S2 0.10 (what hotloop links) would round the row
    # half to even, S2 0.11+ and s2cell take the floor; hotloop follows current S2.
    s2cell = pytest.importorskip("s2cell")
    lat, lon = 46.92986692568797, 4.6557569826083975
    got = int(geo.latlng_to_cell([lat], [lon])[0])
    assert got == s2.S2CellId(s2.S2LatLng.FromDegrees(lat, lon)).id() == 5184304031146164503
    assert got == s2cell.lat_lon_to_cell_id(lat, lon)


def test_tokens_match_official_binding_and_s2cell():
    s2cell = pytest.importorskip("s2cell")
    lat, lon = random_points(100_000, seed=2)
    ids = geo.latlng_to_cell(lat, lon, 30)
    ids = np.concatenate([ids, geo.cell_parent(ids[:5000], 12), geo.cell_parent(ids[:50], 0)])
    tokens = geo.cell_to_token(ids)
    assert tokens.dtype == np.dtype("<U16")
    want = [s2.S2CellId(int(i)).ToToken() for i in ids]
    assert tokens.tolist() == want
    assert tokens[:2000].tolist() == [s2cell.cell_id_to_token(int(i)) for i in ids[:2000]]
    np.testing.assert_array_equal(geo.token_to_cell(tokens), ids)
    np.testing.assert_array_equal(geo.token_to_cell(want), ids)
    np.testing.assert_array_equal(geo.token_to_cell(np.char.upper(tokens)), ids)
    np.testing.assert_array_equal(geo.token_to_cell(np.char.encode(tokens, "ascii")), ids)


@given(st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_tokens_round_trip_any_id(values):
    ids = np.array(values, dtype=np.uint64)
    tokens = geo.cell_to_token(ids)
    assert tokens.tolist() == [s2.S2CellId(v).ToToken() for v in values]
    np.testing.assert_array_equal(geo.token_to_cell(tokens), ids)


def test_cell_centres_parents_levels_match_official_binding():
    lat, lon = random_points(20_000, seed=3)
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 31, lat.size)
    ids = np.array(
        [
            geo.latlng_to_cell(lat[i : i + 1], lon[i : i + 1], int(levels[i]))[0]
            for i in range(lat.size)
        ]
    )
    np.testing.assert_array_equal(geo.cell_level(ids), levels)
    c_lat, c_lon = geo.cell_to_latlng(ids)
    for i in range(0, ids.size, 7):
        ll = s2.S2CellId(int(ids[i])).ToLatLng()
        assert c_lat[i] == ll.lat().degrees() and c_lon[i] == ll.lng().degrees()
    parents = geo.cell_parent(ids[levels >= 9], 9)
    want = [s2.S2CellId(int(i)).parent(9).id() for i in ids[levels >= 9]]
    np.testing.assert_array_equal(parents, want)
    np.testing.assert_array_equal(geo.cell_level(parents), 9)


def test_threads_and_shapes_do_not_change_results():
    lat, lon = random_points(200_000, seed=4)
    one = geo.latlng_to_cell(lat, lon, n_threads=1)
    np.testing.assert_array_equal(geo.latlng_to_cell(lat, lon, n_threads=3), one)
    np.testing.assert_array_equal(
        geo.latlng_to_cell(lat.astype(np.float32), lon.astype(np.float32)),
        geo.latlng_to_cell(
            lat.astype(np.float32).astype(np.float64), lon.astype(np.float32).astype(np.float64)
        ),
    )
    grid = geo.latlng_to_cell(
        lat[:1000].reshape(20, 50), lon[:1000].reshape(20, 50)[:, ::-1].copy()[:, ::-1]
    )
    assert grid.shape == (20, 50)
    np.testing.assert_array_equal(grid.ravel(), one[:1000])
    strided = geo.latlng_to_cell(lat[::2], lon[::2])
    np.testing.assert_array_equal(strided, one[::2])
    for f in (geo.cell_to_token, geo.cell_level):
        assert f(one[:1000].reshape(-1, 10)[:3]).shape == (3, 10)
    a1, o1 = geo.cell_to_latlng(one, n_threads=1)
    a2, o2 = geo.cell_to_latlng(one, n_threads=2)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(
        geo.cell_parent(one, 5, n_threads=1), geo.cell_parent(one, 5, n_threads=2)
    )
    t1 = geo.cell_to_token(one, n_threads=1)
    assert (t1 == geo.cell_to_token(one, n_threads=2)).all()
    np.testing.assert_array_equal(geo.token_to_cell(t1, n_threads=2), one)
    assert geo.latlng_to_cell([], []).shape == (0,)
    assert geo.cell_to_token([]).shape == (0,)
    assert geo.token_to_cell([]).shape == (0,)
    assert geo.cell_level(np.array([], dtype=np.uint64)).shape == (0,)


# --------------------------------------------------------------------------------------------
# Threads: hotloop's pool (not OpenMP), identical results for any thread count, and after fork


def many_polygons(n, seed=5):
    """n small star-shaped polygons around the globe, one in three with a hole."""
    rng = np.random.default_rng(seed)
    features = []
    for i in range(n):
        lon0, lat0 = rng.uniform(-179, 179), rng.uniform(-80, 80)
        radius = 10 ** rng.uniform(-2, 0.5)
        rings = [star(lon0, lat0, rng.uniform(0.5, 1.0, int(rng.integers(3, 40))) * radius)]
        if i % 3 == 0:
            rings.append(regular(lon0, lat0, 0.2 * radius, 5))
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": rings}})
    return {"type": "FeatureCollection", "features": features}


def geo_results(n_threads):
    """Every parallel function of hotloop.geo on inputs large enough to use helper threads."""
    lat, lon = random_points(60_000, seed=8)
    ids = geo.latlng_to_cell(lat, lon, n_threads=n_threads)
    centres = geo.cell_to_latlng(ids, n_threads=n_threads)
    tokens = geo.cell_to_token(ids, n_threads=n_threads)
    return {
        "ids": ids,
        "lat": centres[0],
        "lon": centres[1],
        "parents": geo.cell_parent(ids, 11, n_threads=n_threads),
        "tokens": tokens.astype("S16").view(np.uint8),
        "back": geo.token_to_cell(tokens, n_threads=n_threads),
        "cover": geo.cover_geojson(many_polygons(300), max_cells=16, n_threads=n_threads),
        "interior": geo.cover_geojson(
            many_polygons(100, seed=6), max_cells=16, interior=True, n_threads=n_threads
        ),
    }


def digest(results):
    return {
        k: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest() for k, v in results.items()
    }


def child_digest(_=None):
    return digest(geo_results(2))


def test_one_and_two_threads_agree():
    one, two = geo_results(1), geo_results(2)
    for key in one:
        np.testing.assert_array_equal(one[key], two[key], err_msg=key)
    np.testing.assert_array_equal(one["back"], one["ids"])


def test_first_invalid_geometry_is_reported_whatever_the_threads():
    doc = many_polygons(400)
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}
    doc["features"][150]["geometry"] = bad
    doc["features"][390]["geometry"] = {"type": "Polygon", "coordinates": [[[0, 95], [1, 1]]]}
    for n_threads in (1, 2, 3):
        with pytest.raises(ValueError, match=r"^feature 150, polygon 0 ring 0 \(shell\): a ring"):
            geo.cover_geojson(doc, n_threads=n_threads)


def test_results_after_fork_match_the_parent():
    # The parent's calls started the pool's helper threads; a forked child has none of them and
    # must neither wait for them nor differ. A hang fails through the deadline.
    want = digest(geo_results(2))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        status = 1
        try:
            os.close(read)
            os.write(write, json.dumps(child_digest()).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("hotloop.geo hung in a forked child")
        time.sleep(0.05)
    with os.fdopen(read, "rb") as f:
        got = f.read()
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads(got) == want


def test_results_in_a_fork_pool_match_the_parent():
    want = digest(geo_results(2))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map_async(child_digest, range(2)).get(timeout=120)
    assert got == [want, want]


def test_signed_ids_are_accepted():
    ids = geo.latlng_to_cell([10.0, 20.0], [30.0, 40.0], 10)
    np.testing.assert_array_equal(geo.cell_level(ids.astype(np.int64)), [10, 10])


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (
            lambda: geo.latlng_to_cell([91.0], [0.0]),
            ValueError,
            r"point 0 has lat=91.0.*\[-90, 90\]",
        ),
        (lambda: geo.latlng_to_cell([0.0, np.nan], [0.0, 0.0]), ValueError, "point 1 has lat=nan"),
        (lambda: geo.latlng_to_cell([0.0, 1.0], [0.0, np.inf]), ValueError, "point 1"),
        (
            lambda: geo.latlng_to_cell([0.0, 1.0], [0.0, 180.00001]),
            ValueError,
            r"longitudes in \[-180, 180\]",
        ),
        (lambda: geo.latlng_to_cell([0.0, 1.0], [0.0, 1.0, 2.0]), ValueError, "broadcast"),
        (
            lambda: geo.latlng_to_cell([0.0], [0.0], 31),
            ValueError,
            "level must be between 0 and 30, got 31",
        ),
        (
            lambda: geo.latlng_to_cell([0.0], [0.0], -1),
            ValueError,
            "level must be between 0 and 30, got -1",
        ),
        (
            lambda: geo.latlng_to_cell(np.array([1], dtype=np.int64), [0.0]),
            TypeError,
            "lat must be an ndarray of dtype float64 or float32.*got ndarray of dtype int64",
        ),
        (lambda: geo.latlng_to_cell(["a"], [0.0]), TypeError, "lat must hold real numbers"),
        (lambda: geo.cell_level([0]), ValueError, r"ids\[0\] = 0 is not a valid S2 cell id"),
        (lambda: geo.cell_level(np.array([2**64 - 1], dtype=np.uint64)), ValueError, "not a valid"),
        (lambda: geo.cell_level([1.5]), TypeError, "dtype uint64, got dtype float64"),
        (lambda: geo.cell_level([-5]), ValueError, "negative value -5"),
        (lambda: geo.cell_to_latlng([2]), ValueError, "not a valid"),
        (
            lambda: geo.cell_parent(geo.latlng_to_cell([0.0], [0.0], 5), 6),
            ValueError,
            "level=6 is deeper than the level 5",
        ),
        (lambda: geo.cell_parent([0], 3), ValueError, "not a valid"),
        (
            lambda: geo.cell_parent(geo.latlng_to_cell([0.0], [0.0]), 31),
            ValueError,
            "between 0 and 30",
        ),
        (
            lambda: geo.token_to_cell(["89c25", "zz"]),
            ValueError,
            r"tokens\[1\] = 'zz' is not an S2 cell token",
        ),
        (lambda: geo.token_to_cell(["0123456789abcdef0"]), ValueError, "not an S2 cell token"),
        (lambda: geo.token_to_cell([""]), ValueError, "not an S2 cell token"),
        (lambda: geo.token_to_cell(["é"]), ValueError, "non-ASCII"),
        (lambda: geo.token_to_cell([1, 2]), TypeError, "str or bytes"),
    ],
)
def test_cell_function_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# One rule for every cell function: the result has the input's shape, and a scalar gives a NumPy
# scalar (a 0-d array stays a 0-d array).
def _ids_2x3x4():
    rng = np.random.default_rng(9)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 24)))
    return geo.latlng_to_cell(lat, rng.uniform(-180, 180, 24), 13).reshape(2, 3, 4)


CELL_FUNCTIONS = {
    "cell_to_latlng": (geo.cell_to_latlng, lambda ids: ids, (np.float64, np.float64)),
    "cell_parent": (lambda x: geo.cell_parent(x, 7), lambda ids: ids, np.uint64),
    "cell_level": (geo.cell_level, lambda ids: ids, np.int8),
    "cell_to_token": (geo.cell_to_token, lambda ids: ids, np.str_),
    "token_to_cell": (geo.token_to_cell, geo.cell_to_token, np.uint64),
}


@pytest.mark.parametrize("name", CELL_FUNCTIONS)
def test_cell_functions_keep_the_input_shape(name):
    f, make_input, scalar_type = CELL_FUNCTIONS[name]
    data = make_input(_ids_2x3x4())  # ids, or tokens for token_to_cell

    def parts(result):  # cell_to_latlng returns (lat, lon)
        return result if isinstance(result, tuple) else (result,)

    whole = parts(f(data))
    flat = parts(f(data.ravel()))
    types = scalar_type if isinstance(scalar_type, tuple) else (scalar_type,)
    for got, one, t in zip(whole, flat, types, strict=True):
        assert got.shape == (2, 3, 4) and got.dtype.type is t
        np.testing.assert_array_equal(got.ravel(), one)
    # Scalars in: NumPy scalars out, of the array result's dtype.
    first = data.ravel()[0]
    scalars = [first, first.item()]  # NumPy scalar, Python int or str
    if name == "token_to_cell":
        scalars.append(first.item().encode("ascii"))
    for scalar in scalars:
        for got, one, t in zip(parts(f(scalar)), flat, types, strict=True):
            assert type(got) is t, (scalar, got)
            assert got == one[0]
    # 0-d in, 0-d out; lists, empty and non-contiguous N-D arrays keep their shapes.
    for got, one in zip(parts(f(np.array(first))), flat, strict=True):
        assert isinstance(got, np.ndarray) and got.shape == () and got[()] == one[0]
    for got, one in zip(parts(f(data[0, 0].tolist())), flat, strict=True):
        assert got.shape == (4,)
        np.testing.assert_array_equal(got, one[:4])
    for got in parts(f(data[:, :0])):
        assert got.shape == (2, 0, 4)
    view = data[:, ::2, ::-1]
    for got, want in zip(parts(f(view)), parts(f(view.copy())), strict=True):
        assert got.shape == (2, 2, 4)
        np.testing.assert_array_equal(got, want)


def test_latlng_to_cell_broadcasts_lat_and_lon():
    lat = np.array([[-45.5], [0.0], [89.9]])  # (3, 1)
    lon = np.array([-179.5, -10.0, 0.0, 179.99])  # (4,)
    got = geo.latlng_to_cell(lat, lon, 20)
    assert got.shape == (3, 4)
    want = official_cells(*(a.ravel() for a in np.broadcast_arrays(lat, lon)), level=20)
    np.testing.assert_array_equal(got.ravel(), want)
    row = geo.latlng_to_cell(10.0, lon)  # one latitude, many longitudes
    np.testing.assert_array_equal(row, geo.latlng_to_cell(np.full(4, 10.0), lon))
    one = geo.latlng_to_cell(10, -20)  # Python ints, as in a list
    assert type(one) is np.uint64
    assert one == official_cells([10.0], [-20.0])[0]
    assert type(geo.latlng_to_cell(np.float32(10.5), np.float64(-20))) is np.uint64
    zero_d = geo.latlng_to_cell(np.array(10.0), -20.0)
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == () and zero_d[()] == one
    assert geo.latlng_to_cell(np.zeros((2, 0)), 5.0).shape == (2, 0)
    with pytest.raises(ValueError, match=r"point \(1, 0\) has lat=91.0"):
        geo.latlng_to_cell(np.array([[0.0], [91.0]]), np.zeros(3))
    with pytest.raises(ValueError, match="the point has lat=nan"):
        geo.latlng_to_cell(float("nan"), 0.0)
    with pytest.raises(TypeError, match="lat must hold real numbers"):
        geo.latlng_to_cell("10", 0.0)


def test_errors_name_the_element_of_n_d_input():
    ids = _ids_2x3x4().copy()
    ids[1, 2, 3] = 0
    with pytest.raises(ValueError, match=r"ids\[1, 2, 3\] = 0 is not a valid S2 cell id"):
        geo.cell_level(ids)
    with pytest.raises(ValueError, match=r"^ids = 0 is not a valid S2 cell id"):
        geo.cell_to_latlng(0)
    with pytest.raises(ValueError, match=r"tokens\[0, 1\] = 'zz' is not an S2 cell token"):
        geo.token_to_cell([["89c25", "zz"]])
    with pytest.raises(ValueError, match=r"^tokens = 'zz' is not"):
        geo.token_to_cell("zz")


def test_token_x_is_id_zero():
    assert geo.token_to_cell(["X", "x"]).tolist() == [0, 0]
    assert geo.cell_to_token([0]).tolist() == ["X"]


# --------------------------------------------------------------------------------------------
# Without S2: the build skips the family (or fails in CI), and the import names the package


def test_build_skips_geo_without_its_package(monkeypatch):
    from tools import hotloop_build

    need = dict(hotloop_build.OPTIONAL["hotloop._geo"], python_package="no_such_package_hl")
    monkeypatch.setitem(hotloop_build.OPTIONAL, "hotloop._geo", need)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HOTLOOP_FAIL_NO_OPENMP", raising=False)
    with pytest.warns(UserWarning, match="skipping hotloop._geo.*pip install no_such_package_hl"):
        assert hotloop_build.optional_library("hotloop._geo") is None
    monkeypatch.setenv("CI", "true")
    with pytest.raises(SystemExit, match="CI: every family must build"):
        hotloop_build.optional_library("hotloop._geo")


def test_build_finds_the_wheel_library():
    from tools import hotloop_build

    lib = hotloop_build.optional_library("hotloop._geo")
    assert lib is not None
    assert any(arg.endswith("libs2.a") for arg in lib["extra_link_args"])


def test_import_without_the_compiled_module_names_the_package(monkeypatch):
    import importlib
    import sys

    import hotloop

    monkeypatch.delitem(sys.modules, "hotloop.geo")
    monkeypatch.delattr(hotloop, "geo", raising=False)
    monkeypatch.delattr(hotloop, "_geo", raising=False)
    monkeypatch.setitem(sys.modules, "hotloop._geo", None)  # as if the build skipped it
    with pytest.raises(ImportError, match="install the Python package s2geometry"):
        importlib.import_module("hotloop.geo")
