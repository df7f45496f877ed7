"""Moving-window statistics: sum, mean, var, std, count, min/max, argmin/argmax, median,
quantile and rank, and bottleneck's move_* signatures over the same kernels.

Wrappers only: arguments are validated with the GIL held (hotloop._validate), then the C++
drivers of cxx/include/hotloop/rolling.hpp run with the GIL released, parallel over rows and
blocks (hotloop::parallel_for).
"""
import operator

import numpy as np

cimport numpy as cnp
from cpython.long cimport PyLong_AsLongAndOverflow
from cpython.pycapsule cimport (
    PyCapsule_GetContext,
    PyCapsule_GetPointer,
    PyCapsule_New,
    PyCapsule_SetContext,
)

from hotloop._cxx.rolling cimport (
    RollingInterpolation,
    RollingOrder,
    RollingRows,
    RollingStat,
    kRollingDirectSumMax,
    kRollingDirectVarMax,
    kRollingTile,
    rolling_block_size,
    rolling_moments_rows,
    rolling_order_block_size,
    rolling_order_rows,
)
from hotloop._cxx.pages cimport give_pages, take_pages
from hotloop._cxx.threads cimport share_pool
from hotloop._validate cimport (
    FLOAT64,
    as_float_array,
    as_int,
    as_real,
    check_out,
    float_kind,
    threads_for,
)

cnp.import_array()
share_pool()

cdef dict INTERPOLATIONS = {
    "linear": <int>RollingInterpolation.linear,
    "lower": <int>RollingInterpolation.lower,
    "higher": <int>RollingInterpolation.higher,
    "nearest": <int>RollingInterpolation.nearest,
    "midpoint": <int>RollingInterpolation.midpoint,
}
cdef object ONE_ROW = np.zeros(1, dtype=np.intp)
cdef int MOMENTS = -1  # `order` of a moments statistic


# --------------------------------------------------------------------------------------------
# Argument checks of this family (shared ones are in hotloop._validate)


cpdef object as_rolling_array(object x, str name):
    """x as a float64/float32 array of 1 or more dimensions. Integer and bool arrays (and lists
    of them) become float64, as bottleneck converts them; other dtypes are refused."""
    # The common case first: reading x.dtype.kind below costs as much as rolling 50 values.
    if float_kind(x) and cnp.PyArray_NDIM(<cnp.ndarray>x) >= 1:
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
    elif isinstance(x, (list, tuple)):
        try:
            a = np.asarray(x)
        except (TypeError, ValueError):
            a = None  # as_float_array names the problem
        if a is not None and a.dtype.kind in "biu":
            x = a.astype(np.float64)
    return as_float_array(x, name, 1, 64)


cdef int rank_kind(object x):
    """bottleneck ranks integer input with another rounding (rolling.hpp): which one x needs."""
    if isinstance(x, np.ndarray):
        kind = x.dtype.kind
    elif isinstance(x, (list, tuple)):
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = "O"
    else:
        kind = "O"
    return <int>(RollingOrder.rank_of_integers if kind in "iu" else RollingOrder.rank)


cpdef Py_ssize_t as_axis(object axis, int ndim, str name) except? -1:
    """axis in [-ndim, ndim) as a non-negative axis, or TypeError/ValueError."""
    cdef int overflow = 0
    cdef long c
    if type(axis) is int:  # no operator.index call for the usual argument
        c = PyLong_AsLongAndOverflow(axis, &overflow)
        if overflow == 0 and -ndim <= c < ndim:
            return c + ndim if c < 0 else c
    if isinstance(axis, (bool, np.bool_)) or not hasattr(type(axis), "__index__"):
        raise TypeError(
            f"axis must be an int, got {type(axis).__name__}; accepted: integers "
            f"{-ndim} <= axis < {ndim} for a {ndim}-D {name}"
        )
    cdef object a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise ValueError(
            f"axis={a} is out of range for a {ndim}-D {name}; accepted: {-ndim} <= axis < {ndim}"
        )
    return a % ndim


cdef int check_params(object window, object ddof, object min_periods, bint has_ddof,
                      Py_ssize_t* w, Py_ssize_t* dd, Py_ssize_t* minp) except -1:
    """rolling_params into *w, *dd, *minp, without building a tuple."""
    w[0] = as_int(window, "window", 1)
    dd[0] = 0
    minp[0] = w[0]
    if has_ddof:
        dd[0] = as_int(ddof, "ddof", 0)
        if dd[0] >= w[0]:
            raise ValueError(
                f"ddof={dd[0]} must be less than window={w[0]}; accepted: 0 <= ddof < {w[0]}"
            )
    if min_periods is not None:
        minp[0] = as_int(min_periods, "min_periods", 0)
        if minp[0] > w[0]:
            raise ValueError(
                f"min_periods={minp[0]} must be <= window={w[0]}; accepted: "
                f"0 <= min_periods <= {w[0]}"
            )
    return 0


cpdef tuple rolling_params(object window, object ddof, object min_periods, bint has_ddof):
    """(window, ddof, min_periods) checked against each other: window >= 1,
    0 <= ddof < window, 0 <= min_periods <= window (default window)."""
    cdef Py_ssize_t w, dd, minp
    check_params(window, ddof, min_periods, has_ddof, &w, &dd, &minp)
    return w, dd, minp


# Outputs from this size on come from hotloop's kept pages (cxx/include/hotloop/pages.hpp): the
# memory of an output freed earlier is reused instead of faulted in again. A fresh 80 MB output
# cost 8 ms of page faults (kernel zeroing), as much as the rolling sum over 1e7 values that
# fills it (measured: 17.2 ms a call, 8.6 ms with out=). NumPy's arrays come from malloc, and
# glibc maps blocks of 32 MiB and more afresh each time; smaller ones it recycles itself, faster
# than kept pages (giving those back costs a madvise and, once two threads wrote them, a TLB
# flush on both CPUs: rolling_sum over 1e6 values took 7% longer with kept pages from 4 MiB).
cdef Py_ssize_t PAGED_BYTES = 32 << 20


cdef void give_back(object capsule) noexcept:
    give_pages(PyCapsule_GetPointer(capsule, NULL), <size_t>PyCapsule_GetContext(capsule))


cdef object paged_empty(int nd, cnp.npy_intp* dims, int typenum, Py_ssize_t nbytes):
    """An uninitialised C-order array whose memory comes from take_pages and goes back to
    give_pages when the array (its base, a capsule) is freed."""
    cdef size_t mapped = 0
    cdef void* p = take_pages(<size_t>nbytes, &mapped)
    if p == NULL:
        raise MemoryError(f"cannot allocate an output of {nbytes} bytes")
    try:
        base = PyCapsule_New(p, NULL, give_back)
    except BaseException:
        give_pages(p, mapped)
        raise
    PyCapsule_SetContext(base, <void*>mapped)
    cdef cnp.ndarray out = cnp.PyArray_SimpleNewFromData(nd, dims, typenum, p)
    cnp.set_array_base(out, base)
    return out


cdef inline object empty_like(object arr):
    """An uninitialised C-order array of arr's shape and dtype (np.empty's work, without its
    argument parsing: a third of a short rolling call); big ones from kept pages."""
    cdef cnp.ndarray a = <cnp.ndarray>arr
    cdef Py_ssize_t nbytes = cnp.PyArray_NBYTES(a)
    if nbytes >= PAGED_BYTES:
        return paged_empty(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a), nbytes)
    return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), cnp.PyArray_TYPE(a), 0)


