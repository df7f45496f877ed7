# Declarations of cxx/include/hotloop/threads.hpp. No logic here.

cdef extern from "hotloop/threads.hpp" namespace "hotloop" nogil:
    bint openmp_enabled() noexcept
    int openmp_max_threads() noexcept
    int openmp_team_size() noexcept
    const char* simd_level() noexcept
