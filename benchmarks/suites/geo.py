"""S2 cells and coverings: hotloop.geo against the official S2 binding and s2cell.

The anchors are what a Python user writes today: the official SWIG binding of S2 (``s2geometry``
on PyPI) called once per point or per vertex in a Python loop, and ``s2cell``, a pure-Python
S2 cell-id implementation. Every contender computes the same ids (hotloop's tests check them id
for id), so the harness compares results exactly.

* latlng_to_cell: 10**6 uniformly random points (the official binding, 2 * 10**5 of them for
  s2cell, whose loop would otherwise run for a minute per call).
* cover_geojson: 10,000 star-shaped polygons (8 to 32 vertices, 0.01 to 1 degree across, one in
  four with a hole) read from one GeoJSON file, parse included, covered with at most 32 cells
  down to level 20; the anchor parses with ``json`` (and ``orjson`` when it is installed) and
  builds loops and polygons through the binding, exactly as hotloop does (normalised rings,
  InitNested). Both spend most of the time in the same S2 covering code (S2RegionCoverer on an
  S2Polygon): that, not the parsing, bounds the one-thread ratio.

Why cover_geojson is about 2x, not 3x, the binding on one thread. CPU time per 1000 of these
polygons on the 2-vCPU VM (loaded by other jobs: medians of 9 rounds, ranges over two runs):

=====================================================================  =========  =========
step                                                                   binding    hotloop
=====================================================================  =========  =========
``json.loads``                                                         18-22 ms   18-22 ms
GeoJSON to S2 loops and polygons through SWIG / to flat rings          161-173    8-11
GetCovering, building the index first / the C++ driver (loops,         246-247    196-219
polygons, index, validation, coverings)
cell ids to Python ints                                                33-75      -
total                                                                  494-533    233-257
=====================================================================  =========  =========

Inside the C++ figures (cxx/bench/geo_benchmark's GeoPolygonSteps and GeoCoverSteps, polygons
without holes): the loops take 6 ms, the index 11, the validation 5, and the covering 198
through S2Polygon, what the binding runs, or 169 through hotloop's CoverRegion (cxx/src/geo.cpp),
which answers a candidate cell's MayIntersect and Contains in one pass of S2's own code. So the
covering and its index are three quarters of hotloop's time, and were parsing, flattening and
building free, the ratio would still be at most about 510 / 180 = 2.8: 3x needs S2's covering
itself faster, with the same cells. The levers measured that would make it faster change the
cells: a finer S2ShapeIndex (1 to 4 edges per cell instead of 10) is 20-40% faster, but 16 to
90 of 1000 coverings differ (S2's MayIntersect and Contains answer conservatively for a cell
that spans several index cells, so the index's shape decides some answers); covering the
S2Loop instead is 20% faster, but about 2% of the coverings differ (the loop approximates
MayIntersect differently). What remains inside the
covering is S2's edge clipping and point-in-polygon arithmetic, and malloc (10%; a faster
allocator is out of scope).

The peers' versions are in the contenders' names.
"""

from __future__ import annotations

import json
import math
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from benchmarks.harness import Case, Contender, Unavailable, at_least

N_POINTS = 1_000_000
N_POINTS_S2CELL = 200_000
N_POLYGONS = 10_000
COVER = {"max_cells": 32, "max_level": 20}


def same_ids(a, b) -> bool:
    return np.array_equal(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64))


