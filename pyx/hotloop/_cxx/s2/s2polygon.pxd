# Declarations of S2's s2/s2polygon.h. No logic here.
#
# Polygons are assembled and validated by hotloop::geo::make_polygon (hotloop/geo.pxd).

from hotloop._cxx.s2.s2region cimport S2Region


cdef extern from "s2/s2polygon.h" nogil:
    cdef cppclass S2Polygon(S2Region):
        int num_loops() noexcept
        bint is_empty() noexcept