cdef double as_quantile(object q) except? -1.0:
    cdef double v = as_real(q, "q")
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"q={v!r} is outside [0, 1]; accepted: 0 <= q <= 1")
    return v


cdef int as_interpolation(object interpolation) except -1:
    if not isinstance(interpolation, str) or interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"interpolation={interpolation!r} is not supported; accepted: "
            + ", ".join(repr(k) for k in INTERPOLATIONS)
        )
    return INTERPOLATIONS[interpolation]


# --------------------------------------------------------------------------------------------
# The drivers


cdef cnp.ndarray row_offsets(object a):
    """Element offsets of the rows (all axes but the last) of the array a, in C order, as a
    new intp array (ONE_ROW for a 1-D a). a's strides are whole elements (as_float_array).

    A C loop over the rows, not NumPy broadcasting: building the offsets of a 10 x 100 array
    with arange, an outer sum and ravel took 2.7 us, longer than rolling its 1000 values."""
    cdef cnp.ndarray arr = <cnp.ndarray?>a
    cdef int last = cnp.PyArray_NDIM(arr) - 1
    if last == 0:
        return ONE_ROW
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(arr)
    cdef Py_ssize_t rows = 1
    cdef int d
    cdef Py_ssize_t[64] idx, dim, step  # NumPy arrays have at most 64 dimensions
    for d in range(last):
        dim[d] = cnp.PyArray_DIM(arr, d)
        step[d] = cnp.PyArray_STRIDE(arr, d) // item
        idx[d] = 0
        rows *= dim[d]
    cdef cnp.ndarray off = np.empty(rows, dtype=np.intp)
    cdef Py_ssize_t* o = <Py_ssize_t*>cnp.PyArray_DATA(off)
    cdef Py_ssize_t r, cur = 0
    for r in range(rows):
        o[r] = cur
        d = last - 1
        while d >= 0:  # the next row: an odometer over the leading axes
            idx[d] += 1
            cur += step[d]
            if idx[d] < dim[d]:
                break
            cur -= dim[d] * step[d]
            idx[d] = 0
            d -= 1
    return off


# The offsets are read through their data pointer, not a typed memoryview: setting one up took
# longer than the kernel on a 100-value series. row_offsets' arrays are C-contiguous intp, and
# the callers keep them referenced while C++ reads them.
cdef inline const Py_ssize_t* offsets_data(cnp.ndarray off) noexcept:
    return <const Py_ssize_t*>cnp.PyArray_DATA(off)


cdef tuple fill_rows(RollingRows* rows, cnp.ndarray xm, cnp.ndarray om):
    """*rows for the input view xm and the output view om (same shape and dtype, windows along
    their last axis). Returns the offsets arrays *rows points into: keep them while C++ reads."""
    cdef int last = cnp.PyArray_NDIM(xm) - 1
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(xm)
    cdef cnp.ndarray xo = row_offsets(xm)
    cdef cnp.ndarray oo = row_offsets(om)
    rows.rows = cnp.PyArray_DIM(xo, 0)
    rows.n = cnp.PyArray_DIM(xm, last)
    rows.x_offsets = offsets_data(xo)
    rows.x_stride = cnp.PyArray_STRIDE(xm, last) // item
    rows.out_offsets = offsets_data(oo)
    rows.out_stride = cnp.PyArray_STRIDE(om, last) // item
    return xo, oo


#: Outputs per vectorised tile of the moments kernels (rolling.hpp's kRollingTile), for
#: hotloop.dask.
MOMENTS_TILE = kRollingTile

#: The longest windows whose sum and mean, and variance and std, are computed from each
#: window's own values (rolling.hpp), for tests: there an output depends on its window only.
DIRECT_WINDOW_MAX = {
    "sum": kRollingDirectSumMax,
    "mean": kRollingDirectSumMax,
    "var": kRollingDirectVarMax,
    "std": kRollingDirectVarMax,
}


def moments_block_size(Py_ssize_t window):
    """Outputs per independent block of the moments, shape and pair kernels
    (rolling.hpp's rolling_block_size), for hotloop.dask: the formula lives in C++ only."""
    return rolling_block_size(window)


cdef object run(object arr, object out, Py_ssize_t axis, Py_ssize_t w, Py_ssize_t minp,
                Py_ssize_t dd, int stat, int order, double q, int interp, object n_threads):
    """Fills out (arr's shape and dtype) with the statistic of arr's windows along axis."""
    cdef int last = cnp.PyArray_NDIM(<cnp.ndarray>arr) - 1
    xm = arr if axis == last else np.moveaxis(arr, axis, -1)
    om = out if axis == last else np.moveaxis(out, axis, -1)
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>xm, last)
    if cnp.PyArray_SIZE(<cnp.ndarray>xm) == 0:
        return out
    cdef RollingRows rows
    _offsets = fill_rows(&rows, xm, om)  # held while C++ reads them
    cdef Py_ssize_t block = (
        rolling_block_size(w) if order == MOMENTS
        else rolling_order_block_size(<RollingOrder>order, w)
    )
    cdef int nt = threads_for(n_threads, rows.rows * ((n + block - 1) // block))
    cdef void* xp = cnp.PyArray_DATA(<cnp.ndarray>arr)
    cdef void* op = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef int rc = 0
    if float_kind(arr) == FLOAT64:
        with nogil:
            if order == MOMENTS:
                rolling_moments_rows[double](<const double*>xp, <double*>op, rows, w, minp, dd,
                                             <RollingStat>stat, nt)
            else:
                rc = rolling_order_rows[double](<const double*>xp, <double*>op, rows, w, minp,
                                                <RollingOrder>order, q,
                                                <RollingInterpolation>interp, nt)
    else:
        with nogil:
            if order == MOMENTS:
                rolling_moments_rows[float](<const float*>xp, <float*>op, rows, w, minp, dd,
                                            <RollingStat>stat, nt)
            else:
                rc = rolling_order_rows[float](<const float*>xp, <float*>op, rows, w, minp,
                                               <RollingOrder>order, q,
                                               <RollingInterpolation>interp, nt)
    if rc != 0:
        raise MemoryError(f"rolling: no memory for the window buffers (window={w})")
    return out


cdef object rolling(object x, object window, object ddof, object min_periods, object axis,
                    object out, object n_threads, int stat, int order, double q=0.5,
                    int interp=0):
    cdef object arr = as_rolling_array(x, "x")
    cdef Py_ssize_t ax = as_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>arr), "x")
    cdef Py_ssize_t w, dd, minp
    check_params(
        window, ddof, min_periods, order == MOMENTS and stat != <int>RollingStat.mean
        and stat != <int>RollingStat.sum, &w, &dd, &minp
    )
    if out is None:
        out = empty_like(arr)
    else:
        arr = check_out(out, arr, "x")
    return run(arr, out, ax, w, minp, dd, stat, order, q, interp, n_threads)


