"""S2 cells and coverings: the compiled half of hotloop.geo (GeoJSON handling is in geo.py).

Wraps Google's S2 geometry library (0.14, linked statically from the s2geometry wheel; see
hotloop/geo.py for why). S2's classes are declared in hotloop/_cxx/s2/*.pxd, one .pxd per S2
header; loops and polygons are built and validated through hotloop's own layer
(cxx/include/hotloop/geo.hpp), so that S2's fatal checks never see invalid input. Arguments are
validated here with the GIL held, then the loops run in C++ with the GIL released, split over
the process's one thread pool (hotloop::parallel_for, shared with hotloop._threads at import: the
caller works and never waits for a helper that has not started, so a busy machine or a forked
child costs no waiting); nothing raises inside them (failures are returned and raised
afterwards).
"""
import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint64_t
from libcpp.vector cimport vector

from hotloop._cxx.geo cimport (
    CoverFailure, cell_parents, cells_to_latlng, cells_to_tokens, cover_geometries,
    latlng_to_cells, tokens_to_cells,
)
from hotloop._cxx.s2.s2cell_id cimport S2CellId as CppS2CellId
from hotloop._cxx.s2.s2region_coverer cimport S2RegionCoverer as CppS2RegionCoverer
from hotloop._cxx.threads cimport share_pool
from hotloop._threads cimport effective_n_threads
from hotloop._validate cimport as_float_array, as_int

share_pool()

# ============================================================================================
# Argument checks of the geo family only (S2 levels, cell ids, tokens; the shared ones are in
# hotloop._validate); each raises TypeError/ValueError naming the argument and what it accepts.

cdef enum:
    _MAX_LEVEL = 30
cdef object U64 = np.dtype(np.uint64)


cdef int as_level(object value, str name) except -1:
    """An S2 cell level 0..30."""
    return <int>as_int(value, name, 0, _MAX_LEVEL)


cdef object as_cell_ids(object ids, str name):
    """ids as a C-contiguous native uint64 ndarray of any shape (a copy when it must convert).

    Signed integer arrays are accepted when no value is negative; floats, bools and objects are
    refused (a float cannot hold every 64-bit id exactly).
    """
    cdef object arr = ids if type(ids) is np.ndarray else np.asarray(ids)
    cdef object dt = arr.dtype
    if arr.size == 0 and dt.kind == "f" and type(ids) is not np.ndarray:
        return np.empty(arr.shape, U64)  # an empty list
    if dt.kind not in "iu":
        raise TypeError(
            f"{name} must be an array of S2 cell ids with dtype uint64, got dtype {dt}"
        )
    if dt.kind == "i" and arr.size and arr.min() < 0:
        raise ValueError(
            f"{name} must hold S2 cell ids (unsigned 64-bit), got the negative value {arr.min()}"
        )
    return np.ascontiguousarray(arr, dtype=U64)


cdef object as_token_bytes(object tokens, str name):
    """tokens as a C-contiguous 'S' (ASCII bytes) ndarray of any shape."""
    cdef object arr = tokens if type(tokens) is np.ndarray else np.asarray(tokens)
    if arr.dtype.kind == "O" or (arr.size == 0 and arr.dtype.kind == "f"):
        try:
            arr = arr.astype(str)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold str or bytes tokens: {exc}") from None
    if arr.dtype.kind == "U":
        try:
            arr = np.char.encode(arr, "ascii")
        except UnicodeEncodeError:
            raise ValueError(
                f"{name} must hold S2 cell tokens (hexadecimal digits), got non-ASCII text"
            ) from None
    elif arr.dtype.kind != "S":
        raise TypeError(f"{name} must hold str or bytes tokens, got dtype {arr.dtype}")
    if arr.dtype.itemsize == 0:
        arr = arr.astype("S1")
    return np.ascontiguousarray(arr)