def points(n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(-180, 180, n)


def star_ring(rng, lon0, lat0, radius, n):
    """A star-shaped ring around (lon0, lat0) in degrees, closed as GeoJSON writes it."""
    scale = 1 / max(math.cos(math.radians(lat0)), 0.2)
    ring = []
    for k in range(n):
        a = 2 * math.pi * k / n
        r = radius * rng.uniform(0.5, 1.0)
        ring.append([round(lon0 + scale * r * math.cos(a), 7), round(lat0 + r * math.sin(a), 7)])
    return [*ring, ring[0]]


def polygon_file(n: int, folder: Path, seed: int = 12) -> Path:
    rng = np.random.default_rng(seed)
    features = []
    for i in range(n):
        lon0, lat0 = rng.uniform(-179, 179), rng.uniform(-70, 70)
        radius = 10 ** rng.uniform(-2, 0) / 2
        rings = [star_ring(rng, lon0, lat0, radius, int(rng.integers(8, 33)))]
        if i % 4 == 0:
            hole = star_ring(rng, lon0, lat0, radius * 0.2, 6)
            rings.append(hole[::-1])
        features.append(
            {
                "type": "Feature",
                "properties": {"id": i},
                "geometry": {"type": "Polygon", "coordinates": rings},
            }
        )
    path = folder / "polygons.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def cases(scale: str) -> list[Case]:
    try:
        from hotloop import geo
    except ImportError as exc:
        raise Unavailable(str(exc)) from None
    try:
        import s2cell
        import s2geometry as s2
    except ImportError as exc:
        raise Unavailable(f"the official S2 binding or s2cell is not installed ({exc})") from None

    def official_cells(lat, lon):
        LL, CellId = s2.S2LatLng.FromDegrees, s2.S2CellId
        return np.array(
            [CellId(LL(a, b)).id() for a, b in zip(lat, lon, strict=True)], dtype=np.uint64
        )

    def s2cell_cells(lat, lon):
        f = s2cell.lat_lon_to_cell_id
        return np.array(
            [f(a, b) for a, b in zip(lat.tolist(), lon.tolist(), strict=True)], dtype=np.uint64
        )

    try:
        import orjson
    except ImportError:
        orjson = None

    def official_cover(path, loads=json.loads):
        with open(path, "rb") as f:
            doc = loads(f.read())
        coverer = s2.S2RegionCoverer()
        coverer.set_max_cells(COVER["max_cells"])
        coverer.set_max_level(COVER["max_level"])
        LL = s2.S2LatLng.FromDegrees
        out = []
        for feature in doc["features"]:
            loops = []
            for ring in feature["geometry"]["coordinates"]:
                loop = s2.S2Loop([LL(lat, lon).ToPoint() for lon, lat in ring[:-1]])
                loop.Normalize()
                loops.append(loop)
            polygon = s2.S2Polygon()
            polygon.InitNested(loops)
            out.extend(cell.id() for cell in coverer.GetCovering(polygon))
        return np.array(out, dtype=np.uint64)

    s2_version = metadata.version("s2geometry")
    s2cell_version = metadata.version("s2cell")
    cover_anchors = [
        Contender(
            f"json + official S2 binding {s2_version}, Python loop",
            official_cover,
            require=at_least(3),
        ),
    ]
    if orjson is not None:
        cover_anchors.append(
            Contender(
                f"orjson {metadata.version('orjson')} + official S2 binding {s2_version}, "
                "Python loop",
                official_cover,
                {"loads": orjson.loads},
            )
        )

    # The default run keeps every case at a tenth of the full size (one row per claim).
    div = {"quick": None, "default": 10, "full": 1}[scale]
    n_points = 2000 if div is None else N_POINTS // div
    n_s2cell = 500 if div is None else N_POINTS_S2CELL // div
    n_polygons = 50 if div is None else N_POLYGONS // div
    folder = Path(tempfile.mkdtemp(prefix="hotloop-geo-bench-"))

    def hotloop_variants(fn, **kwargs):
        return [
            Contender(
                f"hotloop.geo.{fn.__name__}, 1 thread",
                fn,
                {**kwargs, "n_threads": 1},
                key="1 thread",
            ),
            Contender(
                f"hotloop.geo.{fn.__name__}, 2 threads",
                fn,
                {**kwargs, "n_threads": 2},
                key="2 threads",
            ),
        ]

    return [
        Case(
            f"latlng_to_cell, {n_points:,} points",
            lambda: points(n_points),
            hotloop_variants(geo.latlng_to_cell),
            [
                Contender(
                    f"official S2 binding {s2_version}, Python loop",
                    official_cells,
                    require={"1 thread": at_least(30)},
                ),
            ],
            agree=same_ids,
        ),
        Case(
            f"latlng_to_cell, {n_s2cell:,} points",
            lambda: points(n_s2cell),
            hotloop_variants(geo.latlng_to_cell),
            [
                Contender(
                    f"s2cell {s2cell_version} (pure Python), loop",
                    s2cell_cells,
                    require={"1 thread": at_least(100)},
                )
            ],
            agree=same_ids,
        ),
        Case(
            f"cover_geojson, {n_polygons:,} polygons from one file (parse included)",
            lambda: polygon_file(n_polygons, folder),
            hotloop_variants(geo.cover_geojson, **COVER),
            cover_anchors,
            agree=same_ids,
        ),
    ]
