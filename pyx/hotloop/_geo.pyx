"""S2 cells and coverings: the compiled half of hotloop.geo (GeoJSON handling is in geo.py).

Wraps Google's S2 geometry library (0.14, linked statically from the s2geometry wheel; see
hotloop/geo.py for why). S2's classes are declared in hotloop/_cxx/s2/*.pxd, one .pxd per S2
header; loops and polygons are built and validated through hotloop's own layer
(cxx/include/hotloop/geo.hpp), so that S2's fatal checks never see invalid input. Arguments are
validated here with the GIL held, then the loops run in C++ with the GIL released, split over
the process's one thread pool (hotloop::parallel_for, shared with hotloop._threads at import: the
caller works and never waits for a helper that has not started, so a busy machine or a forked
child costs no waiting); nothing raises inside them (failures are returned and raised
afterwards). Coverings poll Ctrl-C and stop at a work budget (hotloop::geo::CoverBudget).
"""
import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint64_t
from libcpp.vector cimport vector

from hotloop._cxx.geo cimport (
    CoverBudget, CoverFailure, auto_max_tests, cell_parents, cells_to_latlng, cells_to_tokens,
    cover_geometries, kNoMaxTests, latlng_to_cells, tokens_to_cells,
)
from hotloop._cxx.s2.s2cell_id cimport S2CellId as CppS2CellId
from hotloop._cxx.s2.s2region_coverer cimport S2RegionCoverer as CppS2RegionCoverer
from hotloop._cxx.threads cimport Interrupt, check_signals, share_pool
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
    # Not np.ascontiguousarray: it turns a 0-d array into a 1-d one.
    return np.asarray(arr, dtype=U64, order="C")


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
    return np.asarray(arr, order="C")


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
#
# Shapes, for every function below: the result has the shape of its input (lat and lon broadcast
# together), and a scalar input gives a scalar result, as NumPy's functions do. A Python or NumPy
# scalar (a number, an id, a str or bytes token) gives a NumPy scalar (np.uint64, np.int8,
# np.float64, np.str_); a 0-d ndarray gives a 0-d ndarray (an array in, an array out; NumPy's
# ufuncs would unwrap it to a scalar).


cdef inline bint is_scalar(object x):
    """Whether x is a scalar argument (not an ndarray, list or tuple, and without dimensions)."""
    # The type test first: np.ndim of a list converts the whole list to an array.
    return not isinstance(x, (np.ndarray, list, tuple)) and np.ndim(x) == 0


cdef object shaped(object flat, object shape, bint scalar):
    """A kernel's flat result in the input's shape, or its one value as a NumPy scalar."""
    cdef object out = flat.reshape(shape)
    return out[()] if scalar else out


cdef str element(str name, object shape, Py_ssize_t i):
    """How messages name element i (flat, C order) of an argument: ids, ids[3], ids[1, 2]."""
    if len(shape) == 0:
        return name
    return f"{name}[{', '.join(str(int(k)) for k in np.unravel_index(i, shape))}]"


cdef object as_degrees(object x, str name):
    """lat or lon as a float64/float32 ndarray of 0 to 32 dimensions; a Python or NumPy scalar
    is converted as the items of a list are (ints accepted, strings refused)."""
    if is_scalar(x):
        return as_float_array((x,), name, 1, 1).reshape(())
    return as_float_array(x, name, 0, 32)


