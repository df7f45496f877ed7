"""Moving-window mean, variance and standard deviation.

Wrappers only: arguments are validated with the GIL held (hotloop._validate), then the C++
kernels of cxx/include/hotloop/rolling.hpp run with the GIL released.
"""
import numpy as np

from cython cimport floating
from cython.parallel cimport prange

from hotloop._cxx.rolling cimport RollingStat, rolling_block_size, rolling_moments_block
from hotloop._validate cimport FLOAT64, as_float_array, as_int, check_out, float_kind, threads_for


# --------------------------------------------------------------------------------------------
# Rolling windows


cdef int rolling_typed(const floating[:, :] x, floating[:, :] out, Py_ssize_t window,
                       Py_ssize_t min_periods, Py_ssize_t ddof, RollingStat stat,
                       object n_threads) except -1:
    cdef Py_ssize_t rows = x.shape[0], n = x.shape[1]
    cdef Py_ssize_t xs = x.strides[1] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t os = out.strides[1] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t block = rolling_block_size(window)
    cdef Py_ssize_t nblocks = (n + block - 1) // block
    cdef Py_ssize_t ntasks = rows * nblocks
    cdef Py_ssize_t t, r, b
    cdef int nt = threads_for(n_threads, ntasks)
    if ntasks == 0:
        return 0
    # Every block restarts exactly, so any schedule gives bit-identical output.
    with nogil:
        for t in prange(ntasks, num_threads=nt, schedule="dynamic"):
            r = t // nblocks
            b = (t % nblocks) * block
            rolling_moments_block(&x[r, 0], xs, window, min_periods, ddof, stat,
                                  &out[r, 0], os, b, min(b + block, n))
    return 0


cpdef tuple rolling_params(object window, object ddof, object min_periods, bint has_ddof):
    """(window, ddof, min_periods) checked against each other: window >= 1,
    0 <= ddof < window, 0 <= min_periods <= window (default window)."""
    cdef Py_ssize_t w = as_int(window, "window", 1)
    cdef Py_ssize_t dd = 0
    cdef Py_ssize_t minp = w
    if has_ddof:
        dd = as_int(ddof, "ddof", 0)
        if dd >= w:
            raise ValueError(f"ddof={dd} must be less than window={w}; accepted: 0 <= ddof < {w}")
    if min_periods is not None:
        minp = as_int(min_periods, "min_periods", 0)
        if minp > w:
            raise ValueError(
                f"min_periods={minp} must be <= window={w}; accepted: 0 <= min_periods <= {w}"
            )
    return w, dd, minp


cdef object rolling(object x, object window, object ddof, object min_periods, object out,
                    object n_threads, RollingStat stat):
    cdef object arr = as_float_array(x, "x", 1, 2)
    cdef Py_ssize_t w, dd, minp
    w, dd, minp = rolling_params(window, ddof, min_periods, stat != RollingStat.mean)
    if out is None:
        out = np.empty(arr.shape, dtype=arr.dtype)
    else:
        arr = check_out(out, arr, "x")
    a2 = arr if arr.ndim == 2 else arr[None, :]
    o2 = out if out.ndim == 2 else out[None, :]
    if float_kind(arr) == FLOAT64:
        rolling_typed[double](a2, o2, w, minp, dd, stat, n_threads)
    else:
        rolling_typed[float](a2, o2, w, minp, dd, stat, n_threads)
    return out


