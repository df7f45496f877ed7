# Declarations of cxx/include/hotloop/threads.hpp. No logic here.

cdef extern from "hotloop/interrupt.hpp" namespace "hotloop" nogil:
    # Cooperative interruption (interrupt.hpp): check(ctx) runs on the creating thread at most
    # every 50 ms; nonzero means stop.
    ctypedef int (*InterruptCheckFn "hotloop::Interrupt::CheckFn")(void* ctx) noexcept nogil

    cdef cppclass Interrupt:
        Interrupt(InterruptCheckFn check, void* ctx) noexcept
        bint poll() noexcept
        bint stopped() noexcept
        void request_stop() noexcept


cdef extern from "hotloop/threads.hpp" namespace "hotloop" nogil:
    bint openmp_enabled() noexcept
    int openmp_max_threads() noexcept
    int openmp_team_size() noexcept
    const char* simd_level() noexcept

    # The thread pool (threads.hpp): fn(ctx, begin, end) over chunks of grain tasks. fn must
    # not raise or throw (declare it `noexcept nogil`).
    ctypedef void (*TaskFn)(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil
    void parallel_for(Py_ssize_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                      Py_ssize_t grain) noexcept
    int max_pool_threads() noexcept
    int recent_usable_cpus() noexcept

    # One pool per process (threads.hpp): hotloop._threads hands parallel_for_entry() to the
    # other modules in a capsule; each installs it with share_pool() when it is imported.
    ctypedef void (*ParallelForFn)(Py_ssize_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                                   Py_ssize_t grain, Interrupt* interrupt) noexcept nogil
    ParallelForFn parallel_for_entry() noexcept
    void install_parallel_for(ParallelForFn fn) noexcept


from cpython.pycapsule cimport PyCapsule_GetPointer


cdef inline int share_pool() except -1:
    """Make this module's parallel_for run on the process's one pool (call at import)."""
    from hotloop._threads import _pool_capsule
    install_parallel_for(
        <ParallelForFn>PyCapsule_GetPointer(_pool_capsule, "hotloop._threads.parallel_for")
    )
    return 0


from cpython.exc cimport PyErr_CheckSignals


cdef inline int check_signals(void* raised) noexcept nogil:
    """An InterruptCheckFn: run Python's signal handlers (Ctrl-C raises KeyboardInterrupt in
    the main thread); an exception they raise is appended to `raised` (a list) and stops the
    kernel. The caller re-raises it once the kernel has returned."""
    with gil:
        try:
            PyErr_CheckSignals()
        except BaseException as exc:
            (<list>raised).append(exc)
            return 1
    return 0