cdef object check_options(object max_cells, object min_level, object max_level, object level_mod):
    """S2RegionCoverer's options as a checked tuple of ints."""
    cdef Py_ssize_t cells = as_int(max_cells, "max_cells", 1, 2**31 - 1)
    cdef int lo = as_level(min_level, "min_level")
    cdef int hi = as_level(max_level, "max_level")
    cdef Py_ssize_t mod = as_int(level_mod, "level_mod", 1, 3)
    if lo > hi:
        raise ValueError(f"min_level={lo} must be <= max_level={hi}")
    return cells, lo, hi, mod

# End of the argument checks.
# ============================================================================================

# --------------------------------------------------------------------------------------------
# Points and cells


def latlng_to_cell(lat, lon, level=30, *, n_threads=None):
    """Return the S2 cell of each (latitude, longitude) point.

    Parameters
    ----------
    lat, lon : array_like of float64 or float32, same shape
        Latitudes in [-90, 90] and longitudes in [-180, 180], degrees. float32 input is
        widened to float64 exactly.
    level : int, default 30
        The cells' level, 0 (a cube face) to 30 (leaf cells, about 1 cm).
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`. The result does not depend on it.

    Returns
    -------
    ndarray of uint64, shape of ``lat``
        The cell ids, identical to ``S2CellId(S2LatLng.FromDegrees(lat, lon)).parent(level)``
        of current S2 releases (the official Python binding) and to s2cell.

    Raises
    ------
    ValueError
        If a latitude lies outside [-90, 90], a longitude outside [-180, 180], or a value is
        NaN (the first such point is named), or if the shapes differ.

    Notes
    -----
    The poles belong to one cell each (latitude 90 maps to the same cell for every longitude
    up to the rounding of sin/cos); longitudes -180 and 180 give the same or adjacent leaf cells.
    A point exactly on a cell edge goes to the cell above and to the right of the edge in the
    face's (s, t) coordinates (S2 0.11 and later take ``floor(2**30 * s)``; S2 0.10, which
    Debian ships, rounded half to even there and so disagrees on such points).
    """
    cdef object la = as_float_array(lat, "lat", 1, 32)
    cdef object lo = as_float_array(lon, "lon", 1, 32)
    if la.shape != lo.shape:
        raise ValueError(f"lat and lon must have the same shape, got {la.shape} and {lo.shape}")
    cdef int lvl = as_level(level, "level")
    cdef int nt = effective_n_threads(n_threads)
    shape = la.shape
    la = np.ascontiguousarray(la, dtype=np.float64).reshape(-1)
    lo = np.ascontiguousarray(lo, dtype=np.float64).reshape(-1)
    out = np.empty(la.shape[0], dtype=U64)
    cdef const double[::1] la_v = la, lo_v = lo
    cdef uint64_t[::1] o = out
    cdef int64_t n = la_v.shape[0], bad = 0
    if n:
        with nogil:
            bad = latlng_to_cells(&la_v[0], &lo_v[0], n, lvl, &o[0], nt)
    if bad:
        i = int(np.flatnonzero(~((np.abs(la) <= 90) & (np.abs(lo) <= 180)))[0])
        raise ValueError(
            f"point {i} has lat={float(la[i])!r}, lon={float(lo[i])!r}: latitudes must lie in "
            "[-90, 90] and longitudes in [-180, 180]"
        )
    return out.reshape(shape)


cdef Py_ssize_t first_invalid(const uint64_t[::1] ids, int min_level) noexcept nogil:
    """Index of the first id that is not a valid cell of level >= min_level, or -1."""
    cdef Py_ssize_t i
    cdef CppS2CellId c
    for i in range(ids.shape[0]):
        c = CppS2CellId(ids[i])
        if not c.is_valid() or c.level() < min_level:
            return i
    return -1


cdef object raise_invalid(object arr, Py_ssize_t i, str name, int level):
    cdef uint64_t v = arr[i]
    if not CppS2CellId(v).is_valid():
        raise ValueError(f"{name}[{i}] = {v} is not a valid S2 cell id")
    raise ValueError(
        f"level={level} is deeper than the level {CppS2CellId(v).level()} of {name}[{i}] = {v}; "
        "a parent's level must be <= its cell's"
    )


