"""Mean, variance and standard deviation: whole arrays, rolling windows and live streams.

Wrappers only: arguments are validated with the GIL held, then the C++ kernels of
cxx/include/hotloop/{moments,rolling}.hpp run with the GIL released.
"""
import warnings

import numpy as np

cimport numpy as cnp
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsDouble
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, sqrt

from hotloop._cxx.moments cimport Moments, moments
from hotloop._cxx.moments cimport RunningStats as CppRunningStats
from hotloop._cxx.rolling cimport RollingStat, rolling_block_size, rolling_moments_block
from hotloop._openmp cimport effective_n_threads

# Below this many values the GIL is kept: releasing it costs more than the kernel.
cdef Py_ssize_t NOGIL_MIN = 8192
cdef enum:
    # Python sequences up to this length are converted into a buffer on the C stack.
    STACK_N = 256
    # Generators and other iterables are consumed in chunks of this many values.
    CHUNK_N = 1024

cnp.import_array()

cdef object F64 = np.dtype(np.float64)
cdef object F32 = np.dtype(np.float32)

cdef enum Reduction:
    R_MEAN = 0
    R_VAR = 1
    R_STD = 2


# --------------------------------------------------------------------------------------------
# Argument checks shared by every function of the family


cdef object as_float_array(object x, str name, int max_ndim):
    """x as a native-endian float64/float32 ndarray of 1..max_ndim dims, or TypeError/ValueError.

    Lists and tuples become float64. Arrays whose strides are not a whole number of elements
    (views into structured arrays) are copied, since the kernels take strides in elements.
    """
    cdef object arr, dt
    if type(x) is np.ndarray:
        arr = x
    elif isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers only: {exc}") from None
    else:
        arr = np.asarray(x)
    dt = arr.dtype
    if dt is not F64 and dt is not F32:
        if dt.kind == "f" and dt.itemsize in (4, 8) and not dt.isnative:
            arr = arr.astype(F64 if dt.itemsize == 8 else F32)
        else:
            raise TypeError(
                f"{name} must have dtype float64 or float32, got {dt} "
                f"(convert with {name}.astype(np.float64))"
            )
    if not 1 <= arr.ndim <= max_ndim:
        accepted = "1-D" if max_ndim == 1 else f"1-D to {max_ndim}-D"
        raise ValueError(f"{name} must be {accepted}, got {arr.ndim}-D with shape {arr.shape}")
    for s in arr.strides:
        if s % arr.itemsize:
            return np.ascontiguousarray(arr)
    return arr


cdef Py_ssize_t as_count(object value, str name, Py_ssize_t lowest) except -1:
    """An integer argument >= lowest, or TypeError/ValueError naming it."""
    cdef Py_ssize_t fast
    if type(value) is int:
        fast = value
        if fast < lowest:
            raise ValueError(f"{name} must be >= {lowest}, got {fast}")
        return fast
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    cdef object v = value.__index__()
    if v < lowest:
        raise ValueError(f"{name} must be >= {lowest}, got {v}")
    return v


cdef double item_as_double(object item, Py_ssize_t i) except? -1.0:
    """Slow path of the sequence readers: ints, bools, NumPy scalars, objects with __float__."""
    try:
        return item
    except TypeError:
        raise TypeError(
            f"x[{i}] must be a real number, got {type(item).__name__}: {item!r:.40}"
        ) from None
    except OverflowError:
        raise OverflowError(f"x[{i}] is too large for a float: {item!r:.40}") from None


cdef double int_as_double(object item, Py_ssize_t i) except? -1.0:
    try:
        return PyLong_AsDouble(item)
    except OverflowError:
        raise OverflowError(f"x[{i}] is too large for a float: {item!r:.40}") from None


cdef extern from "Python.h":
    # Borrowed views of a list's or tuple's items, read without reference counting.
    PyObject** PySequence_Fast_ITEMS(object o)
    bint float_check "PyFloat_Check" (PyObject* o)
    double float_as_double "PyFloat_AS_DOUBLE" (PyObject* o)
    bint int_check_exact "PyLong_CheckExact" (PyObject* o)


