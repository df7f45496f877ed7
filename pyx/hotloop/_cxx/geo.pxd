# Declarations of cxx/include/hotloop/geo.hpp, hotloop's layer in front of S2. No logic here.
from libc.stdint cimport int64_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.memory cimport unique_ptr
from libcpp.string cimport string
from libcpp.vector cimport vector

from hotloop._cxx.s2.s2cell_id cimport S2CellId
from hotloop._cxx.s2.s2loop cimport S2Loop
from hotloop._cxx.s2.s2polygon cimport S2Polygon
from hotloop._cxx.s2.s2region_coverer cimport S2RegionCoverer
from hotloop._cxx.threads cimport Interrupt


cdef extern from "hotloop/geo.hpp" namespace "hotloop::geo" nogil:
    bint valid_latlng(double lat_deg, double lon_deg) noexcept
    unique_ptr[S2Loop] make_loop(const double* lonlat, int64_t n_vertices,
                                 string* error) noexcept
    unique_ptr[S2Polygon] make_polygon(vector[unique_ptr[S2Loop]]* loops,
                                       const int64_t* shell_of, string* error) noexcept
    bint check_min_level(const S2Polygon& polygon, int min_level, string* error) noexcept

    # The work one covering may do (cells tested), and Ctrl-C.
    cdef cppclass CoverBudget:
        int64_t max_tests  # a count >= 1, kAutoMaxTests or kNoMaxTests
        Interrupt* interrupt
    const int64_t kAutoMaxTests "hotloop::geo::CoverBudget::kAutoMaxTests"
    const int64_t kNoMaxTests "hotloop::geo::CoverBudget::kNoMaxTests"
    int64_t auto_max_tests(int max_cells) noexcept

    enum class CoverStatus(int):
        kCovered
        kOverBudget
        kInterrupted
        kOutOfMemory

    CoverStatus cover(S2RegionCoverer* coverer, const S2Polygon& polygon, bint interior,
                      const CoverBudget& budget, vector[S2CellId]* cells,
                      int64_t* tests) noexcept
    size_t cell_token(uint64_t id, char* out) noexcept
    S2CellId cell_from_token(const char* data, size_t size) noexcept

    # The parallel drivers (hotloop::parallel_for; max_threads from effective_n_threads).
    int64_t latlng_to_cells(const double* lat, const double* lon, int64_t n, int level,
                            uint64_t* out, int max_threads) noexcept
    void cells_to_latlng(const uint64_t* ids, int64_t n, double* lat, double* lon,
                         int max_threads) noexcept
    void cell_parents(const uint64_t* ids, int64_t n, int level, uint64_t* out,
                      int max_threads) noexcept
    bint cells_to_tokens(const uint64_t* ids, int64_t n, char* out, int max_threads) noexcept
    int64_t tokens_to_cells(const char* tokens, int64_t width, int64_t n, uint64_t* out,
                            int max_threads) noexcept

    cdef cppclass CoverFailure:
        int64_t geometry
        int64_t ring
        cbool out_of_memory
        cbool over_budget
        cbool interrupted
        string message

    bint cover_geometries(const double* lonlat, const int64_t* ring_start,
                          const int64_t* shell_of, const int64_t* geom_start, int64_t n_geoms,
                          const S2RegionCoverer.Options& options, bint interior,
                          int max_threads, vector[vector[S2CellId]]* cells,
                          CoverFailure* failure, const CoverBudget& budget) noexcept