cdef object checked_ids(object ids, int min_level):
    cdef object arr = as_cell_ids(ids, "ids")
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t bad
    with nogil:
        bad = first_invalid(flat, min_level)
    if bad >= 0:
        raise_invalid(arr.reshape(-1), bad, "ids", min_level)
    return arr


def cell_to_latlng(ids, *, n_threads=None):
    """Return the centres of S2 cells as (latitude, longitude) in degrees.

    Parameters
    ----------
    ids : array_like of uint64
        Valid S2 cell ids of any level (non-negative signed integers are accepted too).
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    lat, lon : ndarray of float64, shape of ``ids``
        ``S2CellId(id).ToLatLng()``: the centre of the cell on the sphere, longitudes in
        [-180, 180].

    Raises
    ------
    ValueError
        If an id is not a valid S2 cell id (the first one is named).
    """
    cdef object arr = checked_ids(ids, 0)
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t n = flat.shape[0]
    lat = np.empty(n, dtype=np.float64)
    lon = np.empty(n, dtype=np.float64)
    cdef double[::1] la = lat, lo = lon
    cdef int nt = effective_n_threads(n_threads)
    if n:
        with nogil:
            cells_to_latlng(&flat[0], n, &la[0], &lo[0], nt)
    return lat.reshape(arr.shape), lon.reshape(arr.shape)


def cell_parent(ids, level, *, n_threads=None):
    """Return the ancestor of each S2 cell at the given level.

    Parameters
    ----------
    ids : array_like of uint64
        Valid S2 cell ids whose levels are all >= ``level``.
    level : int
        0..30; a cell is its own parent at its own level.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    ndarray of uint64, shape of ``ids``

    Raises
    ------
    ValueError
        If an id is not a valid cell, or is coarser than ``level`` (the first one is named).
    """
    cdef int lvl = as_level(level, "level")
    cdef object arr = checked_ids(ids, lvl)
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t n = flat.shape[0]
    out = np.empty(n, dtype=U64)
    cdef uint64_t[::1] o = out
    cdef int nt = effective_n_threads(n_threads)
    if n:
        with nogil:
            cell_parents(&flat[0], n, lvl, &o[0], nt)
    return out.reshape(arr.shape)


