# Declarations of cxx/include/hotloop/rolling.hpp. No logic here.

cdef extern from "hotloop/rolling.hpp" namespace "hotloop" nogil:
    enum class RollingStat(int):
        mean
        var
        std

    Py_ssize_t rolling_block_size(Py_ssize_t window) noexcept

    # T is float or double (the template is instantiated for those two only).
    void rolling_moments_block[T](const T* x, Py_ssize_t x_stride,
                                  Py_ssize_t window, Py_ssize_t min_periods,
                                  Py_ssize_t ddof, RollingStat stat, T* out,
                                  Py_ssize_t out_stride, Py_ssize_t begin,
                                  Py_ssize_t end) noexcept
