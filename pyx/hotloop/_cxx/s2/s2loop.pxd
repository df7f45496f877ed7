# Declarations of S2's s2/s2loop.h. No logic here.
#
# Loops are built and validated by hotloop's own layer (hotloop::geo::make_loop, hotloop/geo.pxd):
# S2Loop's constructor and most of its methods abort on an invalid loop in debug builds.

from hotloop._cxx.s2.s2region cimport S2Region


cdef extern from "s2/s2loop.h" nogil:
    cdef cppclass S2Loop(S2Region):
        int num_vertices() noexcept
        # Inverts the loop if it covers more than half the sphere, so that it encloses the
        # smaller of the two regions its boundary separates. Requires a valid loop.
        void Normalize() noexcept
        bint IsNormalized() noexcept