def cell_level(ids):
    """Return the level (0..30) of each S2 cell.

    Parameters
    ----------
    ids : array_like of uint64
        Valid S2 cell ids.

    Returns
    -------
    ndarray of int8, shape of ``ids``

    Raises
    ------
    ValueError
        If an id is not a valid cell (the first one is named).
    """
    cdef object arr = checked_ids(ids, 0)
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t i, n = flat.shape[0]
    out = np.empty(n, dtype=np.int8)
    cdef signed char[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = <signed char>CppS2CellId(flat[i]).level()
    return out.reshape(arr.shape)


def cell_to_token(ids, *, n_threads=None):
    """Return the S2 token of each cell id (``S2CellId(id).ToToken()``).

    Parameters
    ----------
    ids : array_like of uint64
        Any 64-bit values: tokens are defined for invalid ids too, and ``token_to_cell``
        inverts this function for every value.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    ndarray of str (dtype ``<U16``), shape of ``ids``
        Lower-case hexadecimal without trailing zeros (``"89c25"``); ``"X"`` for id 0.
    """
    cdef object arr = as_cell_ids(ids, "ids")
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t n = flat.shape[0]
    out = np.empty(n, dtype="S16")
    cdef uint8_t[:, ::1] buf = out.view(np.uint8).reshape(n, 16)
    cdef int nt = effective_n_threads(n_threads)
    cdef bint ok = True
    if n:
        with nogil:
            ok = cells_to_tokens(&flat[0], n, <char*>&buf[0, 0], nt)
    if not ok:
        raise MemoryError("out of memory while formatting S2 cell tokens")
    return out.astype("U16").reshape(arr.shape)


def token_to_cell(tokens, *, n_threads=None):
    """Return the cell id of each S2 token (``S2CellId::FromToken``).

    Parameters
    ----------
    tokens : str, bytes or array_like of them
        Up to 16 hexadecimal digits, either case (``"89c25"``); ``"X"`` is id 0.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    ndarray of uint64, shape of ``tokens``
        The ids, which may be invalid cells: S2 maps any 64-bit value to a token and back.

    Raises
    ------
    ValueError
        If a token is empty, longer than 16 characters, or not hexadecimal (the first one is
        named).
    """
    cdef object arr = as_token_bytes(tokens, "tokens")
    cdef object flat_arr = arr.reshape(-1)
    cdef Py_ssize_t width = arr.dtype.itemsize
    cdef Py_ssize_t n = flat_arr.shape[0]
    out = np.empty(n, dtype=U64)
    cdef uint64_t[::1] o = out
    cdef const uint8_t[:, ::1] buf = flat_arr.view(np.uint8).reshape(n, width)
    cdef int nt = effective_n_threads(n_threads)
    cdef int64_t j = -1
    if n:
        with nogil:
            j = tokens_to_cells(<const char*>&buf[0, 0], width, n, &o[0], nt)
    if j >= 0:
        raise ValueError(
            f"tokens[{j}] = {flat_arr[j].decode('ascii')!r} is not an S2 cell token "
            "(1 to 16 hexadecimal digits, or 'X')"
        )
    return out.reshape(arr.shape)


# --------------------------------------------------------------------------------------------
# Coverings


def _cover_rings(const double[:, ::1] coords, const int64_t[::1] ring_start,
                 const int64_t[::1] shell_of, const int64_t[::1] geom_start, max_cells,
                 min_level, max_level, level_mod, bint interior, n_threads):
    """Cover geometries given as flat rings (hotloop.geo.cover_geojson's kernel).

    coords: (n_vertices, 2) lon, lat in degrees; ring r is coords[ring_start[r]:ring_start[r+1]];
    geometry g owns rings geom_start[g]:geom_start[g+1]; shell_of[r] is the index of ring r's
    shell counted from the geometry's first ring. Returns (cells, offsets, error) with
    cells[offsets[g]:offsets[g+1]] geometry g's covering, and error None or
    (geometry, ring or -1, message) for the first invalid geometry.
    """
    cdef int lo
    cells_, lo, hi, mod = check_options(max_cells, min_level, max_level, level_mod)
    cdef int nt = effective_n_threads(n_threads)
    cdef Py_ssize_t n_geoms = geom_start.shape[0] - 1
    if n_geoms < 0 or ring_start.shape[0] != shell_of.shape[0] + 1:
        raise ValueError("inconsistent ring tables")
    cdef CppS2RegionCoverer.Options options
    options.set_max_cells(cells_)
    options.set_min_level(lo)
    options.set_max_level(hi)
    options.set_level_mod(mod)
    cdef vector[vector[CppS2CellId]] cells
    cdef CoverFailure failure
    cdef const double* xy = &coords[0, 0] if coords.shape[0] else NULL
    cdef const int64_t* so = &shell_of[0] if shell_of.shape[0] else NULL
    with nogil:
        cover_geometries(xy, &ring_start[0], so, &geom_start[0], n_geoms, options, interior, nt,
                         &cells, &failure)
    if failure.out_of_memory:
        where = f"geometry {failure.geometry}" if failure.geometry >= 0 else "the geometries"
        raise MemoryError(f"out of memory while covering {where}")
    if failure.geometry >= 0:
        return None, None, (failure.geometry, failure.ring,
                            failure.message.decode("utf-8", "replace"))
    cdef Py_ssize_t g
    offsets = np.empty(n_geoms + 1, dtype=np.int64)
    cdef int64_t[::1] off = offsets
    off[0] = 0
    for g in range(n_geoms):
        off[g + 1] = off[g] + <int64_t>cells[g].size()
    out = np.empty(off[n_geoms], dtype=U64)
    cdef uint64_t[::1] o = out
    cdef size_t k
    with nogil:
        for g in range(n_geoms):
            for k in range(cells[g].size()):
                o[off[g] + k] = cells[g][k].id()
    return out, offsets, None