cdef Py_ssize_t fill_from_sequence(object seq, double* buf, Py_ssize_t n) except -1:
    """Copy the n numbers of a list or tuple into buf.

    Floats are read straight from the item array. Any other item goes through __float__,
    which is Python code that could resize a list under us: after each such call the size is
    checked again and the item array re-read.
    """
    cdef PyObject** items
    cdef Py_ssize_t i = 0
    while i < n:
        items = PySequence_Fast_ITEMS(seq)
        while i < n and float_check(items[i]):
            buf[i] = float_as_double(items[i])
            i += 1
        while i < n and int_check_exact(items[i]):
            buf[i] = int_as_double(<object>items[i], i)
            i += 1
        if i < n and not float_check(items[i]):
            buf[i] = item_as_double(<object>items[i], i)
            i += 1
            if len(seq) != n:
                raise ValueError("x changed size while it was being read")
    return n


# --------------------------------------------------------------------------------------------
# Whole-array reductions


cdef Moments moments_of_buffer(const floating* x, Py_ssize_t n, Py_ssize_t stride, bint skipna,
                               bint need_m2) noexcept:
    cdef Moments r
    if n < NOGIL_MIN:
        return moments(x, n, stride, skipna, need_m2)
    with nogil:
        r = moments(x, n, stride, skipna, need_m2)
    return r


cdef Moments moments_of_array(const floating[:] x, bint skipna, bint need_m2) noexcept:
    cdef Moments r
    if x.shape[0] == 0:
        r.count = 0
        r.mean = NAN
        r.m2 = NAN
        return r
    return moments_of_buffer(&x[0], x.shape[0], x.strides[0] // <Py_ssize_t>sizeof(floating),
                             skipna, need_m2)


cdef Moments moments_of_sequence(object seq, bint skipna, bint need_m2) except *:
    cdef Py_ssize_t n = len(seq)
    cdef double stack_buf[STACK_N]
    cdef double* buf = stack_buf
    cdef Moments r
    if n > STACK_N:
        buf = <double*>PyMem_Malloc(n * sizeof(double))
        if buf == NULL:
            raise MemoryError(f"cannot allocate a buffer for {n} values")
    try:
        fill_from_sequence(seq, buf, n)
        r = moments_of_buffer(buf, n, 1, skipna, need_m2)
    finally:
        if buf != stack_buf:
            PyMem_Free(buf)
    return r


cdef inline bint direct_1d(object x, int typenum):
    """True when x is exactly a 1-D, native-endian ndarray of the given type whose stride is a
    whole number of elements: then the kernel can read its buffer directly."""
    if not cnp.PyArray_CheckExact(x):
        return False
    cdef cnp.ndarray a = <cnp.ndarray>x
    return (cnp.PyArray_NDIM(a) == 1 and cnp.PyArray_TYPE(a) == typenum
            and cnp.PyArray_ISNOTSWAPPED(a)
            and cnp.PyArray_STRIDE(a, 0) % cnp.PyArray_ITEMSIZE(a) == 0)