cdef object move(object a, object window, object min_count, object axis, object ddof, int stat,
                 int order):
    """bottleneck's argument rules: 1 <= window <= a.shape[axis], 1 <= min_count <= window."""
    cdef object arr = as_rolling_array(a, "a")
    cdef Py_ssize_t ax = as_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>arr), "a")
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>arr, ax)
    cdef Py_ssize_t w = as_int(window, "window", 1)
    cdef Py_ssize_t minp = w, dd = 0
    if w > n:
        raise ValueError(
            f"window={w} must be between 1 and {n} (the length of a along axis {axis}), "
            f"inclusive; accepted: 1 <= window <= {n}"
        )
    if min_count is not None:
        minp = as_int(min_count, "min_count", 1)
        if minp > w:
            raise ValueError(
                f"min_count={minp} must be <= window={w}; accepted: 1 <= min_count <= {w}"
            )
    out = empty_like(arr)
    if ddof is not None:
        dd = as_int(ddof, "ddof", 0)
        if dd >= w:  # no window has more than ddof values
            out.fill(np.nan)
            return out
    return run(arr, out, ax, w, minp, dd, stat, order, 0.5, 0, None)


# --------------------------------------------------------------------------------------------
# Public functions; their docstrings are assembled from the shared parts below.


def rolling_sum(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, <int>RollingStat.sum, MOMENTS)


def rolling_mean(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, <int>RollingStat.mean, MOMENTS)


def rolling_var(x, window, *, ddof=0, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, ddof, min_periods, axis, out, n_threads, <int>RollingStat.var,
                   MOMENTS)


def rolling_std(x, window, *, ddof=0, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, ddof, min_periods, axis, out, n_threads, <int>RollingStat.std,
                   MOMENTS)


def rolling_count(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, <int>RollingOrder.count)


def rolling_min(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, <int>RollingOrder.min)


def rolling_max(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, <int>RollingOrder.max)


def rolling_argmin(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, <int>RollingOrder.argmin)


def rolling_argmax(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, <int>RollingOrder.argmax)


def rolling_median(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, <int>RollingOrder.median)


def rolling_quantile(x, window, q, *, interpolation="linear", min_periods=None, axis=-1,
                     out=None, n_threads=None):
    cdef double qq = as_quantile(q)
    cdef int interp = as_interpolation(interpolation)
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0,
                   <int>RollingOrder.quantile, qq, interp)


def rolling_rank(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, axis, out, n_threads, 0, rank_kind(x))


def move_sum(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, <int>RollingStat.sum, MOMENTS)


def move_mean(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, <int>RollingStat.mean, MOMENTS)


def move_std(a, window, min_count=None, axis=-1, ddof=0):
    return move(a, window, min_count, axis, ddof, <int>RollingStat.std, MOMENTS)


def move_var(a, window, min_count=None, axis=-1, ddof=0):
    return move(a, window, min_count, axis, ddof, <int>RollingStat.var, MOMENTS)


def move_min(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, 0, <int>RollingOrder.min)


def move_max(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, 0, <int>RollingOrder.max)


def move_argmin(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, 0, <int>RollingOrder.argmin)


def move_argmax(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, 0, <int>RollingOrder.argmax)


def move_median(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, 0, <int>RollingOrder.median)


def move_rank(a, window, min_count=None, axis=-1):
    return move(a, window, min_count, axis, None, 0, rank_kind(a))


# --------------------------------------------------------------------------------------------
# Docstrings


cdef str X_DOC = """x : array_like of float64, float32, integers or bool
        Any number of dimensions (>= 1), windows along ``axis``; the other axes are independent
        series. Any strides; read-only arrays are fine. Integer and bool arrays, and lists or
        tuples, are converted to float64 (as bottleneck does: integers beyond 2**53 round);
        byte-swapped arrays are converted to native order."""
cdef str WINDOW_DOC = """window : int
        Window length, >= 1. Output ``i`` describes ``x[..., max(0, i - window + 1):i + 1]``
        along ``axis``. A window longer than the series is allowed (as in pandas): outputs then
        follow the ``min_periods`` rule, so with the default every output is NaN."""
cdef str MINP_DOC = """min_periods : int, optional
        Least number of non-NaN values a window needs for a result; fewer gives NaN. Default
        ``window`` (pandas' convention); must be between 0 and ``window``. {empty}"""
cdef str DDOF_DOC = """ddof : int, optional
        Delta degrees of freedom, ``0 <= ddof < window``: the divisor is ``count - ddof``
        with ``count`` the window's non-NaN values; NaN where ``count <= ddof``. Default 0
        (NumPy, bottleneck); pandas' ``rolling().std()`` uses 1."""
cdef str TAIL_DOC = """axis : int, optional
        The axis the windows run along, default -1 (the last).
    out : ndarray, optional
        Where to write the result: same shape and dtype as the (converted) ``x``, writable,
        any strides. It may be ``x`` itself or overlap it (``x`` is then copied first).
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`): ``None`` for all usable
        CPUs, a negative count to count back from them. The result is bit-identical for any
        value: series are cut into blocks that restart exactly, and rows and blocks run in
        parallel.

    Returns
    -------
    ndarray
        Same shape as ``x``; float32 for float32 input, else float64 (``out`` if given).{ret}

    Raises
    ------
    TypeError
        For a dtype other than float64/float32/integer/bool, non-integer arguments (bool
        refused) or a mismatched ``out`` dtype.
    ValueError
        For a 0-D ``x``, ``axis`` out of range, ``window < 1``, ``min_periods`` outside
        ``[0, window]``{raises}, an ``out`` of another shape, or a read-only ``out``.

    Notes
    -----
    NaNs are skipped, as pandas and bottleneck do: they take no part in a window's
    statistics and do not count towards ``min_periods``. {notes}"""
cdef str MOMENT_NOTES = """Infinities are values: a window
    holding +inf has a sum and mean of +inf (-inf likewise, NaN with both) and a variance of
    NaN. (bottleneck and pandas return NaN for every window after an inf has left it.)

    Accuracy: the relative error of every variance is below 2**-36 (about 1.5e-11), half that
    for the standard deviation; the mean's error is below 2**-36 times ``|mean| + std`` of its
    window and the sum's ``count`` times that. This holds whatever the offset of the data,
    the outliers that passed through the window, or the length of the series, and over the
    whole range of doubles: values near 1e308 (the mean of ``[1e308, 1e308]`` is 1e308, a
    variance is +inf only when the true one exceeds the largest double) and values below
    1e-155 (subnormals included; outputs that are themselves subnormal are rounded once).
    Windows of equal values give exactly 0. The kernel tracks a rigorous bound of its
    rounding error and recomputes a window exactly (shifted two-pass, scaled by a power of two
    when the values are huge or tiny) whenever the bound could exceed that. On
    ``1e9 + N(0, 1)`` data bottleneck and pandas lose about 5 of their 16 digits. float32 input
    is accumulated in double precision and rounded once."""
cdef str ORDER_NOTES = """Infinities are values. The result is exact
    (it is one of the window's values{exact}), float32 input is never rounded."""

