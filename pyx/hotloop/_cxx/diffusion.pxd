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

    void diffusion_step(const double* in_, Py_ssize_t in_ld, double* out, Py_ssize_t out_ld,
                        Py_ssize_t ny, Py_ssize_t nx, double coef) noexcept
    void diffusion_step(const float* in_, Py_ssize_t in_ld, float* out, Py_ssize_t out_ld,
                        Py_ssize_t ny, Py_ssize_t nx, float coef) noexcept

    DiffusionTiling diffusion_tiling(Py_ssize_t ny, Py_ssize_t nx, size_t itemsize,
                                     int n_threads) noexcept

    void diffusion_tile(const double* src, double* dst, Py_ssize_t ld, Py_ssize_t ny,
                        Py_ssize_t nx, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0,
                        Py_ssize_t c1, int steps, double coef, Boundary boundary,
                        double* scratch) noexcept
    void diffusion_tile(const float* src, float* dst, Py_ssize_t ld, Py_ssize_t ny,
                        Py_ssize_t nx, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t c0,
                        Py_ssize_t c1, int steps, float coef, Boundary boundary,
                        float* scratch) noexcept

    Py_ssize_t diffusion_tiles(Py_ssize_t ny, Py_ssize_t nx,
                               const DiffusionTiling& tiling) noexcept
    void diffusion_zero_tiles(const double* grid, Py_ssize_t ny, Py_ssize_t nx,
                              const DiffusionTiling& tiling, unsigned char* zero) noexcept
    void diffusion_zero_tiles(const float* grid, Py_ssize_t ny, Py_ssize_t nx,
                              const DiffusionTiling& tiling, unsigned char* zero) noexcept
    void diffusion_tile_sparse(const double* src, double* dst, Py_ssize_t ny, Py_ssize_t nx,
                               const DiffusionTiling& tiling, Py_ssize_t k, int steps,
                               double coef, Boundary boundary, double* scratch,
                               const unsigned char* zero_src, unsigned char* zero_dst) noexcept
    void diffusion_tile_sparse(const float* src, float* dst, Py_ssize_t ny, Py_ssize_t nx,
                               const DiffusionTiling& tiling, Py_ssize_t k, int steps,
                               float coef, Boundary boundary, float* scratch,
                               const unsigned char* zero_src, unsigned char* zero_dst) noexcept
