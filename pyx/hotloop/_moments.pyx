"""Mean, variance and standard deviation of whole arrays, and of live streams (RunningStats).

Wrappers only: arguments are validated with the GIL held, then the C++ kernels of
cxx/include/hotloop/moments.hpp run with the GIL released.
"""
import warnings

import numpy as np

from hotloop._validate import ACCEPTED_FLOAT_DTYPES

cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_AS_DOUBLE
from cpython.long cimport PyLong_AsDouble
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cython cimport floating
from libc.math cimport NAN

from hotloop._cxx.moments cimport Moments, moments, stddev, variance
from hotloop._cxx.moments cimport RunningStats as CppRunningStats
from hotloop._cxx.threads cimport Interrupt, check_signals
from hotloop._validate cimport (
    FLOAT64,
    as_float_array,
    as_int,
    float_kind,
    float_overflow_message,
)

# Below this many values the GIL is kept: releasing it costs more than the kernel.
cdef Py_ssize_t NOGIL_MIN = 8192
# Above this many values the kernels poll for Ctrl-C (a hotloop::Interrupt): they do so between
# blocks of 2**20 values (moments.cpp's kPollBlock), so smaller inputs would never poll and
# skip the Interrupt's set-up (~50 ns).
cdef Py_ssize_t POLL_MIN = 1 << 20
cdef enum:
    # Python sequences up to this length are converted into a buffer on the C stack.
    STACK_N = 256
    # Generators and other iterables are consumed in chunks of this many values.
    CHUNK_N = 1024

cnp.import_array()


cdef enum Reduction:
    R_MEAN = 0
    R_VAR = 1
    R_STD = 2


# --------------------------------------------------------------------------------------------
# Python sequences read into C buffers


cdef double item_as_double(object item, Py_ssize_t i, str name) except? -1.0:
    """Slow path of the sequence readers: ints, bools, NumPy scalars, objects with __float__."""
    try:
        return item
    except TypeError:
        raise TypeError(
            f"{name}[{i}] must be a real number, got {type(item).__name__}: {item!r:.40} "
            f"(accepted: float, int or anything with __float__)"
        ) from None
    except OverflowError:
        raise OverflowError(float_overflow_message(f"{name}[{i}]", item)) from None


cdef double int_as_double(object item, Py_ssize_t i) except? -1.0:
    try:
        return PyLong_AsDouble(item)
    except OverflowError:
        raise OverflowError(float_overflow_message(f"x[{i}]", item)) from None


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
            buf[i] = item_as_double(<object>items[i], i, "x")
            i += 1
            if len(seq) != n:
                raise ValueError("x changed size while it was being read")
    return n


# --------------------------------------------------------------------------------------------
# Whole-array reductions


cdef inline int moments_of_buffer(const floating* x, Py_ssize_t n, Py_ssize_t stride,
                                  bint skipna, bint need_m2, Moments* r) except -1:
    """r[0] = the kernel's result; KeyboardInterrupt (Ctrl-C) stops inputs above POLL_MIN.
    Inline: small calls then cost what they did before it could raise."""
    if n < NOGIL_MIN:
        r[0] = moments(x, n, stride, skipna, need_m2, NULL)
    elif n <= POLL_MIN:
        with nogil:
            r[0] = moments(x, n, stride, skipna, need_m2, NULL)
    else:
        moments_polling(x, n, stride, skipna, need_m2, r)
    return 0


cdef int moments_polling(const floating* x, Py_ssize_t n, Py_ssize_t stride, bint skipna,
                         bint need_m2, Moments* r) except -1:
    cdef list raised = []
    cdef Interrupt* interrupt = new Interrupt(check_signals, <void*>raised)
    try:
        with nogil:
            r[0] = moments(x, n, stride, skipna, need_m2, interrupt)
    finally:
        del interrupt
    if raised:
        raise raised[0]
    return 0


cdef int moments_of_array(const floating[:] x, bint skipna, bint need_m2,
                          Moments* r) except -1:
    if x.shape[0] == 0:
        r.count = 0
        r.mean = NAN
        r.m2 = NAN
        r.m2_exp = 0
        return 0
    return moments_of_buffer(&x[0], x.shape[0], x.strides[0] // <Py_ssize_t>sizeof(floating),
                             skipna, need_m2, r)


