# Declarations of cxx/include/hotloop/julia.hpp. No logic here.
from libc.stdint cimport int32_t

from hotloop._cxx.threads cimport Interrupt


cdef extern from "hotloop/julia.hpp" namespace "hotloop" nogil:
    cdef struct PixelGrid:
        Py_ssize_t width
        Py_ssize_t height
        double x0, dx, y1, dy

    enum class Fractal(int):
        julia
        mandelbrot

    const Py_ssize_t kEscapeChunk

    void julia(const double* z, const double* c, Py_ssize_t c_step, int32_t* out,
               Py_ssize_t n, int32_t maxiter, Interrupt* interrupt) noexcept
    void escape_grid(const PixelGrid& grid, Fractal kind, double cr, double ci,
                     int32_t maxiter, int32_t* out, Py_ssize_t begin,
                     Py_ssize_t end, Interrupt* interrupt) noexcept
    void julia_parallel(const double* z, const double* c, Py_ssize_t c_step, int32_t* out,
                        Py_ssize_t n, int32_t maxiter, int max_threads,
                        Interrupt* interrupt) noexcept
    void escape_grid_parallel(const PixelGrid& grid, Fractal kind, double cr, double ci,
                              int32_t maxiter, int32_t* out, int max_threads,
                              Interrupt* interrupt) noexcept
    void escape_region_parallel(const PixelGrid& grid, Fractal kind, double cr, double ci,
                                int32_t maxiter, int32_t* out, Py_ssize_t row_begin,
                                Py_ssize_t row_end, Py_ssize_t col_begin,
                                Py_ssize_t col_end, int max_threads,
                                Interrupt* interrupt) noexcept
