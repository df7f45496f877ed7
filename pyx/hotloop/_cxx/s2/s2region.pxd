# Declarations of S2's s2/s2region.h. No logic here.

cdef extern from "s2/s2region.h" nogil:
    # The abstract base of everything S2RegionCoverer can cover.
    cdef cppclass S2Region:
        pass