cdef Py_ssize_t moments_of_any(object x, bint skipna, bint need_m2, Moments* r) except -1:
    """r[0] = the moments of anything as_float_array takes; returns the number of values. Out
    of reduce(): its memoryview temporaries would cost every small call their set-up."""
    arr = as_float_array(x, "x", 1, 1)
    if float_kind(arr) == FLOAT64:
        moments_of_array[double](arr, skipna, need_m2, r)
    else:
        moments_of_array[float](arr, skipna, need_m2, r)
    return arr.shape[0]


cdef int moments_of_sequence(object seq, bint skipna, bint need_m2, Moments* r) except -1:
    cdef Py_ssize_t n = len(seq)
    cdef double stack_buf[STACK_N]
    cdef double* buf = stack_buf
    if n > STACK_N:
        buf = <double*>PyMem_Malloc(n * sizeof(double))
        if buf == NULL:
            raise MemoryError(f"cannot allocate a buffer for {n} values")
    try:
        fill_from_sequence(seq, buf, n)
        moments_of_buffer(buf, n, 1, skipna, need_m2, r)
    finally:
        if buf != stack_buf:
            PyMem_Free(buf)
    return 0


cpdef int check_ddof(Py_ssize_t ddof, Py_ssize_t n) except -1:
    """ValueError unless ddof < n, the number of values (n > 0)."""
    if ddof >= n:
        raise ValueError(
            f"ddof={ddof} must be less than the number of values ({n}); accepted: "
            f"0 <= ddof < {n}"
        )
    return 0