cdef dict DOCS = {
    "rolling_sum": ("Moving-window sum.", "", MOMENT_NOTES, "A window with no values is 0 "
                    "when ``min_periods`` is 0 (pandas), else NaN."),
    "rolling_mean": ("Moving-window mean.", "", MOMENT_NOTES, ""),
    "rolling_var": ("Moving-window variance.", DDOF_DOC, MOMENT_NOTES, ""),
    "rolling_std": ("Moving-window standard deviation.", DDOF_DOC, MOMENT_NOTES, ""),
    "rolling_count": (
        "Moving-window count of non-NaN values (pandas' ``rolling().count()``).", "",
        "Infinities count. The count is exact.", "As in pandas, ``min_periods`` applies to "
        "the window's length, NaNs included: the first ``min_periods - 1`` outputs are NaN, "
        "the others count."),
    "rolling_min": ("Moving-window minimum (O(n) whatever the window: van Herk/Gil-Werman; "
                    "windows of up to 16 values compare their own values, vectorised).",
                    "",
                    ORDER_NOTES.format(exact=""), ""),
    "rolling_max": ("Moving-window maximum (O(n) whatever the window: van Herk/Gil-Werman; "
                    "windows of up to 16 values compare their own values, vectorised).",
                    "",
                    ORDER_NOTES.format(exact=""), ""),
    "rolling_argmin": (
        "Position of the moving-window minimum, counted back from the window's last element "
        "(bottleneck's ``move_argmin``: 0 is the output's own element; ties go to the latest).",
        "", "Infinities are values. O(n) whatever the window (van Herk/Gil-Werman).", ""),
    "rolling_argmax": (
        "Position of the moving-window maximum, counted back from the window's last element "
        "(bottleneck's ``move_argmax``: 0 is the output's own element; ties go to the latest).",
        "", "Infinities are values. O(n) whatever the window (van Herk/Gil-Werman).", ""),
    "rolling_median": (
        "Moving-window median: the middle value, or ``(a + b) / 2`` of the two middle ones "
        "(``a / 2 + b / 2`` when ``a + b`` would overflow). O(n log(window)).", "",
        ORDER_NOTES.format(exact=", or the mean of two, as pandas and bottleneck compute it"), ""),
    "rolling_rank": (
        "Moving-window rank of each value among its window, scaled to [-1, 1] (bottleneck's "
        "``move_rank``): ``2 * ((less + (equal - 1) / 2) / (count - 1) - 0.5)`` with ties "
        "averaged; 0 for a window of one value, NaN where the value itself is NaN. "
        "O(n log(window)) (bottleneck: O(n * window)).", "",
        "Infinities are values; equal values (-0.0 and 0.0 too) are ties.", ""),
}

cdef str QUANTILE_DOC = """q : float
        The quantile, ``0 <= q <= 1``.
    interpolation : {'linear', 'lower', 'higher', 'nearest', 'midpoint'}, optional
        pandas' rules: with ``m`` sorted non-NaN values ``v`` and ``t = q * (m - 1)``, ``k =
        floor(t)``: linear ``v[k] + (v[k+1] - v[k]) * (t - k)``, lower ``v[k]``, higher
        ``v[k+1]``, nearest the closer one (ties to even ``k``), midpoint
        ``(v[k] + v[k+1]) / 2``; ``v[t]`` whenever ``t`` is whole."""


def _assemble():
    g = globals()
    for name, (summary, ddof, notes, empty) in DOCS.items():
        parts = [X_DOC, WINDOW_DOC] + ([ddof] if ddof else []) + [MINP_DOC.format(empty=empty)]
        raises = ", ``ddof`` outside ``[0, window)``" if ddof else ""
        g[name].__doc__ = (
            f"{summary}\n\n    Parameters\n    ----------\n    " + "\n    ".join(parts)
            + "\n    " + TAIL_DOC.format(ret="", raises=raises, notes=notes) + "\n    "
        )
    g["rolling_quantile"].__doc__ = (
        "Moving-window quantile, with pandas' interpolations. O(n log(window)).\n\n    "
        "Parameters\n    ----------\n    "
        + "\n    ".join([X_DOC, WINDOW_DOC, QUANTILE_DOC, MINP_DOC.format(empty="")])
        + "\n    " + TAIL_DOC.format(
            ret="", raises=", ``q`` outside ``[0, 1]``, an unknown ``interpolation``",
            notes=ORDER_NOTES.format(exact=" or, interpolating, computed from two as pandas "
                                     "does")) + "\n    "
    )
    for stat in ("sum", "mean", "std", "var", "min", "max", "argmin", "argmax", "median",
                 "rank"):
        ddof = ", ddof=0" if stat in ("std", "var") else ""
        g[f"move_{stat}"].__doc__ = (
            f"bottleneck's ``move_{stat}(a, window, min_count=None, axis=-1{ddof})``: same "
            f"arguments, same results, over :func:`rolling_{stat}`.\n\n"
            f"    ``1 <= window <= a.shape[axis]`` and ``1 <= min_count <= window`` (default "
            f"``window``) as bottleneck requires (ValueError otherwise). Differences, where "
            f"bottleneck's answer is not the statistic: a window after an inf has left is "
            f"computed (bottleneck: NaN), ``ddof >= window`` gives NaN (bottleneck: inf or "
            f"negative values), argmin (argmax) of a window holding only +inf (-inf) and NaNs "
            f"points at the latest inf (bottleneck: at the latest NaN), and the accuracy is "
            f"that of :func:`rolling_{stat}`.\n    "
        )


_assemble()


# --------------------------------------------------------------------------------------------
# Exponentially weighted statistics: pandas' DataFrame.ewm (ewm_*) and numbagg's move_exp_nan*
# signatures, over ewm_rows of rolling.hpp.

import textwrap

from libc.math cimport expm1, log

from hotloop._cxx.rolling cimport EwmOperands, EwmParams, EwmStat, ewm_rows


cdef double ewm_alpha(object com, object span, object halflife, object alpha) except? -1.0:
    """pandas' smoothing factor from exactly one of com, span, halflife, alpha."""
    given = [(name, value) for name, value in (("com", com), ("span", span),
                                               ("halflife", halflife), ("alpha", alpha))
             if value is not None]
    if len(given) != 1:
        got = ", ".join(f"{name}={value!r}" for name, value in given) or "none"
        raise ValueError(
            f"pass exactly one of com, span, halflife, alpha (they are mutually exclusive), "
            f"got {got}"
        )
    name, value = given[0]
    cdef double v = as_real(value, name)
    if name == "com":
        if not v >= 0.0:
            raise ValueError(f"com={v!r} must be >= 0; accepted: com >= 0 (alpha = 1 / (1 + com))")
        return 1.0 / (1.0 + v)
    if name == "span":
        if not v >= 1.0:
            raise ValueError(
                f"span={v!r} must be >= 1; accepted: span >= 1 (alpha = 2 / (span + 1))"
            )
        return 2.0 / (v + 1.0)
    if name == "halflife":
        if not v > 0.0:
            raise ValueError(
                f"halflife={v!r} must be > 0; accepted: halflife > 0 "
                f"(alpha = 1 - exp(-ln(2) / halflife))"
            )
        return -expm1(-log(2.0) / v)
    if not 0.0 < v <= 1.0:
        raise ValueError(f"alpha={v!r} is outside (0, 1]; accepted: 0 < alpha <= 1")
    return v


cdef bint as_flag(object value, str name) except -1:
    if value is True or value is False or isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r:.40}")


cdef tuple ewm_operands(object x, object y, str xname, str yname):
    """x (and y) as float arrays of one dtype (float64 unless both are float32) and one shape."""
    arr = as_rolling_array(x, xname)
    if y is None:
        return arr, None
    yarr = as_rolling_array(y, yname)
    if arr.shape != yarr.shape:
        raise ValueError(
            f"{xname} and {yname} must have the same shape, got {arr.shape} and {yarr.shape}"
        )
    if arr.dtype != yarr.dtype:
        arr = arr.astype(np.float64)
        yarr = yarr.astype(np.float64)
    return arr, yarr