def latlng_to_cell(lat, lon, level=30, *, n_threads=None):
    """Return the S2 cell of each (latitude, longitude) point.

    Parameters
    ----------
    lat, lon : float or array_like of float64 or float32
        Latitudes in [-90, 90] and longitudes in [-180, 180], degrees, of any shapes that
        broadcast together (NumPy's rules: one latitude with many longitudes, a column of
        latitudes with a row of longitudes). float32 input is widened to float64 exactly; lists
        and Python or NumPy scalars may hold ints.
    level : int, default 30
        The cells' level, 0 (a cube face) to 30 (leaf cells, about 1 cm).
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`. The result does not depend on it.

    Returns
    -------
    ndarray of uint64, or numpy.uint64
        The cell ids, of the broadcast shape of ``lat`` and ``lon``; a NumPy scalar if both
        are scalars (a 0-d ndarray if either is a 0-d ndarray). Identical to
        ``S2CellId(S2LatLng.FromDegrees(lat, lon)).parent(level)`` of current S2 releases (the
        official Python binding) and to s2cell.

    Raises
    ------
    ValueError
        If a latitude lies outside [-90, 90], a longitude outside [-180, 180], or a value is
        NaN (the first such point is named), or if the shapes do not broadcast together.

    Notes
    -----
    The poles belong to one cell each (latitude 90 maps to the same cell for every longitude
    up to the rounding of sin/cos); longitudes -180 and 180 give the same or adjacent leaf cells.
    A point exactly on a cell edge goes to the cell above and to the right of the edge in the
    face's (s, t) coordinates (S2 0.11 and later take ``floor(2**30 * s)``; S2 0.10, which
    Debian ships, rounded half to even there and so disagrees on such points).
    """
    cdef bint scalar = is_scalar(lat) and is_scalar(lon)
    cdef object la = as_degrees(lat, "lat")
    cdef object lo = as_degrees(lon, "lon")
    cdef object shape = la.shape
    if lo.shape != shape:
        try:
            shape = np.broadcast_shapes(la.shape, lo.shape)
        except ValueError:
            raise ValueError(
                "lat and lon must have the same shape or shapes that broadcast together, got "
                f"{la.shape} and {lo.shape}"
            ) from None
        la = np.broadcast_to(la, shape)  # views; the copies below make them contiguous
        lo = np.broadcast_to(lo, shape)
    cdef int lvl = as_level(level, "level")
    cdef int nt = effective_n_threads(n_threads)
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
        where = (
            "the point" if len(shape) == 0 else f"point {i}" if len(shape) == 1
            else f"point {tuple(int(k) for k in np.unravel_index(i, shape))}"
        )
        raise ValueError(
            f"{where} has lat={float(la[i])!r}, lon={float(lo[i])!r}: latitudes must lie in "
            "[-90, 90] and longitudes in [-180, 180]"
        )
    return shaped(out, shape, scalar)


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
    cdef uint64_t v = arr.reshape(-1)[i]
    cdef str what = element(name, arr.shape, i)
    if not CppS2CellId(v).is_valid():
        raise ValueError(f"{what} = {v} is not a valid S2 cell id")
    raise ValueError(
        f"level={level} is deeper than the level {CppS2CellId(v).level()} of {what} = {v}; "
        "a parent's level must be <= its cell's"
    )


cdef object checked_ids(object ids, int min_level):
    """ids (as_cell_ids) once every one is a valid cell of level >= min_level."""
    cdef object arr = as_cell_ids(ids, "ids")
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t bad
    with nogil:
        bad = first_invalid(flat, min_level)
    if bad >= 0:
        raise_invalid(arr, bad, "ids", min_level)
    return arr


def cell_to_latlng(ids, *, n_threads=None):
    """Return the centres of S2 cells as (latitude, longitude) in degrees.

    Parameters
    ----------
    ids : int or array_like of uint64
        Valid S2 cell ids of any level and any shape (non-negative signed integers are accepted
        too).
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    lat, lon : ndarray of float64 of the shape of ``ids``, or numpy.float64 for a scalar id
        ``S2CellId(id).ToLatLng()``: the centre of the cell on the sphere, longitudes in
        [-180, 180].

    Raises
    ------
    ValueError
        If an id is not a valid S2 cell id (the first one is named).
    """
    cdef bint scalar = is_scalar(ids)
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
    return shaped(lat, arr.shape, scalar), shaped(lon, arr.shape, scalar)


def cell_parent(ids, level, *, n_threads=None):
    """Return the ancestor of each S2 cell at the given level.

    Parameters
    ----------
    ids : int or array_like of uint64
        Valid S2 cell ids, of any shape, whose levels are all >= ``level``.
    level : int
        0..30; a cell is its own parent at its own level.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    ndarray of uint64 of the shape of ``ids``, or numpy.uint64 for a scalar id

    Raises
    ------
    ValueError
        If an id is not a valid cell, or is coarser than ``level`` (the first one is named).
    """
    cdef bint scalar = is_scalar(ids)
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
    return shaped(out, arr.shape, scalar)


def cell_level(ids):
    """Return the level (0..30) of each S2 cell.

    Parameters
    ----------
    ids : int or array_like of uint64
        Valid S2 cell ids of any shape.

    Returns
    -------
    ndarray of int8 of the shape of ``ids``, or numpy.int8 for a scalar id

    Raises
    ------
    ValueError
        If an id is not a valid cell (the first one is named).
    """
    cdef bint scalar = is_scalar(ids)
    cdef object arr = checked_ids(ids, 0)
    cdef const uint64_t[::1] flat = arr.reshape(-1)
    cdef Py_ssize_t i, n = flat.shape[0]
    out = np.empty(n, dtype=np.int8)
    cdef signed char[::1] o = out
    with nogil:
        for i in range(n):
            o[i] = <signed char>CppS2CellId(flat[i]).level()
    return shaped(out, arr.shape, scalar)


