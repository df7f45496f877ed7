# Declarations of cxx/include/hotloop/moments.hpp. No logic here.
from libc.stdint cimport int64_t

from hotloop._cxx.threads cimport Interrupt


cdef extern from "hotloop/moments.hpp" namespace "hotloop" nogil:
    cdef struct Moments:
        int64_t count
        double mean
        double m2
        int m2_exp

    double variance(const Moments& r, int64_t ddof) noexcept
    double stddev(const Moments& r, int64_t ddof) noexcept

    # T is float or double (the templates are instantiated for those two only). interrupt
    # (may be NULL) is polled between blocks of 2^20 values; check interrupt.stopped() after.
    Moments moments[T](const T* x, Py_ssize_t n, Py_ssize_t stride,
                       bint skipna, bint need_m2, Interrupt* interrupt) noexcept

    cdef cppclass RunningStats:
        cppclass State:
            bint skipna
            int64_t n_finite, n_nan, n_posinf, n_neginf
            double mean_hi, mean_lo, m2_hi, m2_lo
            int scale
            double maxabs

        RunningStats() noexcept
        RunningStats(bint skipna) noexcept
        void push(double x) noexcept
        # One C++ template, declared per type: Cython cannot deduce T from a C array.
        void extend(const double* x, Py_ssize_t n, Py_ssize_t stride,
                    Interrupt* interrupt) noexcept
        void extend(const float* x, Py_ssize_t n, Py_ssize_t stride,
                    Interrupt* interrupt) noexcept
        void merge(const RunningStats& other) noexcept
        bint skipna() noexcept
        int64_t count() noexcept
        double mean() noexcept
        double m2() noexcept
        double var(int64_t ddof) noexcept
        double std(int64_t ddof) noexcept
        State state() noexcept

        @staticmethod
        RunningStats from_state(const State& s) noexcept
