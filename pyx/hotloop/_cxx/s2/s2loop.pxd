# Declarations of S2's s2/s2loop.h. No logic here.
#
# Loops are built by hotloop's own layer (hotloop::geo::make_loop, hotloop/geo.pxd) with
# S2Debug::DISABLE: with S2's --s2debug flag on, indexing an invalid loop would ABSL_CHECK.

from hotloop._cxx.s2.s2region cimport S2Region


cdef extern from "s2/s2loop.h" nogil:
    cdef cppclass S2Loop(S2Region):
        int num_vertices() noexcept
        # Inverts the loop if it covers more than half the sphere, so that it encloses the
        # smaller of the two regions its boundary separates. On a loop whose edges cross (which
        # make_polygon then refuses) the orientation it picks is arbitrary but harmless.
        void Normalize() noexcept
        bint IsNormalized() noexcept
