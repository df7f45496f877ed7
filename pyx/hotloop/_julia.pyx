"""Escape-time fractals: Julia and Mandelbrot counts.

Wrappers only: arguments are validated with the GIL held, then the C++ kernels of
cxx/include/hotloop/julia.hpp run with the GIL released, chunks of points handed to the threads
dynamically (the work per point varies a lot, so equal static shares balance badly). Ctrl-C stops
a call within about 0.1 s, even inside one point at a huge maxiter: the kernels poll an
Interrupt whose check, on the calling thread, runs Python's signal handlers.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport isfinite
from libc.stdint cimport int32_t

from hotloop._cxx.julia cimport (
    Fractal,
    PixelGrid,
    escape_region_parallel,
    julia_parallel,
    kEscapeChunk,
)
from hotloop._cxx.threads cimport Interrupt, check_signals, share_pool
from hotloop._validate cimport as_complex, as_complex_array, as_int, as_pair, threads_for

cnp.import_array()
share_pool()

cdef Py_ssize_t MAXITER_MAX = 2**31 - 1


cpdef tuple julia_args(object zs, object cs, object maxiter):
    """The checked arguments of julia: (z, c, c_step, maxiter).

    z: zs as a C-contiguous native complex128 array. c: the constants as a C-contiguous
    complex128 array, of the shape of z (c_step 1) or of one element (a scalar cs, c_step 0).
    """
    cdef object z = as_complex_array(zs, "zs")
    cdef Py_ssize_t m = as_int(maxiter, "maxiter", 0, MAXITER_MAX)
    cdef object c
    if isinstance(cs, (np.ndarray, list, tuple)) and np.ndim(cs) > 0:
        c = as_complex_array(cs, "cs")
        if c.shape != z.shape:
            raise ValueError(
                f"cs must be a scalar or have the shape of zs {z.shape}, "
                f"got shape {c.shape}"
            )
        return z, c, 1, m
    if isinstance(cs, np.ndarray):  # 0-d
        cs = cs[()]
    c = np.empty(1, dtype=np.complex128)
    c[0] = as_complex(cs, "cs")
    return z, c, 0, m


# --------------------------------------------------------------------------------------------
# Public functions


def julia(zs, cs, maxiter, *, n_threads=None):
    """Escape-time counts of ``z -> z*z + c``: the classic ``calculate_z``.

    Parameters
    ----------
    zs : ndarray of complex128, list or tuple
        Starting points, any shape (any strides: non-contiguous arrays are copied first).
        Lists and tuples of numbers are converted to complex128; byte-swapped complex128
        arrays are converted to native order.
    cs : complex or ndarray of complex128
        The constant ``c``: one number for every point (a Python or NumPy scalar, or a 0-d
        array), or an array of the same shape as ``zs`` (one ``c`` per point).
    maxiter : int
        Most updates per point, ``0 <= maxiter <= 2**31 - 1``.
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`). The counts do not depend
        on it.

    Returns
    -------
    ndarray of int32
        Same shape as ``zs``: for each point the number of updates ``z = z*z + c`` made while
        ``count < maxiter`` and ``z.real*z.real + z.imag*z.imag < 4``.

    Raises
    ------
    TypeError
        For a ``zs``/``cs`` dtype other than complex128, a non-numeric ``cs`` (bool and str
        refused) or a non-integer ``maxiter`` (bool refused).
    ValueError
        For ``cs`` of another shape than ``zs``, a non-finite scalar ``cs``, or ``maxiter``
        out of range.

    Notes
    -----
    Exactness: the counts equal, point for point, the pure-Python loop ::

        n = 0
        while n < maxiter and z.real * z.real + z.imag * z.imag < 4:
            z = z * z + c
            n += 1

    in IEEE double arithmetic, on every CPU. The vectorised kernel (8 points per AVX-512
    register, run-time dispatch) performs each rounding of that loop: no fused multiply-add,
    no reassociation. The test uses the squared modulus, as above; ``abs(z) < 2`` (a
    ``hypot``) can differ from it for points whose modulus rounds to exactly 2.

    NaN policy: nothing special. A NaN or infinite ``|z|**2`` fails the test, so a point
    whose ``z`` is NaN or infinite counts 0, and a finite ``z`` inside the circle with a NaN
    ``c`` counts 1. Only a scalar ``cs`` must be finite (it is a parameter, not data).
    """
    cdef Py_ssize_t c_step, m
    z_arr, c_arr, c_step, m = julia_args(zs, cs, maxiter)
    cdef cnp.ndarray out = np.empty(z_arr.shape, dtype=np.int32)
    cdef Py_ssize_t n = out.size
    cdef int nt = threads_for(n_threads, (n + kEscapeChunk - 1) // kEscapeChunk)
    cdef const double* z_ptr = <const double*>cnp.PyArray_DATA(<cnp.ndarray>z_arr)
    cdef const double* c_ptr = <const double*>cnp.PyArray_DATA(<cnp.ndarray>c_arr)
    cdef int32_t* o_ptr = <int32_t*>cnp.PyArray_DATA(out)
    cdef list raised = []
    cdef Interrupt* interrupt
    if n > 0:
        interrupt = new Interrupt(check_signals, <void*>raised)
        try:
            with nogil:
                julia_parallel(z_ptr, c_ptr, c_step, o_ptr, n, <int32_t>m, nt, interrupt)
        finally:
            del interrupt
    if raised:
        raise raised[0]
    return out


cdef tuple pixel_span(object span, str name, Py_ssize_t size):
    """(start, stop) of rows or columns, 0 <= start <= stop <= size; None is all of them."""
    if span is None:
        return 0, size
    if isinstance(span, (str, bytes)) or not hasattr(span, "__len__") or len(span) != 2:
        raise TypeError(f"{name} must be a pair (start, stop) of pixel indices, got {span!r}")
    cdef Py_ssize_t start = as_int(span[0], name + "[0]", 0, size)
    cdef Py_ssize_t stop = as_int(span[1], name + "[1]", start, size)
    return start, stop


cdef object run_grid(Fractal kind, complex c, object width, object height, object xlim,
                     object ylim, object maxiter, object n_threads, object rows=None,
                     object cols=None):
    cdef Py_ssize_t w = as_int(width, "width", 1)
    cdef Py_ssize_t h = w if height is None else as_int(height, "height", 1)
    cdef Py_ssize_t r0, r1, j0, j1
    r0, r1 = pixel_span(rows, "rows", h)
    j0, j1 = pixel_span(cols, "cols", w)
    x_lo, x_hi = as_pair(xlim, "xlim")
    y_lo, y_hi = as_pair(ylim, "ylim")
    cdef int32_t m = as_int(maxiter, "maxiter", 0, MAXITER_MAX)
    cdef PixelGrid g
    g.width = w
    g.height = h
    g.x0 = x_lo
    g.dx = (x_hi - x_lo) / w
    g.y1 = y_hi
    g.dy = (y_hi - y_lo) / h
    if not (g.dx > 0 and g.dy > 0):
        raise ValueError(f"xlim {xlim!r} / ylim {ylim!r} are too narrow for the image size")
    # A span past the largest double (xlim=(-1e308, 1e308)) makes the pixel step infinite and
    # every coordinate NaN or infinite: refuse it rather than return meaningless counts.
    if not (isfinite(g.dx) and isfinite(g.dy)):
        raise OverflowError(
            f"xlim {xlim!r} / ylim {ylim!r}: the pixel step overflows a double; "
            f"accepted: limits whose difference is finite (below about 1.8e308)"
        )
    cdef cnp.ndarray out = np.empty((r1 - r0, j1 - j0), dtype=np.int32)
    cdef Py_ssize_t n = out.size
    cdef int nt = threads_for(n_threads, (n + kEscapeChunk - 1) // kEscapeChunk)
    cdef int32_t* o_ptr = <int32_t*>cnp.PyArray_DATA(out)
    cdef double cr = c.real, ci = c.imag
    cdef list raised = []
    cdef Interrupt* interrupt = new Interrupt(check_signals, <void*>raised)
    try:
        with nogil:
            escape_region_parallel(g, kind, cr, ci, m, o_ptr, r0, r1, j0, j1, nt, interrupt)
    finally:
        del interrupt
    if raised:
        raise raised[0]
    return out


def julia_grid(c, width, height=None, *, xlim=(-1.8, 1.8), ylim=(-1.8, 1.8), maxiter=300,
               n_threads=None, rows=None, cols=None):
    """Julia set counts of a grid of starting points, for one constant ``c``.

    The coordinates are computed inside the kernel, so an image of any size needs no complex
    input array.

    Parameters
    ----------
    c : complex
        The constant of ``z -> z*z + c``, finite.
    width : int
        Pixels per row, >= 1.
    height : int, optional
        Rows, >= 1; default ``width``.
    xlim, ylim : (float, float), optional
        The real and imaginary ranges covered, ``lo < hi``, finite. Default
        ``xlim=(-1.8, 1.8)``, ``ylim=(-1.8, 1.8)``.
    maxiter : int, optional
        Most updates per pixel, ``0 <= maxiter <= 2**31 - 1``. Default 300.
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`). The counts do not depend
        on it.
    rows, cols : (int, int), optional
        Only the pixels ``start <= r < stop`` (rows) and ``start <= j < stop`` (columns) of
        the image: the same counts as ``[r0:r1, j0:j1]`` of the whole image, from the same
        coordinates, so that tiles of a huge image (``hotloop.dask``) need no coordinate
        arrays. Default: every row, every column.

    Returns
    -------
    ndarray of int32, shape (rows[1] - rows[0], cols[1] - cols[0]); default (height, width)
        The count of every pixel (see :func:`hotloop.julia` for the loop and its exactness).

    Raises
    ------
    TypeError
        For non-numeric arguments (bool and str refused), non-integer sizes or ``maxiter``.
    ValueError
        For non-finite parameters, empty or reversed limits, sizes below 1 or ``maxiter``
        out of range.

    Notes
    -----
    Pixel centres and orientation: pixel ``[r, j]`` is the point ``x + 1j*y`` with ::

        dx = (xlim[1] - xlim[0]) / width      x = xlim[0] + (j + 0.5) * dx
        dy = (ylim[1] - ylim[0]) / height     y = ylim[1] - (r + 0.5) * dy

    in double precision, in that order. Columns run left to right with growing real part;
    row 0 is the top of the image (the largest imaginary part), as ``matplotlib``'s
    ``imshow`` shows an array by default. The same numbers in NumPy:
        ``x = xlim[0] + (np.arange(width) + 0.5) * dx``. The result equals ``julia(x[None, :] +
    1j * y[:, None], c, maxiter)`` built from those coordinates.
    """
    return run_grid(Fractal.julia, as_complex(c, "c"), width, height, xlim, ylim, maxiter,
                    n_threads, rows, cols)


def mandelbrot_grid(width, height=None, *, xlim=(-2.0, 1.0), ylim=(-1.5, 1.5), maxiter=300,
                    n_threads=None, rows=None, cols=None):
    """Mandelbrot set counts of a grid of constants ``c``, each iterated from ``z = 0``.

    The coordinates are computed inside the kernel, so an image of any size needs no complex
    input array.

    Parameters
    ----------
    width : int
        Pixels per row, >= 1.
    height : int, optional
        Rows, >= 1; default ``width``.
    xlim, ylim : (float, float), optional
        The real and imaginary ranges covered, ``lo < hi``, finite. Default
        ``xlim=(-2.0, 1.0)``, ``ylim=(-1.5, 1.5)``.
    maxiter : int, optional
        Most updates per pixel, ``0 <= maxiter <= 2**31 - 1``. Default 300.
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`). The counts do not depend
        on it.
    rows, cols : (int, int), optional
        Only the pixels ``start <= r < stop`` (rows) and ``start <= j < stop`` (columns) of
        the image: the same counts as ``[r0:r1, j0:j1]`` of the whole image, from the same
        coordinates, so that tiles of a huge image (``hotloop.dask``) need no coordinate
        arrays. Default: every row, every column.

    Returns
    -------
    ndarray of int32, shape (rows[1] - rows[0], cols[1] - cols[0]); default (height, width)
        The count of every pixel (see :func:`hotloop.julia` for the loop and its exactness).

    Raises
    ------
    TypeError
        For non-numeric arguments (bool and str refused), non-integer sizes or ``maxiter``.
    ValueError
        For non-finite parameters, empty or reversed limits, sizes below 1 or ``maxiter``
        out of range.

    Notes
    -----
    Pixel centres and orientation: pixel ``[r, j]`` is the point ``x + 1j*y`` with ::

        dx = (xlim[1] - xlim[0]) / width      x = xlim[0] + (j + 0.5) * dx
        dy = (ylim[1] - ylim[0]) / height     y = ylim[1] - (r + 0.5) * dy

    in double precision, in that order. Columns run left to right with growing real part;
    row 0 is the top of the image (the largest imaginary part), as ``matplotlib``'s
    ``imshow`` shows an array by default. The same numbers in NumPy:
        ``x = xlim[0] + (np.arange(width) + 0.5) * dx``. The result equals
    ``julia(np.zeros(shape, complex), x[None, :] + 1j * y[:, None], maxiter)``: every pixel
    starts at ``z = 0`` with its own ``c``, so a pixel inside the circle counts at least 1 when
    ``maxiter >= 1``.
    """
    return run_grid(Fractal.mandelbrot, 0j, width, height, xlim, ylim, maxiter, n_threads,
                    rows, cols)