cdef object reduce(object x, object ddof, bint skipna, Reduction what):
    cdef Py_ssize_t n, dd = 0
    cdef Moments r
    cdef bint need_m2 = what != R_MEAN
    cdef int kind
    if need_m2:
        dd = as_int(ddof, "ddof", 0)
    # Small arrays are where call overhead shows (np.std of 50 numbers spends 99% of its time
    # in overhead), so plain 1-D float arrays skip the memoryview acquisition (~150 ns, more
    # than the kernel) and hand their buffer to the kernel through NumPy's C API.
    kind = float_kind(x)
    if kind and cnp.PyArray_NDIM(<cnp.ndarray>x) == 1:
        n = cnp.PyArray_DIM(<cnp.ndarray>x, 0)
        if kind == FLOAT64:
            moments_of_buffer(<const double*>cnp.PyArray_DATA(<cnp.ndarray>x), n,
                              cnp.PyArray_STRIDE(<cnp.ndarray>x, 0) // 8, skipna, need_m2, &r)
        else:
            moments_of_buffer(<const float*>cnp.PyArray_DATA(<cnp.ndarray>x), n,
                              cnp.PyArray_STRIDE(<cnp.ndarray>x, 0) // 4, skipna, need_m2, &r)
    elif type(x) is list or type(x) is tuple:
        n = len(x)
        moments_of_sequence(x, skipna, need_m2, &r)
    else:
        n = moments_of_any(x, skipna, need_m2, &r)
    if n == 0:
        warnings.warn("empty input: the result is NaN", RuntimeWarning, stacklevel=3)
        return NAN
    if need_m2:
        check_ddof(dd, n)
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
        return variance(r, dd)
    return stddev(r, dd)


# --------------------------------------------------------------------------------------------
# Whole-array functions


def mean(x):
    """Arithmetic mean of a 1-D array or sequence.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too; byte-swapped arrays are read in native order.
        Lists and tuples may hold floats, ints (exactly representable up to 2**53) and
        anything with ``__float__``.

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number (strings are not
        parsed).
    ValueError
        For input that is not 1-D.

    Notes
    -----
    A NaN anywhere gives NaN; +inf/-inf give a mean of +inf/-inf (NaN if both occur) and a
    variance of NaN, as NumPy. Empty input gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0.

    Range: that holds from subnormals up to the largest double (1.8e308). Data whose largest
    magnitude lies below 2**-400 (4e-121) or above 2**401 (5e120) are scaled by an exact power
    of two (chosen from the largest magnitude) and read again, about three times the work;
    NumPy instead loses digits when deviations drop below 1e-154 and overflows above 1e154.
    Overflow is left only where the result itself exceeds 1.8e308: a variance beyond it is
    inf, and so is a standard deviation beyond it (possible with ddof > 0, e.g.
    ``std([1.5e308, -1.5e308], ddof=1)``); the mean of finite values never overflows. Results
    below 2.2e-308 are subnormal, so there an ulp is the absolute 4.9e-324. Above 2**401 the
    scaling drops the parts of values below 1e-444 times the largest magnitude, which shows
    only in a mean that cancels to nearly 0.

    Ctrl-C stops a call on more than 2**20 values (polled every 2**20 values, about a
    millisecond) with KeyboardInterrupt.
    """
    return reduce(x, 0, False, R_MEAN)


def var(x, *, ddof=0):
    """Variance of a 1-D array or sequence.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too; byte-swapped arrays are read in native order.
        Lists and tuples may hold floats, ints (exactly representable up to 2**53) and
        anything with ``__float__``.
    ddof : int, optional
        Delta degrees of freedom: the divisor is ``N - ddof`` with ``N`` the number of values
        used. Default 0 (population variance, as NumPy); 1 gives the sample variance.

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number (strings are not
        parsed).
    ValueError
        For input that is not 1-D, a negative ddof, or ``ddof >= len(x)`` on non-empty input.

    Notes
    -----
    A NaN anywhere gives NaN; +inf/-inf give a mean of +inf/-inf (NaN if both occur) and a
    variance of NaN, as NumPy. Empty input gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0.

    Range: that holds from subnormals up to the largest double (1.8e308). Data whose largest
    magnitude lies below 2**-400 (4e-121) or above 2**401 (5e120) are scaled by an exact power
    of two (chosen from the largest magnitude) and read again, about three times the work;
    NumPy instead loses digits when deviations drop below 1e-154 and overflows above 1e154.
    Overflow is left only where the result itself exceeds 1.8e308: a variance beyond it is
    inf, and so is a standard deviation beyond it (possible with ddof > 0, e.g.
    ``std([1.5e308, -1.5e308], ddof=1)``); the mean of finite values never overflows. Results
    below 2.2e-308 are subnormal, so there an ulp is the absolute 4.9e-324. Above 2**401 the
    scaling drops the parts of values below 1e-444 times the largest magnitude, which shows
    only in a mean that cancels to nearly 0.

    Ctrl-C stops a call on more than 2**20 values (polled every 2**20 values, about a
    millisecond) with KeyboardInterrupt.
    """
    return reduce(x, ddof, False, R_VAR)


def std(x, *, ddof=0):
    """Standard deviation of a 1-D array or sequence.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too; byte-swapped arrays are read in native order.
        Lists and tuples may hold floats, ints (exactly representable up to 2**53) and
        anything with ``__float__``.
    ddof : int, optional
        Delta degrees of freedom: the divisor is ``N - ddof`` with ``N`` the number of values
        used. Default 0 (population variance, as NumPy); 1 gives the sample variance.

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number (strings are not
        parsed).
    ValueError
        For input that is not 1-D, a negative ddof, or ``ddof >= len(x)`` on non-empty input.

    Notes
    -----
    A NaN anywhere gives NaN; +inf/-inf give a mean of +inf/-inf (NaN if both occur) and a
    variance of NaN, as NumPy. Empty input gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0.

    Range: that holds from subnormals up to the largest double (1.8e308). Data whose largest
    magnitude lies below 2**-400 (4e-121) or above 2**401 (5e120) are scaled by an exact power
    of two (chosen from the largest magnitude) and read again, about three times the work;
    NumPy instead loses digits when deviations drop below 1e-154 and overflows above 1e154.
    Overflow is left only where the result itself exceeds 1.8e308: a variance beyond it is
    inf, and so is a standard deviation beyond it (possible with ddof > 0, e.g.
    ``std([1.5e308, -1.5e308], ddof=1)``); the mean of finite values never overflows. Results
    below 2.2e-308 are subnormal, so there an ulp is the absolute 4.9e-324. Above 2**401 the
    scaling drops the parts of values below 1e-444 times the largest magnitude, which shows
    only in a mean that cancels to nearly 0.

    Ctrl-C stops a call on more than 2**20 values (polled every 2**20 values, about a
    millisecond) with KeyboardInterrupt.
    """
    return reduce(x, ddof, False, R_STD)


def nanmean(x):
    """Arithmetic mean, ignoring NaNs.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too; byte-swapped arrays are read in native order.
        Lists and tuples may hold floats, ints (exactly representable up to 2**53) and
        anything with ``__float__``.

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number (strings are not
        parsed).
    ValueError
        For input that is not 1-D.

    Notes
    -----
    NaNs are ignored; when fewer than ``ddof + 1`` values remain the result is NaN with a
    ``RuntimeWarning`` (NumPy's nan-functions do the same). Infinities are values. Empty input
    gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0.

    Range: that holds from subnormals up to the largest double (1.8e308). Data whose largest
    magnitude lies below 2**-400 (4e-121) or above 2**401 (5e120) are scaled by an exact power
    of two (chosen from the largest magnitude) and read again, about three times the work;
    NumPy instead loses digits when deviations drop below 1e-154 and overflows above 1e154.
    Overflow is left only where the result itself exceeds 1.8e308: a variance beyond it is
    inf, and so is a standard deviation beyond it (possible with ddof > 0, e.g.
    ``std([1.5e308, -1.5e308], ddof=1)``); the mean of finite values never overflows. Results
    below 2.2e-308 are subnormal, so there an ulp is the absolute 4.9e-324. Above 2**401 the
    scaling drops the parts of values below 1e-444 times the largest magnitude, which shows
    only in a mean that cancels to nearly 0.

    Ctrl-C stops a call on more than 2**20 values (polled every 2**20 values, about a
    millisecond) with KeyboardInterrupt.
    """
    return reduce(x, 0, True, R_MEAN)


def nanvar(x, *, ddof=0):
    """Variance, ignoring NaNs.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too; byte-swapped arrays are read in native order.
        Lists and tuples may hold floats, ints (exactly representable up to 2**53) and
        anything with ``__float__``.
    ddof : int, optional
        Delta degrees of freedom: the divisor is ``N - ddof`` with ``N`` the number of values
        used. Default 0 (population variance, as NumPy); 1 gives the sample variance.

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number (strings are not
        parsed).
    ValueError
        For input that is not 1-D, a negative ddof, or ``ddof >= len(x)`` on non-empty input.

    Notes
    -----
    NaNs are ignored; when fewer than ``ddof + 1`` values remain the result is NaN with a
    ``RuntimeWarning`` (NumPy's nan-functions do the same). Infinities are values. Empty input
    gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0.

    Range: that holds from subnormals up to the largest double (1.8e308). Data whose largest
    magnitude lies below 2**-400 (4e-121) or above 2**401 (5e120) are scaled by an exact power
    of two (chosen from the largest magnitude) and read again, about three times the work;
    NumPy instead loses digits when deviations drop below 1e-154 and overflows above 1e154.
    Overflow is left only where the result itself exceeds 1.8e308: a variance beyond it is
    inf, and so is a standard deviation beyond it (possible with ddof > 0, e.g.
    ``std([1.5e308, -1.5e308], ddof=1)``); the mean of finite values never overflows. Results
    below 2.2e-308 are subnormal, so there an ulp is the absolute 4.9e-324. Above 2**401 the
    scaling drops the parts of values below 1e-444 times the largest magnitude, which shows
    only in a mean that cancels to nearly 0.

    Ctrl-C stops a call on more than 2**20 values (polled every 2**20 values, about a
    millisecond) with KeyboardInterrupt.
    """
    return reduce(x, ddof, True, R_VAR)


def nanstd(x, *, ddof=0):
    """Standard deviation, ignoring NaNs.

    Parameters
    ----------
    x : ndarray of float64 or float32, list or tuple
        1-D, any stride, read-only arrays too; byte-swapped arrays are read in native order.
        Lists and tuples may hold floats, ints (exactly representable up to 2**53) and
        anything with ``__float__``.
    ddof : int, optional
        Delta degrees of freedom: the divisor is ``N - ddof`` with ``N`` the number of values
        used. Default 0 (population variance, as NumPy); 1 gives the sample variance.

    Returns
    -------
    float
        Computed in double precision, also for float32 input.

    Raises
    ------
    TypeError
        For other dtypes, or a sequence item that is not a real number (strings are not
        parsed).
    ValueError
        For input that is not 1-D, a negative ddof, or ``ddof >= len(x)`` on non-empty input.

    Notes
    -----
    NaNs are ignored; when fewer than ``ddof + 1`` values remain the result is NaN with a
    ``RuntimeWarning`` (NumPy's nan-functions do the same). Infinities are values. Empty input
    gives NaN with a ``RuntimeWarning``, as NumPy does.

    Accuracy: a shifted, corrected two-pass with compensated (TwoSum) sums that also keep the
    rounding error of every difference. The mean is within 1 ulp of the exact mean, and the
    variance and standard deviation within 4 ulps of the exact two-pass result (measured at
    most 2 and 1), for any length and however much the values cancel, e.g. 1e9 + noise.
    A sequence of equal values has variance exactly 0.

    Range: that holds from subnormals up to the largest double (1.8e308). Data whose largest
    magnitude lies below 2**-400 (4e-121) or above 2**401 (5e120) are scaled by an exact power
    of two (chosen from the largest magnitude) and read again, about three times the work;
    NumPy instead loses digits when deviations drop below 1e-154 and overflows above 1e154.
    Overflow is left only where the result itself exceeds 1.8e308: a variance beyond it is
    inf, and so is a standard deviation beyond it (possible with ddof > 0, e.g.
    ``std([1.5e308, -1.5e308], ddof=1)``); the mean of finite values never overflows. Results
    below 2.2e-308 are subnormal, so there an ulp is the absolute 4.9e-324. Above 2**401 the
    scaling drops the parts of values below 1e-444 times the largest magnitude, which shows
    only in a mean that cancels to nearly 0.

    Ctrl-C stops a call on more than 2**20 values (polled every 2**20 values, about a
    millisecond) with KeyboardInterrupt.
    """
    return reduce(x, ddof, True, R_STD)


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

    Range: as :func:`hotloop.var`, from subnormals to 1.8e308. The state is kept in units of a
    power of two chosen from the largest magnitude taken so far (1 while it stays within
    2**-400 .. 2**401), so tiny values keep their digits and huge ones do not overflow; only a
    variance (or standard deviation) above 1.8e308 is inf.

    Threads: one instance may be shared by threads. Every method reads or updates the state
    in one step with the GIL held: ``extend`` accumulates its values into a private
    accumulator first (releasing the GIL for large arrays) and merges that into the shared
    state at the end, with the GIL held, so concurrent ``push``, ``extend`` and ``merge`` calls
    all count: the result equals some serial order of the calls (the order changes only the
    last bits of ``mean``/``var``, never ``count``). An ``extend`` that raises (a bad item,
    Ctrl-C) adds nothing. In a free-threaded Python build without the GIL this guarantee does
    not hold: serialise the calls with a lock.

    Ctrl-C: ``extend`` over an iterable checks for signals every 1024 items, so
    ``extend(itertools.repeat(1.0))`` stops with KeyboardInterrupt; over an array of more than
    2**20 values, every 2**20 values (about a millisecond).

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
        return self.acc.var(as_int(ddof, "ddof", 0))

    def std(self, ddof=0):
        """Standard deviation, ``sqrt(var(ddof))``; NaN when ``count <= ddof``.

        Parameters
        ----------
        ddof : int, optional
            Delta degrees of freedom, >= 0. Default 0.
        """
        return self.acc.std(as_int(ddof, "ddof", 0))

    def push(self, value):
        """Add one value (a float, an int, or anything with ``__float__``)."""
        cdef double v
        try:
            v = value
        except TypeError:
            raise TypeError(
                f"RunningStats.push: value must be a real number, got {type(value).__name__}: "
                f"{value!r:.40} (accepted: float, int or anything with __float__)"
            ) from None
        except OverflowError:
            raise OverflowError(
                "RunningStats.push: " + float_overflow_message("value", value)
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
        # Values go into a private accumulator, merged into self in one step with the GIL held:
        # threads sharing self never see (or clobber) a partial extend, and an exception
        # (bad item, KeyboardInterrupt) leaves self as it was.
        cdef CppRunningStats part = CppRunningStats(self.acc.skipna())
        if type(values) is np.ndarray or hasattr(values, "__array_interface__"):
            arr = as_float_array(values, "values", 1, 1)
            if float_kind(arr) == FLOAT64:
                extend_array[double](&part, arr)
            else:
                extend_array[float](&part, arr)
        else:
            try:
                it = iter(values)
            except TypeError:
                raise TypeError(
                    f"values must be an ndarray of dtype {ACCEPTED_FLOAT_DTYPES}, or an "
                    f"iterable of real numbers, got {type(values).__name__}"
                ) from None
            extend_iterable(&part, it)
        self.acc.merge(part)

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
                                            s.n_neginf, s.mean_hi, s.mean_lo, s.m2_hi, s.m2_lo,
                                            s.scale, s.maxabs))

    def __repr__(self):
        extra = ", skipna=True" if self.acc.skipna() else ""
        return (f"RunningStats(count={self.acc.count()}, mean={self.acc.mean()!r}, "
                f"std={self.acc.std(0)!r}{extra})")


cdef int extend_array(CppRunningStats* acc, const floating[:] x) except -1:
    """Adds x to acc; on KeyboardInterrupt (Ctrl-C, polled above POLL_MIN values) acc holds
    part of x and the caller drops it."""
    cdef Py_ssize_t n = x.shape[0]
    if n == 0:
        return 0
    cdef Py_ssize_t stride = x.strides[0] // <Py_ssize_t>sizeof(floating)
    if n < NOGIL_MIN:
        acc.extend(&x[0], n, stride, NULL)
    elif n <= POLL_MIN:
        with nogil:
            acc.extend(&x[0], n, stride, NULL)
    else:
        extend_polling(acc, &x[0], n, stride)
    return 0


cdef int extend_polling(CppRunningStats* acc, const floating* x, Py_ssize_t n,
                        Py_ssize_t stride) except -1:
    cdef list raised = []
    cdef Interrupt* interrupt = new Interrupt(check_signals, <void*>raised)
    try:
        with nogil:
            acc.extend(x, n, stride, interrupt)
    finally:
        del interrupt
    if raised:
        raise raised[0]
    return 0


cdef int extend_iterable(CppRunningStats* acc, object values) except -1:
    cdef double buf[CHUNK_N]
    cdef Py_ssize_t k = 0, i = 0
    for item in values:
        if type(item) is float:
            buf[k] = PyFloat_AS_DOUBLE(item)
        else:
            buf[k] = item_as_double(item, i, "values")
        k += 1
        i += 1
        if k == CHUNK_N:
            acc.extend(buf, k, 1, NULL)
            k = 0
            # Iterators written in C (itertools.repeat, ...) never run the interpreter loop
            # that would notice Ctrl-C. Measured: the check costs ~19 ns, 0.15% of a chunk
            # of floats (~12 us).
            PyErr_CheckSignals()
    acc.extend(buf, k, 1, NULL)
    return 0


def _running_stats_from_state(skipna, n_finite, n_nan, n_posinf, n_neginf,
                              mean_hi, mean_lo, m2_hi, m2_lo, scale=0, maxabs=None):
    """Rebuild a pickled RunningStats (private).

    Pickles written before the state had a scale (nine fields) are in units of 1; their
    largest magnitude is bounded from the mean and M2.
    """
    cdef CppRunningStats.State s
    if min(n_finite, n_nan, n_posinf, n_neginf) < 0:
        raise ValueError("corrupt RunningStats state: negative count")
    if maxabs is None:
        maxabs = max(abs(mean_hi), min(abs(m2_hi) ** 0.5, 1.7976931348623157e308))
    if not (0.0 <= maxabs < float("inf")) or not (-1100 <= scale <= 700):
        raise ValueError(
            f"corrupt RunningStats state: scale={scale!r}, maxabs={maxabs!r} (accepted: "
            "-1100 <= scale <= 700, 0 <= maxabs < inf)"
        )
    s.skipna = bool(skipna)
    s.n_finite = n_finite
    s.n_nan = n_nan
    s.n_posinf = n_posinf
    s.n_neginf = n_neginf
    s.mean_hi = mean_hi
    s.mean_lo = mean_lo
    s.m2_hi = m2_hi
    s.m2_lo = m2_lo
    s.scale = scale
    s.maxabs = maxabs
    cdef RunningStats rs = RunningStats.__new__(RunningStats)
    rs.acc = CppRunningStats.from_state(s)
    return rs
