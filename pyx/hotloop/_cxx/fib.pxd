# Declarations of cxx/include/hotloop/fib.hpp. No logic here.
from libc.stdint cimport uint64_t


cdef extern from "hotloop/fib.hpp" namespace "hotloop" nogil:
    const int kFibMaxN

    uint64_t fib_recursive(int n) noexcept
    uint64_t fib_fast(int n, uint64_t* next) noexcept
