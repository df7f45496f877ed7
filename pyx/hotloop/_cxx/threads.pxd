# Declarations of cxx/include/hotloop/threads.hpp. No logic here.

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
