"""S2 cells and coverings of GeoJSON polygons, on Google's S2 geometry library.

hotloop.geo wraps Google's C++ S2 library, version 0.14, linked statically from the headers
and static libraries (``libs2.a`` and Abseil's) that the official ``s2geometry`` wheel on PyPI
ships; the same wheel's Python binding is the test oracle, so both run the same S2 version.
Debian 12's ``libs2-dev`` (S2 0.10) was tried first and rejected on measurement: it is an
unoptimised debug build (its vector accessors are not even inlined, S2's debug checks and
``--s2debug`` are on), which made one covering 3.6 times slower (650 against 180 us for a
16-gon, 32 cells) than the wheel's optimised build, slower than calling the official binding from
Python. The wheel's objects were compiled by GCC 14: linking them with Debian 12's GCC 12 needs
one empty libstdc++ 13 function, which hotloop defines (cxx/src/geo.cpp); the C++ ABI
(``_GLIBCXX_USE_CXX11_ABI=1``, x86-64 baseline) is otherwise Debian's. Abseil's symbols live in
their own inline namespace (``absl::lts_20250814``) and are kept private to the extension.

Functions
---------
cover_geojson
    The S2 cells covering each polygon of a GeoJSON document, polygons in parallel.
latlng_to_cell, cell_to_latlng, cell_parent, cell_level, cell_to_token, token_to_cell
    Vectorised conversions over NumPy arrays, parallel with the GIL released. The result has
    the input's shape (``lat`` and ``lon`` broadcast together); a scalar (a Python or NumPy
    number, or one str or bytes token) gives a NumPy scalar, a 0-d array a 0-d array.

Geometry rules (every function)
-------------------------------
* Coordinates are GeoJSON's ``[longitude, latitude]`` in degrees; an altitude is ignored.
  Latitudes must lie in [-90, 90] and longitudes in [-180, 180] (RFC 7946's ranges).
* Edges are geodesics (great-circle arcs), S2's model, not the straight lines of the
  longitude/latitude plane that RFC 7946 assumes: a long east-west edge bulges toward the pole.
* Antimeridian: nothing special. An edge from 179 to -179 is the 2-degree arc across it, so a
  ring crossing the antimeridian needs no splitting, and one split in two there also works.
* Poles: a ring around a pole encloses it when that is the smaller side; a vertex at latitude
  +-90 is an ordinary vertex (rings that list the pole once per longitude repeat the same point
  up to rounding, which S2 accepts).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from itertools import chain

import numpy as np

try:
    from hotloop import _geo
except ImportError as exc:
    # Built, but a shared library it needs is missing at run time: name its package.
    from hotloop._native import clearer_import_error

    if (clearer := clearer_import_error(exc)) is not None:
        raise clearer from exc
    # Not built: tools/hotloop_build.py skipped the module for want of S2.
    raise ImportError(
        "hotloop.geo needs Google's S2 geometry library, which was not found when hotloop was "
        "built: install the Python package s2geometry (pip install s2geometry; it ships S2's "
        "C++ headers and static libraries) and rebuild hotloop"
    ) from exc

from hotloop._geo import (
    cell_level,
    cell_parent,
    cell_to_latlng,
    cell_to_token,
    latlng_to_cell,
    token_to_cell,
)

__all__ = [
    "cell_level",
    "cell_parent",
    "cell_to_latlng",
    "cell_to_token",
    "cover_geojson",
    "latlng_to_cell",
    "token_to_cell",
]

_COVERABLE = "Polygon, MultiPolygon, or a GeometryCollection of them"


def cover_geojson(
    source,
    *,
    max_cells=4096,
    min_level=0,
    max_level=30,
    level_mod=1,
    interior=False,
    per_geometry=False,
    max_cell_tests="auto",
    n_threads=None,
    only_id=True,
):
    """Return the S2 cell ids that cover the polygons of a GeoJSON document.

    Parameters
    ----------
    source : str, bytes, os.PathLike or dict
        A path to a GeoJSON file, GeoJSON text (a str starting with ``{``, or bytes), or an
        already parsed document. Accepted documents: a FeatureCollection, a Feature, a
        GeometryCollection, a Polygon or MultiPolygon, or ``{"geojson": {"geometries": [...]}}``.
    max_cells : int, default 4096
        S2RegionCoverer's target cell count per geometry (>= 1). S2 may return more cells when
        ``min_level`` or ``level_mod`` force them.
    min_level, max_level : int, default 0 and 30
        The coarsest and finest cell levels used, 0..30, ``min_level <= max_level``.
    level_mod : int, default 1
        1, 2 or 3: only levels ``min_level + k * level_mod`` are used.
    interior : bool, default False
        False: a covering (the cells contain the geometry). True: an interior covering (the
        cells lie inside the geometry; a small or thin polygon may have none). S2 looks for
        interior cells down to ``max_level`` along the whole boundary until it has
        ``max_cells`` of them, so an interior covering of a sliver (a ring whose vertices lie
        on one great circle, which S2 accepts, or any polygon too thin to hold ``max_cells``
        cells of ``max_level``) tests twice as many cells with each level: for a ring along a
        meridian from -60 to 60 degrees, 0.05 s at ``max_level=12``, 3 s at 18, and days at 30
        (the official binding alike). ``max_cell_tests`` turns that into an error.
    per_geometry : bool, default False
        Return one array per geometry instead of one concatenated array.
    max_cell_tests : int, "auto" or None, default "auto"
        The work budget of one geometry's covering: the most tests of a cell against the
        geometry (S2's ``MayIntersect`` and ``Contains`` calls, finer than ``min_level``;
        0.2 to 1 us each) that S2RegionCoverer may make before the covering is abandoned with a
        ``ValueError``. ``"auto"``: 2**22 (2 to 3 s of work), or ``128 * max_cells`` when
        larger; ordinary coverings need far fewer (countries at the default options: at most
        2**16, 2**17 for interior coverings; 10 to 20 per cell at ``max_cells=100_000``), so
        it changes no result, only stops slivers. None: no limit. Ctrl-C stops any covering
        (``KeyboardInterrupt``) within about 0.05 s.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`. Geometries are covered in parallel, one
        S2RegionCoverer per thread; the result does not depend on the thread count.
    only_id : True
        Kept for compatibility: the result is always cell ids. For tokens or cell centres,
        pass the ids to :func:`cell_to_token` or :func:`cell_to_latlng`.

    Returns
    -------
    ndarray of uint64, or list of ndarray of uint64
        The cell ids of each geometry's covering, in S2's order (sorted by id, normalised:
        no cell contains another), geometries in input order and concatenated; with
        ``per_geometry=True`` the list holds one array per geometry. The geometries are the
        features of a FeatureCollection (a feature with a null geometry has an empty
        covering), the members of a GeometryCollection or of ``"geometries"``, or the one
        Feature, Polygon or MultiPolygon given.

    Raises
    ------
    FileNotFoundError
        If ``source`` names a file that does not exist.
    ValueError
        If the JSON cannot be parsed (the message gives line and column), the document has
        another shape, a geometry is not a polygon type, or S2 rejects a geometry: fewer than 3
        distinct vertices, a self-intersecting ring, duplicate vertices, a latitude outside
        [-90, 90] or longitude outside [-180, 180], NaN, holes outside their shell, overlapping
        polygons. The message names the feature (or geometry) index, the ring, and the reason.
        Also when ``min_level`` would force more than 2**24 cells into one geometry's covering
        (S2 ignores ``max_cells`` there and would exhaust memory), and when a covering needs
        more than ``max_cell_tests`` cell tests (the message names the geometry).
    TypeError, ValueError
        For options outside the ranges above.

    Notes
    -----
    Orientation, holes and winding. GeoJSON (RFC 7946) winds shells counter-clockwise and
    holes clockwise, but real files often do not, and RFC 7946 asks parsers not to reject
    them. S2 instead reads a loop's interior on its left, so a clockwise ring would mean "the
    whole Earth but this". hotloop therefore ignores winding: every ring is taken to bound
    the smaller of the two regions it separates on the sphere (``S2Loop::Normalize``), the first
    ring of a polygon is its shell and the others are its holes, and the polygon is assembled by
    containment (``S2Polygon::InitNested``), which must agree with those roles. Consequently a
    single polygon cannot cover more than a hemisphere; split larger areas into several.
    Rings may be closed (GeoJSON's repeated first vertex) or not; consecutive repeated
    vertices are dropped. Rings are numbered in errors in the order they appear within the
    geometry (shell, then its holes, for each polygon of a MultiPolygon).

    See the module docstring for edges (geodesics), the antimeridian and the poles.
    """
    if only_id is not True:
        raise ValueError(
            f"only_id={only_id!r} is not supported: cover_geojson returns cell ids; convert "
            "them with hotloop.geo.cell_to_token (tokens) or cell_to_latlng (cell centres)"
        )
    doc = _load(source)
    items = _geometries(doc)
    coords, ring_start, shell_of, geom_start, ring_names = _flatten(items)
    cells, offsets, error = _geo._cover_rings(
        coords,
        ring_start,
        shell_of,
        geom_start,
        max_cells,
        min_level,
        max_level,
        level_mod,
        bool(interior),
        max_cell_tests,
        n_threads,
    )
    if error is not None:
        g, ring, message = error
        where = items[g][0]
        if ring >= 0:
            where += f", {ring_names[geom_start[g] + ring]}"
        raise ValueError(f"{where}: {message}")
    if per_geometry:
        return [cells[offsets[g] : offsets[g + 1]] for g in range(len(items))]
    return cells


# --------------------------------------------------------------------------------------------
# GeoJSON to flat rings


def _load(source):
    if isinstance(source, Mapping):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        text, name = bytes(source), "the GeoJSON bytes"
    elif isinstance(source, str) and source.lstrip()[:1] in ("{", "["):
        text, name = source, "the GeoJSON text"
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        with open(name, "rb") as f:
            text = f.read()
    else:
        raise TypeError(
            "source must be a path, GeoJSON text (str or bytes) or a parsed dict, "
            f"got {type(source).__name__}"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text: {exc}") from None


def _geometries(doc) -> list[tuple[str, object]]:
    """[(label for messages, geometry or None)] in output order."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"a GeoJSON document must be a JSON object, got {type(doc).__name__}")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = _list(doc.get("features"), "the FeatureCollection's 'features'")
        out = []
        for i, feature in enumerate(features):
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                raise ValueError(f"feature {i}: expected a GeoJSON Feature object")
            out.append((f"feature {i}", feature.get("geometry")))
        return out
    if kind == "Feature":
        return [("the feature", doc.get("geometry"))]
    if kind == "GeometryCollection":
        members = _list(doc.get("geometries"), "the GeometryCollection's 'geometries'")
        return [(f"geometry {i}", g) for i, g in enumerate(members)]
    if kind in ("Polygon", "MultiPolygon"):
        return [("the geometry", doc)]
    if kind is None and isinstance(doc.get("geojson"), Mapping):
        inner = doc["geojson"]
        if "geometries" in inner and "type" not in inner:
            members = _list(inner["geometries"], "'geojson.geometries'")
            return [(f"geometry {i}", g) for i, g in enumerate(members)]
        return _geometries(inner)
    raise ValueError(
        f"unsupported GeoJSON object of type {kind!r}: expected a FeatureCollection, Feature, "
        f"GeometryCollection, Polygon or MultiPolygon"
    )


def _list(value, what):
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a JSON array, got {type(value).__name__}")
    return value


def _polygons(geometry, label) -> list:
    """The polygons (lists of rings) of one geometry."""
    if geometry is None:
        return []
    if not isinstance(geometry, Mapping):
        raise ValueError(f"{label}: a geometry must be a JSON object")
    kind = geometry.get("type")
    if kind == "Polygon":
        return [_list(geometry.get("coordinates"), f"{label}: 'coordinates'")]
    if kind == "MultiPolygon":
        return _list(geometry.get("coordinates"), f"{label}: 'coordinates'")
    if kind == "GeometryCollection":
        members = _list(geometry.get("geometries"), f"{label}: 'geometries'")
        return [p for g in members for p in _polygons(g, label)]
    raise ValueError(f"{label}: geometry type {kind!r} cannot be covered ({_COVERABLE})")


def _flatten(items):
    """Flat tables for _geo._cover_rings (see its docstring), and each ring's name."""
    positions = []
    ring_start = [0]
    shell_of = []
    geom_start = [0]
    ring_names = []
    rings_by_name = []
    for label, geometry in items:
        first = len(shell_of)
        for p, polygon in enumerate(_polygons(geometry, label)):
            rings = _list(polygon, f"{label}: polygon {p}")
            shell = len(shell_of) - first
            for r, ring in enumerate(rings):
                name = f"polygon {p} ring {r}" + (" (shell)" if r == 0 else " (hole)")
                ring = _list(ring, f"{label}, {name}")
                positions.extend(ring)  # one NumPy conversion for all rings, below
                ring_start.append(len(positions))
                shell_of.append(shell)
                ring_names.append(name)
                rings_by_name.append((f"{label}, {name}", ring))
        geom_start.append(len(shell_of))
    coords = None
    try:
        # The common case, fastest through fromiter; map(len) runs in C (a generator over the
        # positions took half of this function's time).
        if set(map(len, positions)) <= {2}:
            flat = np.fromiter(chain.from_iterable(positions), np.float64, 2 * len(positions))
            coords = flat.reshape(-1, 2)
        else:
            coords = np.array(positions, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    if coords is None or coords.ndim != 2 or coords.shape[1] < 2:
        # Mixed 2-D and 3-D positions, or a bad one: convert ring by ring to say which.
        coords = np.concatenate([_ring_array(where, ring) for where, ring in rings_by_name])
    return (
        np.ascontiguousarray(coords[:, :2], dtype=np.float64),
        np.asarray(ring_start, dtype=np.int64),
        np.asarray(shell_of, dtype=np.int64),
        np.asarray(geom_start, dtype=np.int64),
        ring_names,
    )


def _ring_array(where, ring):
    try:
        a = np.asarray(ring, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: positions must be [longitude, latitude] numbers") from None
    if a.size == 0:
        return a.reshape(0, 2)
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(
            f"{where}: positions must be [longitude, latitude] pairs, got an array of shape "
            f"{a.shape}"
        )
    return a[:, :2]
