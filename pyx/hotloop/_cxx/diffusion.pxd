# Declarations of cxx/include/hotloop/diffusion.hpp. No logic here.

cdef extern from "hotloop/diffusion.hpp" namespace "hotloop" nogil:
    enum class Boundary(int):
        fixed
        periodic

    cdef struct DiffusionTiling:
        int steps
        Py_ssize_t band
        Py_ssize_t strip
        Py_ssize_t scratch

    # T is float or double (the templates are instantiated for those two only).
    void diffusion_step[T](const T* in_, Py_ssize_t in_ld, T* out, Py_ssize_t out_ld,
                           Py_ssize_t ny, Py_ssize_t nx, T coef) noexcept

    DiffusionTiling diffusion_tiling(Py_ssize_t ny, Py_ssize_t nx, size_t itemsize,
                                     int n_threads) noexcept

    void diffusion_tile[T](const T* src, T* dst, Py_ssize_t ld, Py_ssize_t ny,
                           Py_ssize_t nx, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0,
                           Py_ssize_t c1, int steps, T coef, Boundary boundary,
                           T* scratch) noexcept

    Py_ssize_t diffusion_tiles(Py_ssize_t ny, Py_ssize_t nx,
                               const DiffusionTiling& tiling) noexcept
    void diffusion_zero_tiles[T](const T* grid, Py_ssize_t ny, Py_ssize_t nx,
                                 const DiffusionTiling& tiling, unsigned char* zero) noexcept
    void diffusion_tile_sparse[T](const T* src, T* dst, Py_ssize_t ny, Py_ssize_t nx,
                                  const DiffusionTiling& tiling, Py_ssize_t k, int steps,
                                  T coef, Boundary boundary, T* scratch,
                                  const unsigned char* zero_src,
                                  unsigned char* zero_dst) noexcept
    int diffuse[T](T* a, T* b, Py_ssize_t ny, Py_ssize_t nx, const DiffusionTiling& tiling,
                   Py_ssize_t steps, T coef, Boundary boundary, int n_threads, T* scratch,
                   unsigned char* zero_a, unsigned char* zero_b) noexcept
