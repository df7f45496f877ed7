# Declarations of cxx/include/hotloop/detail/spin_barrier.hpp. No logic here.

cdef extern from "hotloop/detail/spin_barrier.hpp" namespace "hotloop::detail" nogil:
    cdef cppclass SpinBarrier:
        SpinBarrier() noexcept
        void wait(int team_size) noexcept