def rolling_mean(x, window, *, min_periods=None, out=None, n_threads=None):
    """Moving-window mean along the last axis.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, or 2-D with windows along the last axis (rows are independent series). Any
        strides; read-only arrays are fine. Lists and tuples of real numbers are converted to
        float64; byte-swapped arrays are converted to native order (the result is native).
    window : int
        Window length, >= 1. Output ``i`` describes ``x[..., max(0, i - window + 1):i + 1]``.
        A window longer than the series is allowed (as in pandas): outputs then follow the
        ``min_periods`` rule, so with the default every output is NaN.
    min_periods : int, optional
        Least number of non-NaN values a window needs for a result; fewer gives NaN. Default
        ``window`` (pandas' convention); must be between 0 and ``window``. A window with no
        values at all is NaN whatever ``min_periods`` is.
    out : ndarray, optional
        Where to write the result: same shape and dtype as ``x``, writable, any strides. It
        may be ``x`` itself or overlap it (``x`` is then copied first).
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`): ``None`` for all usable
        CPUs, a negative count to count back from them. The result is bit-identical for any
        value.

    Returns
    -------
    ndarray
        Same shape and dtype as ``x`` (``out`` if given). float32 input is accumulated in
        double precision and rounded once.

    Raises
    ------
    TypeError
        For a dtype other than float64/float32, non-integer arguments (bool refused) or a
        mismatched ``out`` dtype.
    OverflowError
        For an integer argument that does not fit a C ``Py_ssize_t``.
    ValueError
        For ``x`` that is not 1-D or 2-D, ``window < 1``, ``min_periods`` outside
        ``[0, window]``, an ``out`` of another shape, or a read-only ``out``.

    Notes
    -----
    NaNs are skipped, as pandas and bottleneck do: they take no part in a window's
    statistics and do not count towards ``min_periods``. Infinities are values: a window
    holding +inf has a mean of +inf (-inf likewise, NaN with both) (the variance would be NaN).

    Accuracy: the relative error of every output is below 2**-36 (about 1.5e-11) for the
    variance and half that for the standard deviation; the mean's error is below 2**-36 times
    ``|mean| + std`` of its window. This holds whatever the offset of the data, the
    outliers that passed through the window, or the length of the series; windows of equal
    values give exactly 0. The kernel tracks a rigorous bound of its rounding error and
    recomputes a window exactly (shifted two-pass) whenever the bound could exceed that.
    On ``1e9 + N(0, 1)`` data bottleneck and pandas lose about 5 of their 16 digits.

    Long series are cut into blocks of ``max(16384, 16 * window)`` outputs that start
    ``window - 1`` values early and re-initialise exactly; blocks and rows run in parallel.

    Limits of double precision (NumPy has the same): deviations from the window mean below
    about 1e-154 underflow when squared, and above about 1e154 overflow to inf.
    """
    return rolling(x, window, 0, min_periods, out, n_threads, RollingStat.mean)


def rolling_var(x, window, *, ddof=0, min_periods=None, out=None, n_threads=None):
    """Moving-window variance along the last axis.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, or 2-D with windows along the last axis (rows are independent series). Any
        strides; read-only arrays are fine. Lists and tuples of real numbers are converted to
        float64; byte-swapped arrays are converted to native order (the result is native).
    window : int
        Window length, >= 1. Output ``i`` describes ``x[..., max(0, i - window + 1):i + 1]``.
        A window longer than the series is allowed (as in pandas): outputs then follow the
        ``min_periods`` rule, so with the default every output is NaN.
    ddof : int, optional
        Delta degrees of freedom, ``0 <= ddof < window``: the divisor is ``count - ddof``
        with ``count`` the window's non-NaN values; NaN where ``count <= ddof``. Default 0
        (NumPy, bottleneck); pandas' ``rolling().std()`` uses 1.
    min_periods : int, optional
        Least number of non-NaN values a window needs for a result; fewer gives NaN. Default
        ``window`` (pandas' convention); must be between 0 and ``window``. A window with no
        values at all is NaN whatever ``min_periods`` is.
    out : ndarray, optional
        Where to write the result: same shape and dtype as ``x``, writable, any strides. It
        may be ``x`` itself or overlap it (``x`` is then copied first).
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`): ``None`` for all usable
        CPUs, a negative count to count back from them. The result is bit-identical for any
        value.

    Returns
    -------
    ndarray
        Same shape and dtype as ``x`` (``out`` if given). float32 input is accumulated in
        double precision and rounded once.

    Raises
    ------
    TypeError
        For a dtype other than float64/float32, non-integer arguments (bool refused) or a
        mismatched ``out`` dtype.
    OverflowError
        For an integer argument that does not fit a C ``Py_ssize_t``.
    ValueError
        For ``x`` that is not 1-D or 2-D, ``window < 1``, ``min_periods`` outside
                ``[0, window]``, ``ddof`` outside ``[0, window)``, an ``out`` of another shape,
        or a read-only ``out``.

    Notes
    -----
    NaNs are skipped, as pandas and bottleneck do: they take no part in a window's
    statistics and do not count towards ``min_periods``. Infinities are values: a window
    holding +inf has a mean of +inf (-inf likewise, NaN with both) and a variance of NaN.

    Accuracy: the relative error of every output is below 2**-36 (about 1.5e-11) for the
    variance and half that for the standard deviation; the mean's error is below 2**-36 times
    ``|mean| + std`` of its window. This holds whatever the offset of the data, the
    outliers that passed through the window, or the length of the series; windows of equal
    values give exactly 0. The kernel tracks a rigorous bound of its rounding error and
    recomputes a window exactly (shifted two-pass) whenever the bound could exceed that.
    On ``1e9 + N(0, 1)`` data bottleneck and pandas lose about 5 of their 16 digits.

    Long series are cut into blocks of ``max(16384, 16 * window)`` outputs that start
    ``window - 1`` values early and re-initialise exactly; blocks and rows run in parallel.

    Limits of double precision (NumPy has the same): deviations from the window mean below
    about 1e-154 underflow when squared, and above about 1e154 overflow to inf.
    """
    return rolling(x, window, ddof, min_periods, out, n_threads, RollingStat.var)


