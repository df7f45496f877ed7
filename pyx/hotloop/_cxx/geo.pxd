# Declarations of cxx/include/hotloop/geo.hpp, hotloop's layer in front of S2. No logic here.
from libc.stdint cimport int64_t, uint64_t
from libcpp.memory cimport unique_ptr
from libcpp.string cimport string
from libcpp.vector cimport vector

from hotloop._cxx.s2.s2cell_id cimport S2CellId
from hotloop._cxx.s2.s2loop cimport S2Loop
from hotloop._cxx.s2.s2polygon cimport S2Polygon
from hotloop._cxx.s2.s2region_coverer cimport S2RegionCoverer


cdef extern from "hotloop/geo.hpp" namespace "hotloop::geo" nogil:
    bint valid_latlng(double lat_deg, double lon_deg) noexcept
    unique_ptr[S2Loop] make_loop(const double* lonlat, int64_t n_vertices,
                                 string* error) noexcept
    unique_ptr[S2Polygon] make_polygon(vector[unique_ptr[S2Loop]]* loops,
                                       const int64_t* shell_of, string* error) noexcept
    bint check_min_level(const S2Polygon& polygon, int min_level, string* error) noexcept
    bint cover(S2RegionCoverer* coverer, const S2Polygon& polygon, bint interior,
               vector[S2CellId]* cells, string* error) noexcept
    size_t cell_token(uint64_t id, char* out) noexcept
    S2CellId cell_from_token(const char* data, size_t size) noexcept