cdef object ewm_run(object arr, object yarr, object alphas, object out, Py_ssize_t axis,
                    int stat, EwmParams* p, object n_threads):
    """Fills out with the statistic of arr (and yarr) along axis. alphas: None, or float64 of
    arr's shape (broadcast views welcome)."""
    cdef int last = cnp.PyArray_NDIM(<cnp.ndarray>arr) - 1
    xm = arr if axis == last else np.moveaxis(arr, axis, -1)
    om = out if axis == last else np.moveaxis(out, axis, -1)
    if cnp.PyArray_SIZE(<cnp.ndarray>xm) == 0:
        return out
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(<cnp.ndarray>arr)
    cdef cnp.ndarray yo = ONE_ROW
    cdef cnp.ndarray ao = ONE_ROW
    cdef RollingRows rows
    cdef EwmOperands more
    _offsets = fill_rows(&rows, xm, om)  # held while C++ reads them
    more.y_offsets = NULL
    more.y_stride = 0
    more.alpha_offsets = NULL
    more.alpha_stride = 0
    cdef void* yp = NULL
    cdef const double* ap = NULL
    if yarr is not None:
        ym = yarr if axis == last else np.moveaxis(yarr, axis, -1)
        yo = row_offsets(ym)
        more.y_offsets = offsets_data(yo)
        more.y_stride = ym.strides[last] // item
        yp = cnp.PyArray_DATA(<cnp.ndarray>yarr)
    if alphas is not None:
        am = alphas if axis == last else np.moveaxis(alphas, axis, -1)
        ao = row_offsets(am)
        more.alpha_offsets = offsets_data(ao)
        more.alpha_stride = am.strides[last] // 8
        ap = <const double*>cnp.PyArray_DATA(<cnp.ndarray>alphas)
    cdef int nt = threads_for(n_threads, rows.rows)
    cdef void* xp = cnp.PyArray_DATA(<cnp.ndarray>arr)
    cdef void* op = cnp.PyArray_DATA(<cnp.ndarray>out)
    if float_kind(arr) == FLOAT64:
        with nogil:
            ewm_rows[double](<const double*>xp, <const double*>yp, ap, <double*>op, rows, more,
                             <EwmStat>stat, p[0], nt)
    else:
        with nogil:
            ewm_rows[float](<const float*>xp, <const float*>yp, ap, <float*>op, rows, more,
                            <EwmStat>stat, p[0], nt)
    return out


cdef object ewm(object x, object y, object com, object span, object halflife, object alpha,
                object adjust, object ignore_na, object min_periods, object bias, object axis,
                object out, object n_threads, int stat):
    cdef EwmParams p
    p.alpha = ewm_alpha(com, span, halflife, alpha)
    p.adjust = as_flag(adjust, "adjust")
    p.ignore_na = as_flag(ignore_na, "ignore_na")
    p.bias = as_flag(bias, "bias")
    p.numbagg = False
    p.min_periods = 0 if min_periods is None else as_int(min_periods, "min_periods", 0)
    p.min_weight = 0.0
    arr, yarr = ewm_operands(x, y, "x", "y")
    cdef Py_ssize_t ax = as_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>arr), "x")
    if out is None:
        out = empty_like(arr)
    else:
        arr = check_out(out, arr, "x")
        if yarr is not None and np.may_share_memory(yarr, out):
            yarr = yarr.copy()
    return ewm_run(arr, yarr, None, out, ax, stat, &p, n_threads)


cdef object move_exp(object a, object b, object alpha, object min_weight, object axis,
                     int stat):
    """numbagg's rules: alpha a scalar in [0, 1], a 1-D array along axis or an array of a's
    shape; axis an int or a 1-tuple (() returns a unchanged); float32 kept only when alpha and
    every operand are float32."""
    if isinstance(axis, tuple):
        if len(axis) == 0:
            if b is not None:
                raise ValueError(
                    "axis=() (no reduction: numbagg returns its input) is refused with two "
                    "arrays; accepted: an int or a 1-tuple"
                )
            return a
        if len(axis) > 1:
            raise ValueError(f"axis={axis!r}: only one axis; accepted: an int or a 1-tuple")
        axis = axis[0]
    cdef EwmParams p
    p.adjust = True
    p.ignore_na = False
    p.bias = False
    p.numbagg = True
    p.min_periods = 0
    p.min_weight = as_real(min_weight, "min_weight")
    arr, yarr = ewm_operands(a, b, "a", "b")
    cdef Py_ssize_t ax = as_axis(axis, arr.ndim, "a")
    alphas = None
    if isinstance(alpha, np.ndarray) and alpha.ndim == 0:
        alpha = alpha[()]
    if isinstance(alpha, (np.ndarray, list, tuple)):
        alphas = as_float_array(alpha, "alpha", 1, 64)
        keep32 = alphas.dtype == np.float32
        alphas = alphas.astype(np.float64, copy=False)  # before broadcasting: no copy of that
        if not ((alphas >= 0.0) & (alphas <= 1.0)).all():
            bad = float(alphas[~((alphas >= 0.0) & (alphas <= 1.0))].flat[0])
            raise ValueError(f"alpha holds {bad!r}, outside [0, 1]; accepted: 0 <= alpha <= 1")
        if alphas.ndim == 1 and arr.ndim > 1:
            if alphas.shape[0] != arr.shape[ax]:
                raise ValueError(
                    f"a 1-D alpha must have the length of a along axis {axis} "
                    f"({arr.shape[ax]}), got {alphas.shape[0]}"
                )
            alphas = np.moveaxis(alphas.reshape((-1,) + (1,) * (arr.ndim - 1)), 0, ax)
        try:
            alphas = np.broadcast_to(alphas, arr.shape)
        except ValueError:
            raise ValueError(
                f"alpha of shape {alphas.shape} does not fit a of shape {arr.shape}; accepted: "
                f"a scalar, a 1-D array of length {arr.shape[ax]} or an array of a's shape"
            ) from None
        p.alpha = 0.0
    else:
        keep32 = False
        p.alpha = as_real(alpha, "alpha")
        if not 0.0 <= p.alpha <= 1.0:
            raise ValueError(f"alpha={p.alpha!r} is outside [0, 1]; accepted: 0 <= alpha <= 1")
    if arr.dtype == np.float32:
        if keep32:  # numbagg's float32 loop: its min_weight is a float32 too
            p.min_weight = <float>p.min_weight
        else:  # numbagg's alpha array is float64 then, which selects its float64 loop
            arr = arr.astype(np.float64)
            if yarr is not None:
                yarr = yarr.astype(np.float64)
    out = empty_like(arr)
    return ewm_run(arr, yarr, alphas, out, ax, stat, &p, None)


def ewm_mean(x, *, alpha=None, span=None, halflife=None, com=None, adjust=True,
             ignore_na=False, min_periods=0, axis=-1, out=None, n_threads=None):
    return ewm(x, None, com, span, halflife, alpha, adjust, ignore_na, min_periods, False, axis,
               out, n_threads, <int>EwmStat.mean)


