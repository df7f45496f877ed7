"""The 2-D diffusion (heat) equation: explicit five-point stencil, one step or many.

Wrappers only: arguments are validated with the GIL held, then the C++ kernels of
cxx/include/hotloop/diffusion.hpp run with the GIL released.
"""
import sys
import time
import warnings

import numpy as np

cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from cython cimport floating
from libc.string cimport memcpy

from hotloop._cxx.diffusion cimport (
    Boundary,
    DiffusionTiling,
    diffuse as cpp_diffuse,
    diffusion_step,
    diffusion_tiles,
    diffusion_tiling,
    diffusion_zero_tiles,
)
from hotloop._cxx.threads cimport share_pool
from hotloop._threads cimport effective_n_threads
from hotloop._validate cimport FLOAT64, as_float_array, as_int, as_real, check_out, float_kind


cnp.import_array()
share_pool()

# The explicit scheme is stable for 0 <= D * dt / dx**2 <= 1/4 (dx = 1 here).
cdef double STABLE_MAX = 0.25
# Seconds between two progress reports.
cdef double PROGRESS_EVERY = 0.2
# Cell updates per nogil chunk of diffuse (~50 ms): how often it checks for Ctrl-C and reports
# progress; each chunk is one parallel region (threads woken once).
cdef Py_ssize_t CHUNK_CELLS = 1 << 28


# --------------------------------------------------------------------------------------------
# Argument checks


cpdef object as_grid(object grid, str name):
    """grid as a native float64/float32 ndarray, 2-D and at least 3 x 3, or TypeError/ValueError.

    Lists and tuples become float64 (see hotloop._validate for the array rules).
    """
    cdef object arr = as_float_array(grid, name, 2, 2)
    if arr.shape[0] < 3 or arr.shape[1] < 3:
        raise ValueError(f"{name} must be at least 3 x 3, got shape {arr.shape}")
    return arr


cpdef tuple evolve_args(object grid, object out, object D, object dt):
    """The checked arguments of evolve: (grid as an array, D, dt); out is checked against it."""
    cdef object src = as_grid(grid, "grid")
    check_out(out, src, "grid", False)
    return src, as_real(D, "D"), as_real(dt, "dt")


cdef bint unit_rows(object arr):
    """Whether the cells of each row are adjacent (the kernels take a row stride only)."""
    return arr.strides[1] == arr.itemsize and arr.strides[0] % arr.itemsize == 0


# --------------------------------------------------------------------------------------------
# One step


cdef void step_typed(const floating* src, Py_ssize_t src_ld, floating* dst, Py_ssize_t dst_ld,
                     Py_ssize_t ny, Py_ssize_t nx, double coef) noexcept nogil:
    diffusion_step(src, src_ld, dst, dst_ld, ny, nx, <floating>coef)


def evolve(grid, out, D=1.0, dt=0.1):
    """One explicit step of the diffusion equation, exactly the teaching material's C function.

    For every interior cell (``1 <= i < ny - 1``, ``1 <= j < nx - 1``) ::

        laplacian = (grid[i+1, j] + grid[i-1, j] + grid[i, j+1] + grid[i, j-1]
                     - 4 * grid[i, j])
        out[i, j] = grid[i, j] + D * dt * laplacian

    Parameters
    ----------
    grid : ndarray of float64 or float32, shape (ny, nx)
        The grid at time t; 2-D, at least 3 x 3, any strides, read-only is fine. Lists and
        tuples are converted to float64, byte-swapped arrays to native order (``out`` then
        has the native dtype).
    out : ndarray, shape (ny, nx)
        Receives the interior cells at time t + dt: same shape and dtype as ``grid``,
        writable, any strides. Its edge cells are not touched. It must not share memory
        with ``grid``.
    D, dt : float, optional
        Diffusion coefficient and time step; finite. Default 1.0 and 0.1.

    Returns
    -------
    ndarray
        ``out``.

    Raises
    ------
    TypeError
        For a dtype other than float64/float32, an ``out`` of another dtype, or non-numeric
        ``D``/``dt``.
    ValueError
        For a grid that is not 2-D or smaller than 3 x 3, an ``out`` of another shape,
        read-only, or overlapping ``grid``, or non-finite ``D``/``dt``.

    Warns
    -----
    RuntimeWarning
        When ``D * dt`` is outside ``[0, 0.25]``, where repeated steps are unstable (the step
        is still computed; :func:`diffuse` refuses such parameters).

    Notes
    -----
    Bitwise the C function (``gcc -O3`` on x86-64): each cell is computed with the same
    operations in the same order, no fused multiply-add, ``D * dt`` rounded once. float32
    grids compute in float32 with ``float32(D * dt)``. NaN and infinity propagate through
    the arithmetic like any value.
    """
    src, d, t = evolve_args(grid, out, D, dt)
    cdef double coef = <double>d * <double>t
    if not 0.0 <= coef <= STABLE_MAX:
        warnings.warn(
            f"D * dt = {coef!r} is outside [0, 0.25]: repeated steps of the explicit scheme "
            "are unstable",
            RuntimeWarning,
            stacklevel=2,
        )
    if not unit_rows(src):
        src = np.ascontiguousarray(src)
    cdef object dst = out if unit_rows(out) else np.array(out, order="C")
    if float_kind(src) == FLOAT64:
        run_step[double](src, dst, coef)
    else:
        run_step[float](src, dst, coef)
    if dst is not out:
        out[1:-1, 1:-1] = dst[1:-1, 1:-1]
    return out