cdef object reduce(object x, object ddof, bint skipna, Reduction what):
    cdef Py_ssize_t n, dd = 0
    cdef Moments r
    cdef object arr
    cdef bint need_m2 = what != R_MEAN
    if need_m2:
        dd = as_count(ddof, "ddof", 0)
    # Small arrays are where call overhead shows (np.std of 50 numbers spends 99% of its time
    # in overhead), so plain 1-D float arrays skip the memoryview acquisition (~150 ns, more
    # than the kernel) and hand their buffer to the kernel through NumPy's C API.
    if direct_1d(x, cnp.NPY_DOUBLE):
        n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
        r = moments_of_buffer(<const double*>cnp.PyArray_DATA(<cnp.ndarray>x), n,
                              cnp.PyArray_STRIDE(<cnp.ndarray>x, 0) // 8, skipna, need_m2)
    elif direct_1d(x, cnp.NPY_FLOAT):
        n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
        r = moments_of_buffer(<const float*>cnp.PyArray_DATA(<cnp.ndarray>x), n,
                              cnp.PyArray_STRIDE(<cnp.ndarray>x, 0) // 4, skipna, need_m2)
    elif type(x) is list or type(x) is tuple:
        n = len(x)
        r = moments_of_sequence(x, skipna, need_m2)
    else:
        arr = as_float_array(x, "x", 1)
        n = arr.shape[0]
        if arr.dtype.itemsize == 8:  # as_float_array: float64 or float32
            r = moments_of_array[double](arr, skipna, need_m2)
        else:
            r = moments_of_array[float](arr, skipna, need_m2)
    if n == 0:
        warnings.warn("empty input: the result is NaN", RuntimeWarning, stacklevel=3)
        return NAN
    if dd >= n:
        raise ValueError(f"ddof={dd} must be less than the number of values ({n})")
    if r.count <= dd:  # only with skipna: too few non-NaN values
        warnings.warn(
            f"{r.count} non-NaN value(s) leave no degrees of freedom with ddof={dd}: "
            "the result is NaN",
            RuntimeWarning,
            stacklevel=3,
        )
        return NAN
    if what == R_MEAN:
        return r.mean
    if what == R_VAR:
        return r.m2 / <double>(r.count - dd)
    return sqrt(r.m2 / <double>(r.count - dd))


_REDUCTION_DOC = """{summary}

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too. Lists and tuples may hold floats, ints (exactly
        representable up to 2**53) and anything with ``__float__``.{ddof_doc}

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number.
    ValueError
        For input that is not 1-D{ddof_raise}.

    Notes
    -----
    {nan_policy} Empty input gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0. Limits of double precision (NumPy has
    the same): deviations below about 1e-154 underflow when squared, above about 1e154 the
    variance overflows to inf.
"""

_DDOF_DOC = """
    ddof : int, optional
        Delta degrees of freedom: the divisor is ``N - ddof`` with ``N`` the number of values
        used. Default 0 (population variance, as NumPy); 1 gives the sample variance."""
_DDOF_RAISE = ", a negative ddof, or ``ddof >= len(x)`` on non-empty input"
_NAN_PROPAGATE = (
    "A NaN anywhere gives NaN; +inf/-inf give a mean of +inf/-inf (NaN if both occur) and a "
    "variance of NaN, as NumPy."
)
_NAN_SKIP = (
    "NaNs are ignored; when fewer than ``ddof + 1`` values remain the result is NaN with a "
    "``RuntimeWarning`` (NumPy's nan-functions do the same). Infinities are values."
)


def mean(x):
    return reduce(x, 0, False, R_MEAN)


def var(x, *, ddof=0):
    return reduce(x, ddof, False, R_VAR)


def std(x, *, ddof=0):
    return reduce(x, ddof, False, R_STD)


def nanmean(x):
    return reduce(x, 0, True, R_MEAN)


def nanvar(x, *, ddof=0):
    return reduce(x, ddof, True, R_VAR)


def nanstd(x, *, ddof=0):
    return reduce(x, ddof, True, R_STD)


for _f, _summary, _skip in [
    (mean, "Arithmetic mean of a 1-D array or sequence.", False),
    (var, "Variance of a 1-D array or sequence.", False),
    (std, "Standard deviation of a 1-D array or sequence.", False),
    (nanmean, "Arithmetic mean, ignoring NaNs.", True),
    (nanvar, "Variance, ignoring NaNs.", True),
    (nanstd, "Standard deviation, ignoring NaNs.", True),
]:
    _has_ddof = not _f.__name__.endswith("mean")
    _f.__doc__ = _REDUCTION_DOC.format(
        summary=_summary,
        ddof_doc=_DDOF_DOC if _has_ddof else "",
        ddof_raise=_DDOF_RAISE if _has_ddof else "",
        nan_policy=_NAN_SKIP if _skip else _NAN_PROPAGATE,
    )


# --------------------------------------------------------------------------------------------
# Rolling windows


cdef int rolling_typed(const floating[:, :] x, floating[:, :] out, Py_ssize_t window,
                       Py_ssize_t min_periods, Py_ssize_t ddof, RollingStat stat,
                       int n_threads) except -1:
    cdef Py_ssize_t rows = x.shape[0], n = x.shape[1]
    cdef Py_ssize_t xs = x.strides[1] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t os = out.strides[1] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t block = rolling_block_size(window)
    cdef Py_ssize_t nblocks = (n + block - 1) // block
    cdef Py_ssize_t ntasks = rows * nblocks
    cdef Py_ssize_t t, r, b
    if ntasks == 0:
        return 0
    if ntasks < n_threads:
        n_threads = <int>ntasks
    # Every block restarts exactly, so any schedule gives bit-identical output.
    with nogil:
        for t in prange(ntasks, num_threads=n_threads, schedule="dynamic"):
            r = t // nblocks
            b = (t % nblocks) * block
            rolling_moments_block(&x[r, 0], xs, window, min_periods, ddof, stat,
                                  &out[r, 0], os, b, min(b + block, n))
    return 0


cdef object rolling(object x, object window, object ddof, object min_periods, object out,
                    object n_threads, RollingStat stat):
    cdef object arr = as_float_array(x, "x", 2)
    cdef Py_ssize_t w = as_count(window, "window", 1)
    cdef Py_ssize_t dd = 0
    cdef Py_ssize_t minp = w
    if stat != RollingStat.mean:
        dd = as_count(ddof, "ddof", 0)
        if dd >= w:
            raise ValueError(f"ddof={dd} must be less than window={w}")
    if min_periods is not None:
        minp = as_count(min_periods, "min_periods", 0)
        if minp > w:
            raise ValueError(f"min_periods={minp} must be <= window={w}")
    cdef int nt = effective_n_threads(n_threads)
    if out is None:
        out = np.empty(arr.shape, dtype=arr.dtype)
    else:
        if type(out) is not np.ndarray:
            raise TypeError(f"out must be a NumPy array, got {type(out).__name__}")
        if out.dtype != arr.dtype:
            raise TypeError(f"out must have dtype {arr.dtype} like x, got {out.dtype}")
        if out.shape != arr.shape:
            raise ValueError(f"out must have shape {arr.shape} like x, got {out.shape}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
        if any(s % out.itemsize for s in out.strides):
            raise ValueError("out must have strides that are whole multiples of its itemsize")
        if np.may_share_memory(arr, out):
            arr = arr.copy()  # outputs would overwrite inputs still to be read
    a2 = arr if arr.ndim == 2 else arr[None, :]
    o2 = out if out.ndim == 2 else out[None, :]
    if arr.dtype.itemsize == 8:  # as_float_array: float64 or float32
        rolling_typed[double](a2, o2, w, minp, dd, stat, nt)
    else:
        rolling_typed[float](a2, o2, w, minp, dd, stat, nt)
    return out


_ROLLING_DOC = """{summary}

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, or 2-D with windows along the last axis (rows are independent series). Any
        strides; read-only arrays are fine. Lists and tuples are converted to float64.
    window : int
        Window length, >= 1. Output ``i`` describes ``x[..., max(0, i - window + 1):i + 1]``.
        A window longer than the series is allowed (as in pandas): outputs then follow the
        ``min_periods`` rule, so with the default every output is NaN.{ddof_doc}
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
        For a dtype other than float64/float32, non-integer arguments or a mismatched ``out``
        dtype.
    ValueError
        For ``x`` that is not 1-D or 2-D, ``window < 1``, ``min_periods`` outside
        ``[0, window]``{ddof_raise}, an ``out`` of another shape, or a read-only ``out``.

    Notes
    -----
    NaNs are skipped, as pandas and bottleneck do: they take no part in a window's
    statistics and do not count towards ``min_periods``. Infinities are values: a window
    holding +inf has a mean of +inf (-inf likewise, NaN with both) {inf_var}

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


def rolling_mean(x, window, *, min_periods=None, out=None, n_threads=None):
    return rolling(x, window, 0, min_periods, out, n_threads, RollingStat.mean)


def rolling_var(x, window, *, ddof=0, min_periods=None, out=None, n_threads=None):
    return rolling(x, window, ddof, min_periods, out, n_threads, RollingStat.var)


def rolling_std(x, window, *, ddof=0, min_periods=None, out=None, n_threads=None):
    return rolling(x, window, ddof, min_periods, out, n_threads, RollingStat.std)


_ROLLING_DDOF_DOC = """
    ddof : int, optional
        Delta degrees of freedom, ``0 <= ddof < window``: the divisor is ``count - ddof``
        with ``count`` the window's non-NaN values; NaN where ``count <= ddof``. Default 0
        (NumPy, bottleneck); pandas' ``rolling().std()`` uses 1."""

for _f, _summary in [
    (rolling_mean, "Moving-window mean along the last axis."),
    (rolling_var, "Moving-window variance along the last axis."),
    (rolling_std, "Moving-window standard deviation along the last axis."),
]:
    _has_ddof = _f is not rolling_mean
    _f.__doc__ = _ROLLING_DOC.format(
        summary=_summary,
        ddof_doc=_ROLLING_DDOF_DOC if _has_ddof else "",
        ddof_raise=", ``ddof`` outside ``[0, window)``" if _has_ddof else "",
        inf_var="and a variance of NaN." if _has_ddof else "(the variance would be NaN).",
    )


# --------------------------------------------------------------------------------------------
# Streams


cdef class RunningStats:
    """Running count, mean, variance and standard deviation of a stream of numbers.

    Parameters
    ----------
    skipna : bool, optional
        Ignore NaNs instead of letting them make every result NaN. Default False.

    Notes
    -----
    Feed values one at a time with :meth:`push`, or arrays and iterables with :meth:`extend`;
    combine accumulators filled elsewhere (threads, processes, batches) with :meth:`merge`.
    The mean and the sum of squared deviations are kept in double-double precision and
    combined with Chan, Golub and LeVeque's pairwise formula, so results match a two-pass
    computation over all values to about 1e-15 relative, also for a million values at an
    offset of 1e9, and merging is as accurate as pushing everything into one accumulator.

    Non-finite values: without ``skipna`` a NaN makes ``mean``, ``var`` and ``std`` NaN;
    +inf or -inf make the mean infinite (NaN when both occur) and the variance NaN, as NumPy.
    ``count`` counts every value taken (NaNs too, unless skipped).

    Instances pickle and copy (``copy.copy``) exactly.

    Examples
    --------
    >>> from hotloop import RunningStats
    >>> rs = RunningStats()
    >>> for v in (1.0, 2.0, 4.0):
    ...     rs.push(v)
    >>> rs.count, rs.mean
    (3, 2.3333333333333335)
    """

    cdef CppRunningStats acc

    def __init__(self, *, skipna=False):
        self.acc = CppRunningStats(<bint>bool(skipna))

    @property
    def skipna(self):
        """Whether NaNs are ignored."""
        return self.acc.skipna()

    @property
    def count(self):
        """Number of values taken (including infinities, and NaNs unless skipped)."""
        return self.acc.count()

    @property
    def mean(self):
        """Mean of the values taken; NaN when there are none."""
        return self.acc.mean()

    def var(self, ddof=0):
        """Variance, dividing by ``count - ddof``; NaN when ``count <= ddof``.

        Parameters
        ----------
        ddof : int, optional
            Delta degrees of freedom, >= 0. Default 0.
        """
        return self.acc.var(as_count(ddof, "ddof", 0))

    def std(self, ddof=0):
        """Standard deviation, ``sqrt(var(ddof))``; NaN when ``count <= ddof``.

        Parameters
        ----------
        ddof : int, optional
            Delta degrees of freedom, >= 0. Default 0.
        """
        return self.acc.std(as_count(ddof, "ddof", 0))

    def push(self, value):
        """Add one value (a float, an int, or anything with ``__float__``)."""
        cdef double v
        try:
            v = value
        except TypeError:
            raise TypeError(
                f"RunningStats.push expects a real number, got {type(value).__name__}"
            ) from None
        self.acc.push(v)

    def extend(self, values):
        """Add many values.

        Parameters
        ----------
        values : ndarray, list, tuple or iterable
            A 1-D float64/float32 array (any stride, read-only too; the GIL is released for
            large arrays), or any iterable of real numbers, consumed in chunks so that a
            generator of any length runs in constant memory.

        Raises
        ------
        TypeError, ValueError
            For a non-float array dtype, an array that is not 1-D, or an item that is not a
            real number. The accumulator is then left as it was before the call.
        """
        cdef CppRunningStats saved = self.acc
        try:
            if type(values) is np.ndarray or hasattr(values, "__array_interface__"):
                arr = as_float_array(values, "values", 1)
                if arr.dtype.itemsize == 8:  # as_float_array: float64 or float32
                    extend_array[double](&self.acc, arr)
                else:
                    extend_array[float](&self.acc, arr)
            else:
                extend_iterable(&self.acc, values)
        except BaseException:
            self.acc = saved
            raise

    def merge(self, RunningStats other not None):
        """Add everything another accumulator has taken, as if it had been pushed here.

        Raises
        ------
        ValueError
            If the two accumulators differ in ``skipna``.
        """
        if other.acc.skipna() != self.acc.skipna():
            raise ValueError(
                f"cannot merge skipna={other.acc.skipna()} into skipna={self.acc.skipna()}"
            )
        self.acc.merge(other.acc)

    def __reduce__(self):
        cdef CppRunningStats.State s = self.acc.state()
        return (_running_stats_from_state, (bool(s.skipna), s.n_finite, s.n_nan, s.n_posinf,
                                            s.n_neginf, s.mean_hi, s.mean_lo, s.m2_hi, s.m2_lo))

    def __repr__(self):
        extra = ", skipna=True" if self.acc.skipna() else ""
        return (f"RunningStats(count={self.acc.count()}, mean={self.acc.mean()!r}, "
                f"std={self.acc.std(0)!r}{extra})")


cdef int extend_array(CppRunningStats* acc, const floating[:] x) except -1:
    cdef Py_ssize_t n = x.shape[0]
    if n == 0:
        return 0
    cdef Py_ssize_t stride = x.strides[0] // <Py_ssize_t>sizeof(floating)
    if n < NOGIL_MIN:
        acc.extend(&x[0], n, stride)
        return 0
    with nogil:
        acc.extend(&x[0], n, stride)
    return 0


cdef int extend_iterable(CppRunningStats* acc, object values) except -1:
    cdef double buf[CHUNK_N]
    cdef Py_ssize_t k = 0, i = 0
    for item in values:
        buf[k] = PyFloat_AS_DOUBLE(item) if type(item) is float else item_as_double(item, i)
        k += 1
        i += 1
        if k == CHUNK_N:
            acc.extend(buf, k, 1)
            k = 0
    acc.extend(buf, k, 1)
    return 0


def _running_stats_from_state(skipna, n_finite, n_nan, n_posinf, n_neginf,
                              mean_hi, mean_lo, m2_hi, m2_lo):
    """Rebuild a pickled RunningStats (private)."""
    cdef CppRunningStats.State s
    if min(n_finite, n_nan, n_posinf, n_neginf) < 0:
        raise ValueError("corrupt RunningStats state: negative count")
    s.skipna = bool(skipna)
    s.n_finite = n_finite
    s.n_nan = n_nan
    s.n_posinf = n_posinf
    s.n_neginf = n_neginf
    s.mean_hi = mean_hi
    s.mean_lo = mean_lo
    s.m2_hi = m2_hi
    s.m2_lo = m2_lo
    cdef RunningStats rs = RunningStats.__new__(RunningStats)
    rs.acc = CppRunningStats.from_state(s)
    return rs