def ewm_var(x, *, alpha=None, span=None, halflife=None, com=None, adjust=True,
            ignore_na=False, min_periods=0, bias=False, axis=-1, out=None, n_threads=None):
    return ewm(x, None, com, span, halflife, alpha, adjust, ignore_na, min_periods, bias, axis,
               out, n_threads, <int>EwmStat.var)


def ewm_std(x, *, alpha=None, span=None, halflife=None, com=None, adjust=True,
            ignore_na=False, min_periods=0, bias=False, axis=-1, out=None, n_threads=None):
    return ewm(x, None, com, span, halflife, alpha, adjust, ignore_na, min_periods, bias, axis,
               out, n_threads, <int>EwmStat.std)


def ewm_cov(x, y, *, alpha=None, span=None, halflife=None, com=None, adjust=True,
            ignore_na=False, min_periods=0, bias=False, axis=-1, out=None, n_threads=None):
    return ewm(x, y, com, span, halflife, alpha, adjust, ignore_na, min_periods, bias, axis,
               out, n_threads, <int>EwmStat.cov)


def ewm_corr(x, y, *, alpha=None, span=None, halflife=None, com=None, adjust=True,
             ignore_na=False, min_periods=0, axis=-1, out=None, n_threads=None):
    return ewm(x, y, com, span, halflife, alpha, adjust, ignore_na, min_periods, False, axis,
               out, n_threads, <int>EwmStat.corr)


def move_exp_nanmean(a, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, None, alpha, min_weight, axis, <int>EwmStat.mean)


def move_exp_nansum(a, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, None, alpha, min_weight, axis, <int>EwmStat.sum)


def move_exp_nanvar(a, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, None, alpha, min_weight, axis, <int>EwmStat.var)


def move_exp_nanstd(a, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, None, alpha, min_weight, axis, <int>EwmStat.std)


def move_exp_nancount(a, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, None, alpha, min_weight, axis, <int>EwmStat.count)


def move_exp_nancov(a, b, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, b, alpha, min_weight, axis, <int>EwmStat.cov)


def move_exp_nancorr(a, b, /, *, alpha, min_weight=0, axis=-1):
    return move_exp(a, b, alpha, min_weight, axis, <int>EwmStat.corr)


cdef str EWM_X_DOC = """x : array_like of float64, float32, integers or bool
        Any number of dimensions (>= 1), the weights run along ``axis``; the other axes are
        independent series. Converted as for :func:`rolling_mean`."""
cdef str EWM_XY_DOC = """x, y : array_like of float64, float32, integers or bool
        Two arrays of one shape (converted as for :func:`rolling_mean`; float64 unless both are
        float32). A position is an observation when both values are finite (pandas pairs the
        two series the same way)."""
cdef str EWM_PARAMS_DOC = """alpha, span, halflife, com : float, optional
        Exactly one of them, as pandas: ``0 < alpha <= 1``; ``span >= 1`` gives
        ``alpha = 2 / (span + 1)``; ``halflife > 0`` gives ``alpha = 1 - exp(-ln(2) /
        halflife)``; ``com >= 0`` gives ``alpha = 1 / (1 + com)``. (No ``times``.)
    adjust : bool, optional
        True (default): weights ``(1 - alpha)**k`` for the value k steps back. False: the
        recursive form ``y[t] = (1 - alpha) y[t-1] + alpha x[t]``, ``y[0] = x[0]`` (after k
        missing steps ``((1 - alpha)**k y' + alpha x) / ((1 - alpha)**k + alpha)``, pandas'
        rule).
    ignore_na : bool, optional
        False (default): a step is a position, so a NaN decays the earlier weights too (pandas'
        "absolute positions"). True: NaNs are skipped as if absent.
    min_periods : int, optional
        Least number of observations seen so far for a result (NaN before), default 0; the
        first observation always counts as one."""
cdef str EWM_BIAS_DOC = """bias : bool, optional
        False (default): the unbiased estimate, ``biased / (1 - sum(w**2) / sum(w)**2)``, NaN
        while that denominator is 0 (one observation; ``alpha = 1``). True: the biased one."""
cdef str EWM_TAIL_DOC = """axis : int, optional
        The axis the weights run along, default -1 (the last).
    out : ndarray, optional
        Where to write the result, as for :func:`rolling_mean`.
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`): series (rows) run in
        parallel; one series is one thread's work, whatever its length (every output depends
        on every earlier value). The result is bit-identical for any value.

    Returns
    -------
    ndarray
        Same shape as ``x``; float32 for float32 input, else float64 (``out`` if given).

    Raises
    ------
    TypeError
        For a dtype other than float64/float32/integer/bool, a non-number parameter, a
        non-bool flag or a mismatched ``out`` dtype.
    ValueError
        For none or several of ``alpha``, ``span``, ``halflife``, ``com``, one outside its
        range, ``min_periods < 0``, ``axis`` out of range, an ``out`` of another shape or a
        read-only ``out``.{raises}

    Notes
    -----
    pandas' ``DataFrame.ewm(...).{method}`` along ``axis``, with its NaN policy:
    NaNs (and infinities, which pandas drops the same way) are not observations; an output
    is NaN until ``max(min_periods, 1)`` observations have been seen, then carries the
    statistic of all observations so far (across NaNs too). The decay is ``f = 1 - alpha``
    rounded to double, as pandas and numbagg compute it.

    Accuracy: the kernel keeps the weighted mean and the weighted mean of squared deviations
    (West's update, as pandas' ``ewmcov``) of the values shifted by an earlier observation
    (re-centred exactly when the mean drifts), so no sum of squares cancels; the sum of
    weights and the bias denominator are held as their distances to their limits (double-
    double), which they reach exactly. On ``1e9 + N(0, 1)`` (n = 1e5) the largest relative
    error of ``ewm_std`` against a long-double recurrence is 5e-16 for ``alpha = 0.5``, 1e-15
    for 0.01, 6e-15 for 1e-3 and 1.4e-14 for 1e-4; pandas and polars lose 7 digits there (1e-7)
    and numbagg's power sums return NaN for most outputs. The mean's error is a few ulps of
    the larger of the mean and the values it weighs. Values are not rescaled: squared
    deviations below about 1e-308 underflow (series varying by less than 1e-154) and above
    1.8e308 overflow. After a run of NaNs that decays the earlier weights below the smallest
    double (``ignore_na=False``), the series restarts, as in pandas. float32 input is computed
    in double and rounded once. Outputs are computed eight at a time (vectorised), NaNs
    included."""

cdef dict EWM_DOCS = {
    "ewm_mean": ("Exponentially weighted moving mean (pandas' ``ewm().mean()``).", False,
                 "mean()"),
    "ewm_var": ("Exponentially weighted moving variance (pandas' ``ewm().var()``).", True,
                "var(bias=bias)"),
    "ewm_std": ("Exponentially weighted moving standard deviation (pandas' ``ewm().std()``): "
                "the square root of :func:`ewm_var`.", True, "std(bias=bias)"),
    "ewm_cov": ("Exponentially weighted moving covariance of x and y (pandas' "
                "``ewm().cov(other)``).", True, "cov(other, bias=bias)"),
    "ewm_corr": ("Exponentially weighted moving correlation of x and y (pandas' "
                 "``ewm().corr(other)``): ``cov / sqrt(var_x var_y)`` of the biased moments, "
                 "clamped to [-1, 1]; NaN while either variance is 0.", False, "corr(other)"),
}