cdef int run_step(const floating[:, :] src, floating[:, :] dst, double coef) except -1:
    cdef Py_ssize_t ny = src.shape[0], nx = src.shape[1]
    cdef Py_ssize_t src_ld = src.strides[0] // <Py_ssize_t>sizeof(floating)
    cdef Py_ssize_t dst_ld = dst.strides[0] // <Py_ssize_t>sizeof(floating)
    with nogil:
        step_typed(&src[0, 0], src_ld, &dst[0, 0], dst_ld, ny, nx, coef)
    return 0


# --------------------------------------------------------------------------------------------
# Many steps


cdef object run_many(floating[:, ::1] a, floating[:, ::1] b, floating[:, ::1] scratch,
                     unsigned char[:, ::1] zero, DiffusionTiling t, Py_ssize_t steps,
                     double coef, Boundary boundary, int n_threads, object report):
    """Advances `a` by `steps` steps, b (a copy of a) as the other buffer. Returns the index
    (0 = a, 1 = b) of the buffer holding the result. zero: 2 x diffusion_tiles(...) flags,
    set here. The steps run in chunks of about CHUNK_CELLS cell updates (~50 ms), each one
    call of the C++ driver (one parallel region); between chunks the GIL is taken to report
    progress and to let Ctrl-C through."""
    cdef Py_ssize_t ny = a.shape[0], nx = a.shape[1]
    cdef floating* bufs[2]
    bufs[0] = &a[0, 0]
    bufs[1] = &b[0, 0]
    # Which tiles of each buffer are all +0.0: b is a copy of a, so the same ones.
    cdef unsigned char* zeros[2]
    zeros[0] = &zero[0, 0]
    zeros[1] = &zero[1, 0]
    diffusion_zero_tiles(<const floating*>bufs[0], ny, nx, t, zeros[0])
    memcpy(zeros[1], zeros[0], <size_t>zero.shape[1])
    cdef int cur = 0
    cdef Py_ssize_t done = 0, n
    # Whole blocks per chunk, at least one.
    cdef Py_ssize_t chunk = max(1, CHUNK_CELLS // (ny * nx * t.steps)) * t.steps
    while done < steps:
        n = min(chunk, steps - done)
        with nogil:
            cur ^= cpp_diffuse(bufs[cur], bufs[1 - cur], ny, nx, t, n, <floating>coef,
                               boundary, n_threads, &scratch[0, 0], zeros[cur], zeros[1 - cur])
        done += n
        PyErr_CheckSignals()
        if report is not None:
            report(done)
    return cur


class _Progress:
    """Calls ``callback(done, total)``, or prints to stderr, at most every PROGRESS_EVERY s."""

    def __init__(self, progress, total):
        self.callback = progress if callable(progress) else None
        self.total = total
        self.last = time.perf_counter()

    def __call__(self, done):
        now = time.perf_counter()
        if done < self.total and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        if self.callback is not None:
            self.callback(done, self.total)
        else:
            end = "\n" if done >= self.total else ""
            print(f"\rdiffuse: {done}/{self.total} steps ({100 * done // self.total}%)",
                  end=end, file=sys.stderr, flush=True)


def diffuse(grid, steps, *, D=1.0, dt=0.1, boundary="fixed", n_threads=None, progress=False):
    """Many explicit steps of the diffusion equation in one call.

    Parameters
    ----------
    grid : ndarray of float64 or float32, shape (ny, nx)
        The initial grid; 2-D, at least 3 x 3, any strides, read-only is fine. It is not
        changed. Lists and tuples are converted to float64, byte-swapped arrays to native
        order.
    steps : int
        Number of time steps, >= 0.
    D, dt : float, optional
        Diffusion coefficient and time step; finite, with ``0 <= D * dt <= 0.25`` (the
        stability limit of the explicit scheme on a unit grid). Default 1.0 and 0.1.
    boundary : {"fixed", "periodic"}, optional
        ``"fixed"`` (default): the edge cells keep their initial values, every step is
        :func:`evolve`. ``"periodic"``: every cell is updated and neighbours wrap around,
        as in the textbook's ``np.roll`` version.
    n_threads : int, optional
        Threads to use (see :func:`hotloop.effective_n_threads`). The result is bitwise the
        same for any value.
    progress : bool or callable, optional
        ``True`` prints the progress of long runs to stderr; a callable is called as
        ``progress(steps_done, steps)`` (at most every 0.2 s, and once at the end). Default
        False. Ctrl-C interrupts a run between two blocks of steps either way.

    Returns
    -------
    ndarray
        The grid after ``steps`` steps: a new C-contiguous array, same shape and dtype (in
        native byte order).

    Raises
    ------
    TypeError
        For a dtype other than float64/float32 or non-numeric arguments.
    ValueError
        For a grid that is not 2-D or smaller than 3 x 3, ``steps < 0``, non-finite ``D`` or
        ``dt``, ``D * dt`` outside ``[0, 0.25]`` (unstable), or an unknown ``boundary``.

    Notes
    -----
    Exactness: every cell of every step is computed as :func:`evolve` computes it (the C
    function's operations, in its order; with the periodic boundary the neighbours wrap). The
    result is therefore bitwise identical to ``steps`` calls of :func:`evolve` (fixed), and
    to a NumPy loop that adds the neighbours in the same order, ``((down + up) + right) +
    left``. The textbook's ``np.roll`` version adds them as ``((up + down) + left) + right``:
    it differs in the last bits, by about 1e-16 relative per step, and stays within 1e-12
    over long runs since the scheme damps errors.

    float32 grids compute in float32 with ``float32(D * dt)``. NaN and infinity propagate
    to the neighbouring cells, one cell per step.

    Speed: temporal blocking. The grid is cut into tiles that advance several steps at once
    from a small buffer that stays in the cache (the halo a tile needs is recomputed by each
    tile), the tiles run in parallel, and rows are vectorised (AVX-512/AVX2 at run time).
    Tiles that are exactly +0.0 with their halo (a cold region the heat has not reached) are
    skipped: they stay +0.0 bit for bit (``-0.0`` cells are stepped, since a step turns them
    into ``+0.0``). The explicit scheme spreads nonzero values one cell per step, so this
    helps in proportion to the cold area of a run.
    """
    cdef object src = as_grid(grid, "grid")
    cdef object n_steps = as_int(steps, "steps", 0)
    cdef double coef = as_real(D, "D") * as_real(dt, "dt")
    if not 0.0 <= coef <= STABLE_MAX:
        raise ValueError(
            f"D * dt = {coef!r} is outside [0, 0.25]: the explicit scheme is unstable there "
            "(errors grow without bound); take a smaller dt"
        )
    cdef Boundary b
    if boundary == "fixed":
        b = Boundary.fixed
    elif boundary == "periodic":
        b = Boundary.periodic
    else:
        raise ValueError(f"boundary must be 'fixed' or 'periodic', got {boundary!r}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be a bool or a callable, got {type(progress).__name__}")
    cdef int nt = effective_n_threads(n_threads)

    a = np.array(src, dtype=src.dtype, order="C", copy=True)
    if n_steps == 0:
        return a
    other = a.copy()  # holds the fixed edges too
    cdef Py_ssize_t ny = a.shape[0], nx = a.shape[1]
    cdef DiffusionTiling t = diffusion_tiling(ny, nx, a.itemsize, nt)
    scratch = np.zeros((nt, t.scratch), dtype=a.dtype)
    zero = np.empty((2, diffusion_tiles(ny, nx, t)), dtype=np.uint8)
    report = _Progress(progress, n_steps) if progress else None
    if float_kind(a) == FLOAT64:
        cur = run_many[double](a, other, scratch, zero, t, n_steps, coef, b, nt, report)
    else:
        cur = run_many[float](a, other, scratch, zero, t, n_steps, coef, b, nt, report)
    return other if cur else a