def cell_to_token(ids, *, n_threads=None):
    """Return the S2 token of each cell id (``S2CellId(id).ToToken()``).

    Parameters
    ----------
    ids : int or array_like of uint64
        Any 64-bit values, of any shape: tokens are defined for invalid ids too, and
        ``token_to_cell`` inverts this function for every value.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    ndarray of str (dtype ``<U16``) of the shape of ``ids``, or numpy.str_ for a scalar id
        Lower-case hexadecimal without trailing zeros (``"89c25"``); ``"X"`` for id 0.
    """
    cdef bint scalar = is_scalar(ids)
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
    return shaped(out.astype("U16"), arr.shape, scalar)


def token_to_cell(tokens, *, n_threads=None):
    """Return the cell id of each S2 token (``S2CellId::FromToken``).

    Parameters
    ----------
    tokens : str, bytes or array_like of them
        Up to 16 hexadecimal digits, either case (``"89c25"``); ``"X"`` is id 0. Any shape.
    n_threads : int or None, default None
        See :func:`hotloop.effective_n_threads`.

    Returns
    -------
    ndarray of uint64 of the shape of ``tokens``, or numpy.uint64 for one str or bytes token
        The ids, which may be invalid cells: S2 maps any 64-bit value to a token and back.

    Raises
    ------
    ValueError
        If a token is empty, longer than 16 characters, or not hexadecimal (the first one is
        named).
    """
    cdef bint scalar = is_scalar(tokens)
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
            f"{element('tokens', arr.shape, j)} = {flat_arr[j].decode('ascii')!r} is not an S2 "
            "cell token (1 to 16 hexadecimal digits, or 'X')"
        )
    return shaped(out, arr.shape, scalar)


# --------------------------------------------------------------------------------------------
# Coverings


cdef int64_t as_max_tests(object max_cell_tests, int max_cells) except -3:
    """cover_geojson's max_cell_tests as a CoverBudget::max_tests count (or kNoMaxTests)."""
    if max_cell_tests is None:
        return kNoMaxTests
    if isinstance(max_cell_tests, str) and max_cell_tests == "auto":
        return auto_max_tests(max_cells)
    if isinstance(max_cell_tests, str):
        raise ValueError(f"max_cell_tests must be 'auto', None or an int, got {max_cell_tests!r}")
    return as_int(max_cell_tests, "max_cell_tests", 1, 2**63 - 1)


def _cover_rings(const double[:, ::1] coords, const int64_t[::1] ring_start,
                 const int64_t[::1] shell_of, const int64_t[::1] geom_start, max_cells,
                 min_level, max_level, level_mod, bint interior, max_cell_tests, n_threads):
    """Cover geometries given as flat rings (hotloop.geo.cover_geojson's kernel).

    coords: (n_vertices, 2) lon, lat in degrees; ring r is coords[ring_start[r]:ring_start[r+1]];
    geometry g owns rings geom_start[g]:geom_start[g+1]; shell_of[r] is the index of ring r's
    shell counted from the geometry's first ring. max_cell_tests: the most cells one covering
    may test (hotloop::geo::CoverBudget), "auto" or None (see cover_geojson). Returns
    (cells, offsets, error) with cells[offsets[g]:offsets[g+1]] geometry g's covering, and error
    None or (geometry, ring or -1, message) for the first geometry that could not be covered.
    Ctrl-C stops the coverings (KeyboardInterrupt) within about 0.05 s.
    """
    cdef int lo
    cells_, lo, hi, mod = check_options(max_cells, min_level, max_level, level_mod)
    cdef int64_t tests = as_max_tests(max_cell_tests, cells_)
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
    cdef list raised = []
    cdef CoverBudget budget
    budget.max_tests = tests
    budget.interrupt = new Interrupt(check_signals, <void*>raised)
    try:
        with nogil:
            cover_geometries(xy, &ring_start[0], so, &geom_start[0], n_geoms, options, interior,
                             nt, &cells, &failure, budget)
    finally:
        del budget.interrupt
    if raised:
        raise raised[0]
    if failure.interrupted:  # only a raised exception stops the coverings: not expected
        raise KeyboardInterrupt("the coverings were interrupted")
    if failure.out_of_memory:
        where = f"geometry {failure.geometry}" if failure.geometry >= 0 else "the geometries"
        raise MemoryError(f"out of memory while covering {where}")
    if failure.over_budget:
        why = (
            f"S2 finds fewer than max_cells={cells_} cells inside it down to max_level={hi} (a "
            "very thin polygon: its interior covering tests twice as many cells along the "
            "boundary at each level); lower max_level, or raise max_cell_tests"
            if interior else "raise max_cell_tests or lower max_cells"
        )
        return None, None, (
            failure.geometry, -1,
            f"its {'interior ' if interior else ''}covering needs more than "
            f"max_cell_tests={tests} cell tests: {why} (None: no limit; Ctrl-C stops a covering)"
        )
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
