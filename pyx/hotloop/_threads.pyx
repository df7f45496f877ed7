"""OpenMP facts of this build and the one thread-count helper of every parallel kernel."""
import operator
import os

from hotloop._cxx cimport threads as cpp_threads
from cpython.pycapsule cimport PyCapsule_New

# The pool's entry point for the other extension modules (see share_pool in
# _cxx/threads.pxd): one pool per process, whichever module calls it.
_pool_capsule = PyCapsule_New(<void*>cpp_threads.parallel_for_entry(),
                              "hotloop._threads.parallel_for", NULL)


def openmp_enabled():
    """Return True when hotloop's kernels were compiled with OpenMP (parallel), else False."""
    return cpp_threads.openmp_enabled()


def simd_level():
    """Return the instruction set the multiversioned kernels use on this CPU.

    One of ``"avx512f"``, ``"avx2"`` or ``"baseline"``. The choice is made at run time, so the
    same build runs on any x86-64 and uses the wide vectors where the CPU has them.
    """
    return cpp_threads.simd_level().decode("ascii")


def usable_cpu_count():
    """Number of CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


cpdef int effective_n_threads(object n_threads) except -1:
    """Resolve an ``n_threads`` argument to the number of threads a kernel will use.

    Parameters
    ----------
    n_threads : int or None
        ``None``: as many threads as OpenMP would start (``OMP_NUM_THREADS`` when set), capped
        at the CPUs this process may use. A positive count: that many threads. A negative
        count: counted back from the usable CPUs (``-1`` all of them, ``-2`` all but one),
        never below 1. ``0`` is an error.

    Returns
    -------
    int
        At least 1 and at most the CPUs this process may use (a larger count is capped there:
        more threads than CPUs would only take turns); always 1 without OpenMP.

    Raises
    ------
    TypeError
        If ``n_threads`` is not None or an integer (bool is refused).
    ValueError
        If ``n_threads`` is 0.

    Notes
    -----
    This never calls ``omp_set_num_threads``: the count is passed to each parallel region, so
    other OpenMP users in the process are not affected. The usable CPUs are read again at most
    every 0.1 s (the system call would cost as much as a small kernel), so a change of this
    process's affinity takes up to 0.1 s to be seen.
    """
    cdef object n
    if n_threads is None:
        if not cpp_threads.openmp_enabled():
            return 1
        return max(1, min(cpp_threads.openmp_max_threads(), cpp_threads.recent_usable_cpus()))
    if isinstance(n_threads, bool):
        raise TypeError("n_threads must be None or an int, got bool")
    try:
        n = operator.index(n_threads)
    except TypeError:
        raise TypeError(
            f"n_threads must be None or an int, got {type(n_threads).__name__}"
        ) from None
    if n == 0:
        raise ValueError(
            "n_threads=0 is not a thread count; use None (all usable CPUs), "
            "a positive count, or a negative one (-1 = all CPUs)"
        )
    if not cpp_threads.openmp_enabled():
        return 1
    # More threads than CPUs would only take turns on them, and a huge count once made libgomp
    # start threads until creation failed and killed the process: positive counts are capped at
    # the usable CPUs (so n_threads=k still means at most k), negative ones count back from them.
    cdef int cpus = cpp_threads.recent_usable_cpus()
    if n < 0:
        return max(1, cpus + 1 + n)
    return min(n, cpus)