cdef dict MOVE_EXP_DOCS = {
    "nanmean": "the weighted mean",
    "nansum": "the weighted sum ``sum(w x)`` (NaN before the first observation)",
    "nanvar": "the unbiased weighted variance (NaN while its bias denominator is 0)",
    "nanstd": "the square root of the unbiased weighted variance",
    "nancount": "the sum of the weights ``sum(w)`` over the observations",
    "nancov": "the unbiased weighted covariance of a and b",
    "nancorr": "the weighted correlation of a and b (clamped to [-1, 1])",
}


def _assemble_ewm():
    g = globals()
    for name, (summary, has_bias, method) in EWM_DOCS.items():
        pair = name in ("ewm_cov", "ewm_corr")
        parts = [EWM_XY_DOC if pair else EWM_X_DOC, EWM_PARAMS_DOC]
        if has_bias:
            parts.append(EWM_BIAS_DOC)
        raises = " Also for ``x`` and ``y`` of different shapes." if pair else ""
        g[name].__doc__ = (
            f"{summary}\n\n    Parameters\n    ----------\n    " + "\n    ".join(parts)
            + "\n    " + EWM_TAIL_DOC.format(raises=raises, method=method) + "\n    "
        )
    for stat, what in MOVE_EXP_DOCS.items():
        pair = stat in ("nancov", "nancorr")
        args = "a, b, /" if pair else "a, /"
        paragraphs = [
            f"numbagg's ``move_exp_{stat}({args}, *, alpha, min_weight=0, axis=-1)``: {what}, "
            f"with exponential weights, numbagg's arguments and conventions.",
            f"Weights ``(1 - alpha)**k`` for the value k positions back (pandas' ``adjust=True, "
            f"ignore_na=False``); NaNs are skipped{' (in a or b)' if pair else ''}; "
            f"infinities are values, as in numbagg (a mean holding +inf is +inf, variances "
            f"NaN). ``alpha`` is a number in [0, 1], a 1-D array of one alpha per position "
            f"along ``axis``, or an array broadcastable to a's shape; 0 means no decay. An "
            f"output is NaN while numbagg's weight ``sum(alpha * (1 - alpha)**k)`` over the "
            f"observations is below ``min_weight``. ``axis`` is an int or a 1-tuple (``()`` "
            f"returns the input). dtypes as numbagg: float32 stays float32 only when alpha is a "
            f"float32 array; integers and bool become float64.",
            "Same results as numbagg up to rounding on ordinary data, and accurate where "
            "numbagg's power sums are not (data far from 0; see :func:`ewm_var`). Series "
            "(rows) run in parallel on all usable CPUs, one series per thread.",
        ]
        g[f"move_exp_{stat}"].__doc__ = (
            "\n\n".join(
                textwrap.fill(par, 92, initial_indent="    " if k else "",
                              subsequent_indent="    ")
                for k, par in enumerate(paragraphs)
            ) + "\n    "
        )


_assemble_ewm()


# --------------------------------------------------------------------------------------------
# Shape statistics (skew, kurt, sem) and pair statistics (cov, corr): the drivers of
# rolling_shape.cpp and rolling_pair.cpp.

from hotloop._cxx.rolling cimport RollingPair, RollingShape, rolling_pair_rows, rolling_shape_rows


cdef object run_shape(object arr, object y, object out, Py_ssize_t axis, Py_ssize_t w,
                      Py_ssize_t minp, Py_ssize_t dd, int stat, object n_threads):
    """Fills out with the shape statistic `stat` of arr's windows along axis (y is None), or
    with the pair statistic of arr and y (same shape and dtype as arr)."""
    cdef int last = cnp.PyArray_NDIM(<cnp.ndarray>arr) - 1
    cdef bint pair = y is not None
    xm = arr if axis == last else np.moveaxis(arr, axis, -1)
    om = out if axis == last else np.moveaxis(out, axis, -1)
    ym = xm if not pair else (y if axis == last else np.moveaxis(y, axis, -1))
    cdef Py_ssize_t n = cnp.PyArray_DIM(<cnp.ndarray>xm, last)
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(<cnp.ndarray>arr)
    if cnp.PyArray_SIZE(<cnp.ndarray>xm) == 0:
        return out
    cdef RollingRows rows
    offsets = fill_rows(&rows, xm, om)
    cdef cnp.ndarray yo = row_offsets(ym) if pair else offsets[0]
    cdef const Py_ssize_t* yop = offsets_data(yo)
    cdef Py_ssize_t ys = cnp.PyArray_STRIDE(<cnp.ndarray>ym, last) // item
    cdef Py_ssize_t block = rolling_block_size(w)
    cdef int nt = threads_for(n_threads, rows.rows * ((n + block - 1) // block))
    cdef void* xp = cnp.PyArray_DATA(<cnp.ndarray>arr)
    cdef void* yp = cnp.PyArray_DATA(<cnp.ndarray>(y if pair else arr))
    cdef void* op = cnp.PyArray_DATA(<cnp.ndarray>out)
    if float_kind(arr) == FLOAT64:
        with nogil:
            if pair:
                rolling_pair_rows[double](<const double*>xp, <const double*>yp, <double*>op,
                                          rows, yop, ys, w, minp, dd, <RollingPair>stat, nt)
            else:
                rolling_shape_rows[double](<const double*>xp, <double*>op, rows, w, minp, dd,
                                           <RollingShape>stat, nt)
    else:
        with nogil:
            if pair:
                rolling_pair_rows[float](<const float*>xp, <const float*>yp, <float*>op, rows,
                                         yop, ys, w, minp, dd, <RollingPair>stat, nt)
            else:
                rolling_shape_rows[float](<const float*>xp, <float*>op, rows, w, minp, dd,
                                          <RollingShape>stat, nt)
    return out


cdef object shape(object x, object window, object ddof, object min_periods, object axis,
                  object out, object n_threads, int stat):
    cdef object arr = as_rolling_array(x, "x")
    cdef Py_ssize_t ax = as_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>arr), "x")
    cdef Py_ssize_t w, dd, minp
    check_params(window, ddof, min_periods, stat == <int>RollingShape.sem, &w, &dd, &minp)
    if out is None:
        out = empty_like(arr)
    else:
        arr = check_out(out, arr, "x")
    return run_shape(arr, None, out, ax, w, minp, dd, stat, n_threads)


cdef object pair(object x, object y, object window, object ddof, object min_periods,
                 object axis, object out, object n_threads, int stat):
    cdef object xa = as_rolling_array(x, "x")
    cdef object ya = as_rolling_array(y, "y")
    if xa.shape != ya.shape:
        raise ValueError(
            f"x and y must have the same shape, got {xa.shape} and {ya.shape}; accepted: two "
            f"arrays of one shape (broadcast them first, e.g. with np.broadcast_arrays)"
        )
    if xa.dtype != ya.dtype:  # float32 with float64: float64 throughout
        xa = xa.astype(np.float64)
        ya = ya.astype(np.float64)
    cdef Py_ssize_t ax = as_axis(axis, cnp.PyArray_NDIM(<cnp.ndarray>xa), "x")
    cdef Py_ssize_t w, dd, minp
    check_params(window, ddof, min_periods, True, &w, &dd, &minp)
    if out is None:
        out = empty_like(xa)
    else:
        xa = check_out(out, xa, "x")
        ya = check_out(out, ya, "y")
    return run_shape(xa, ya, out, ax, w, minp, dd, stat, n_threads)


