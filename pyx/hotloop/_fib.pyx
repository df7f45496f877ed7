"""Fibonacci numbers: the naive recursion in C++ (a call-overhead benchmark) and fast doubling.

Wrappers of cxx/include/hotloop/fib.hpp. fib_fast continues with Python integers past 64 bits:
arbitrary precision is Python's, so that part of the doubling lives here and not in C++.
"""
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport uint64_t

from hotloop._cxx.fib cimport fib_fast as cpp_fib_fast
from hotloop._cxx.fib cimport fib_recursive, kFibMaxN
from hotloop._validate cimport as_int

# From this n on, fib() releases the GIL: fib(20) already makes ~22,000 calls (~15 us).
cdef int FIB_NOGIL_MIN = 20
# Above this n, fib() splits the recursion's top levels into calls of fib(36) and fib(35) (about
# 60 and 40 ms, measured on a loaded 2-core machine) and checks for Ctrl-C between them; up to it
# (the benchmark table's fib 32/33/35 too) one C++ call does everything.
cdef int FIB_LEAF = 36


cpdef int fib64_arg(object n) except -1:
    """n checked for a 64-bit result: 0 <= n <= 93, else TypeError/ValueError/OverflowError."""
    cdef Py_ssize_t k = as_int(n, "n", 0)
    if k > kFibMaxN:
        raise OverflowError(
            f"fib({k}) does not fit in 64 bits: n must be between 0 and {kFibMaxN} here; "
            f"hotloop.fib_fast(n) gives exact results for any n"
        )
    return <int>k


def fib(n):
    """The n-th Fibonacci number by the naive recursion, in C++.

    ``fib(0) = 0``, ``fib(1) = 1``, ``fib(n) = fib(n - 1) + fib(n - 2)``: the textbook
    definition, evaluated as written (about ``1.6**n`` calls), as a benchmark of function-call
    cost against the same recursion in Python. Use :func:`fib_fast` for actual Fibonacci numbers.

    Parameters
    ----------
    n : int
        0 <= n <= 93 (anything with ``__index__``; bool is refused).

    Returns
    -------
    int
        ``fib(n)``, exact: fib(93) = 12200160415121876738 is the largest that fits in 64 bits.

    Raises
    ------
    TypeError
        If n is not an integer.
    ValueError
        If n < 0.
    OverflowError
        If n > 93: fib(94) does not fit in 64 bits (or n does not fit a C ``Py_ssize_t``).

    Notes
    -----
    Exponential time: fib(35) makes about 3e7 calls (tens of milliseconds), fib(50) about 4e10
    (a minute), fib(93) would take centuries. The GIL is released from n = 20 on, so other
    Python threads run meanwhile. Ctrl-C stops it (KeyboardInterrupt) within about the time of
    fib(36), tens of milliseconds: above n = 36 the top of the recursion is unrolled into calls
    of fib(36) and fib(35), which make every call the recursion makes, with a check for
    signals between them.
    """
    cdef int k = fib64_arg(n)
    cdef uint64_t r
    if k < FIB_NOGIL_MIN:
        return fib_recursive(k)
    if k > FIB_LEAF:
        return fib_split(k)
    with nogil:
        r = fib_recursive(k)
    return r


cdef uint64_t fib_split(int k) except? 0:
    """fib(k) = fib(k - 1) + fib(k - 2) down to fib(FIB_LEAF) and below, checking signals."""
    cdef uint64_t r
    if k <= FIB_LEAF:
        with nogil:
            r = fib_recursive(k)
        PyErr_CheckSignals()
        return r
    return fib_split(k - 1) + fib_split(k - 2)


def fib_fast(n):
    """The n-th Fibonacci number, exact for any n, in O(log n) steps (fast doubling).

    Parameters
    ----------
    n : int
        n >= 0 (anything with ``__index__``; bool is refused).

    Returns
    -------
    int
        ``fib(n)`` as a Python integer of any size.

    Raises
    ------
    TypeError
        If n is not an integer.
    ValueError
        If n < 0.
    OverflowError
        If n does not fit in a C ``Py_ssize_t`` (the result, of about 0.69 n bits, could not
        be stored anyway).

    Notes
    -----
    Fast doubling: ``fib(2k) = fib(k) (2 fib(k+1) - fib(k))`` and
    ``fib(2k+1) = fib(k)**2 + fib(k+1)**2``, applied over the bits of n from the top. The
    first steps, while the values fit in 64 bits, run in C++ (n <= 93 entirely); the rest uses
    Python's integers, whose multiplication (Karatsuba, about 3x the time per doubling of n)
    then dominates: fib(10**6), a number of 208,988 digits, takes tens of milliseconds,
    fib(10**7) seconds, fib(10**8) minutes. Memory grows as 0.69 n bits (fib(2**31): 186 MB
    per number).

    Every n up to 2**63 - 1 is accepted, since the time grows gradually and the call can be
    stopped: Ctrl-C raises KeyboardInterrupt within a fraction of a second at any size
    (Python's big-integer multiplication checks for signals as it goes, and the doubling
    checks between steps).
    """
    cdef Py_ssize_t k = as_int(n, "n", 0)
    cdef uint64_t a64, b64
    cdef int shift, bit
    if k <= kFibMaxN:
        return cpp_fib_fast(<int>k, NULL)
    # The top 6 bits of k form a prefix p in [32, 63]: fib(p) and fib(p + 1) fit in 64 bits.
    shift = 0
    while (k >> shift) >= 64:
        shift += 1
    a64 = cpp_fib_fast(<int>(k >> shift), &b64)
    cdef object a = a64, b = b64, c, d
    for bit in range(shift - 1, 0, -1):
        PyErr_CheckSignals()
        c = a * (2 * b - a)
        d = a * a + b * b
        if (k >> bit) & 1:
            a = d
            b = c + d
        else:
            a = c
            b = d
    # The last step needs only fib(k): one of the two big products is saved.
    if k & 1:
        return a * a + b * b
    return a * (2 * b - a)