def rolling_std(x, window, *, ddof=0, min_periods=None, out=None, n_threads=None):
    """Moving-window standard deviation along the last axis.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, or 2-D with windows along the last axis (rows are independent series). Any
        strides; read-only arrays are fine. Lists and tuples of real numbers are converted to
        float64; byte-swapped arrays are converted to native order (the result is native).
    window : int
        Window length, >= 1. Output ``i`` describes ``x[..., max(0, i - window + 1):i + 1]``.
        A window longer than the series is allowed (as in pandas): outputs then follow the
        ``min_periods`` rule, so with the default every output is NaN.
    ddof : int, optional
        Delta degrees of freedom, ``0 <= ddof < window``: the divisor is ``count - ddof``
        with ``count`` the window's non-NaN values; NaN where ``count <= ddof``. Default 0
        (NumPy, bottleneck); pandas' ``rolling().std()`` uses 1.
    min_periods : int, optional
        Least number of non-NaN values a window needs for a result; fewer gives NaN. Default
        ``window`` (pandas' convention); must be between 0 and ``window``. A window with no
        values at all is NaN whatever ``min_periods`` is.
    out : ndarray, optional
        Where to write the result: same shape and dtype as ``x``, writable, any strides. It
        may be ``x`` itself or overlap it (``x`` is then copied first).
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`): ``None`` for all usable
        CPUs, a negative count to count back from them. The result is bit-identical for any
        value.

    Returns
    -------
    ndarray
        Same shape and dtype as ``x`` (``out`` if given). float32 input is accumulated in
        double precision and rounded once.

    Raises
    ------
    TypeError
        For a dtype other than float64/float32, non-integer arguments (bool refused) or a
        mismatched ``out`` dtype.
    OverflowError
        For an integer argument that does not fit a C ``Py_ssize_t``.
    ValueError
        For ``x`` that is not 1-D or 2-D, ``window < 1``, ``min_periods`` outside
                ``[0, window]``, ``ddof`` outside ``[0, window)``, an ``out`` of another shape,
        or a read-only ``out``.

    Notes
    -----
    NaNs are skipped, as pandas and bottleneck do: they take no part in a window's
    statistics and do not count towards ``min_periods``. Infinities are values: a window
    holding +inf has a mean of +inf (-inf likewise, NaN with both) and a variance of NaN.

    Accuracy: the relative error of every output is below 2**-36 (about 1.5e-11) for the
    variance and half that for the standard deviation; the mean's error is below 2**-36 times
    ``|mean| + std`` of its window. This holds whatever the offset of the data, the
    outliers that passed through the window, or the length of the series; windows of equal
    values give exactly 0. The kernel tracks a rigorous bound of its rounding error and
    recomputes a window exactly (shifted two-pass) whenever the bound could exceed that.
    On ``1e9 + N(0, 1)`` data bottleneck and pandas lose about 5 of their 16 digits.

    Long series are cut into blocks of ``max(16384, 16 * window)`` outputs that start
    ``window - 1`` values early and re-initialise exactly; blocks and rows run in parallel.

    Limits of double precision (NumPy has the same): deviations from the window mean below
    about 1e-154 underflow when squared, and above about 1e154 overflow to inf.
    """
    return rolling(x, window, ddof, min_periods, out, n_threads, RollingStat.std)