def rolling_skew(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return shape(x, window, 0, min_periods, axis, out, n_threads, <int>RollingShape.skew)


def rolling_kurt(x, window, *, min_periods=None, axis=-1, out=None, n_threads=None):
    return shape(x, window, 0, min_periods, axis, out, n_threads, <int>RollingShape.kurt)


def rolling_sem(x, window, *, ddof=1, min_periods=None, axis=-1, out=None, n_threads=None):
    return shape(x, window, ddof, min_periods, axis, out, n_threads, <int>RollingShape.sem)


def rolling_cov(x, y, window, *, ddof=1, min_periods=None, axis=-1, out=None, n_threads=None):
    return pair(x, y, window, ddof, min_periods, axis, out, n_threads, <int>RollingPair.cov)


def rolling_corr(x, y, window, *, ddof=1, min_periods=None, axis=-1, out=None, n_threads=None):
    return pair(x, y, window, ddof, min_periods, axis, out, n_threads, <int>RollingPair.corr)


cdef str Y_DOC = """y : array_like of float64, float32, integers or bool
        The second series, of ``x``'s shape (converted as ``x``; float32 with float64 gives
        float64). Pairs where ``x`` or ``y`` is NaN are skipped, as pandas aligns two series."""
cdef str SHAPE_NOTES = """A window holding an infinity gives NaN{inf}.

    Accuracy: {accuracy} This holds whatever the offset of the data, the drift of a random
    walk, the outliers that passed through the window or the length of the series, over the
    whole range of doubles (each window is scaled by a power of two). Windows of equal values
    are recognised exactly: {equal} The kernel keeps shifted sums of powers up to the 4th with
    a rigorous bound of their rounding error, and recomputes a window exactly (shifted,
    compensated two-pass) when the bound could exceed 2**-38. float32 input is accumulated in
    double and rounded once. For comparison (benchmarks/suites/rolling.py), pandas 3.1 loses
    up to 11 of 16 digits (``sem`` of ``1e9 + N(0, 1)``: 6e-5 relative error; ``corr`` of
    lognormal data: 3e-6; ``kurt`` of a random walk: 4e-8), polars 2.1 keeps 6 digits of
    ``skew`` and ``kurt`` at ``1e9 + N(0, 1)`` and none of ``cov`` and ``corr`` there."""
cdef str PAIR_INF = """
    (pandas' ``Series.rolling().{name}`` instead drops a pair holding an infinity, as if it
    were NaN)"""
cdef str SHAPE_INF = """
    (pandas 3 instead drops infinities, as if they were NaN)"""
# name: (summary, definition, ddof doc, accuracy, equal values, min_periods remark)
cdef dict SHAPE_DOCS = {
    "rolling_skew": (
        "Moving-window skewness (pandas' ``rolling().skew()``).",
        """The adjusted Fisher-Pearson coefficient ``n * sqrt(n - 1) / (n - 2) * M3 / M2**1.5``
    with ``Mk = sum((x - mean)**k)`` over the window's ``n`` non-NaN values, as
    ``scipy.stats.skew(bias=False)``.""",
        "",
        """the absolute error is below ``2**-38 * (2.5 * |skew| + 2.5)``
    (about ``1e-11 * (|skew| + 1)``), plus a few ulps times ``sqrt(window)``.""",
        "their skewness is NaN, as in pandas 3 (0 / 0).",
        """NaN below 3 values whatever
        ``min_periods`` (pandas raises it to 3)."""),
    "rolling_kurt": (
        "Moving-window excess kurtosis (pandas' ``rolling().kurt()``).",
        """Fisher's unbiased ``((n**2 - 1) * n * M4 / M2**2 - 3 * (n - 1)**2) / ((n - 2) *
    (n - 3))`` with ``Mk = sum((x - mean)**k)`` over the window's ``n`` non-NaN values, as
    ``scipy.stats.kurtosis(bias=False)``.""",
        "",
        """the absolute error is below ``3 * 2**-38 * (|kurt| + 14)``
    (about ``1e-11 * (|kurt| + 14)``; the 14 falls to 3 for long windows), plus a few ulps
    times ``sqrt(window)``.""",
        "their kurtosis is NaN, as in pandas 3 (0 / 0).",
        """NaN below 4 values whatever
        ``min_periods`` (pandas raises it to 4)."""),
    "rolling_sem": (
        "Moving-window standard error of the mean (pandas' ``rolling().sem()``).",
        "``std(ddof) / sqrt(n)`` over the window's ``n`` non-NaN values.",
        """ddof : int, optional
        Delta degrees of freedom of the std, ``0 <= ddof < window``: NaN where
        ``n <= ddof``. Default 1 (pandas).""",
        "the relative error is below ``2**-39`` plus a few ulps.",
        "their sem is exactly 0.", ""),
    "rolling_cov": (
        "Moving-window covariance of two series (pandas' ``x.rolling(w).cov(y)``).",
        """``sum((x - mean_x) * (y - mean_y)) / (n - ddof)`` over the window's ``n``
    complete pairs (both non-NaN).""",
        """ddof : int, optional
        Delta degrees of freedom, ``0 <= ddof < window``: NaN where ``n <= ddof``. Default 1
        (pandas).""",
        """the absolute error is below ``2**-38 * sqrt(var_x * var_y)`` of
    the window, plus a few ulps.""",
        "where ``x`` or ``y`` is constant the covariance is exactly 0.",
        "It counts complete pairs."),
    "rolling_corr": (
        "Moving-window Pearson correlation of two series (pandas' ``x.rolling(w).corr(y)``).",
        """``Cxy / sqrt(Mxx * Myy)`` over the window's complete pairs (both non-NaN), clamped to
    [-1, 1].""",
        """ddof : int, optional
        Accepted for pandas' signature, ``0 <= ddof < window``; it cancels out of the
        correlation. Default 1.""",
        "the absolute error is below ``2**-37`` plus a few ulps.",
        """where ``x`` or ``y`` is constant the correlation is NaN
    (0 / 0), as in pandas.""",
        "It counts complete pairs."),
}


def _assemble_shape():
    g = globals()
    for name, (summary, definition, ddof, accuracy, equal, empty) in SHAPE_DOCS.items():
        pair = name in ("rolling_cov", "rolling_corr")
        parts = [X_DOC] + ([Y_DOC] if pair else [])
        parts += [WINDOW_DOC] + ([ddof] if ddof else []) + [MINP_DOC.format(empty=empty)]
        raises = ", ``ddof`` outside ``[0, window)``" if ddof else ""
        if pair:
            raises += ", ``x`` and ``y`` of different shapes"
        inf = PAIR_INF.format(name=name[len("rolling_"):]) if pair else SHAPE_INF
        notes = SHAPE_NOTES.format(inf=inf, accuracy=accuracy, equal=equal)
        g[name].__doc__ = (
            f"{summary}\n\n    {definition}\n\n    Parameters\n    ----------\n    "
            + "\n    ".join(parts)
            + "\n    " + TAIL_DOC.format(ret="", raises=raises, notes=notes) + "\n    "
        )


_assemble_shape()
