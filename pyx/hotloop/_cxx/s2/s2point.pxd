# Declarations of S2's s2/s2point.h. No logic here.
#
# S2Point is `using S2Point = Vector3_d`, a unit vector (x, y, z) on the sphere; Cython only
# needs its name, so it is declared as an opaque class with its coordinate accessors.

cdef extern from "s2/s2point.h" nogil:
    cdef cppclass S2Point:
        double x() noexcept
        double y() noexcept
        double z() noexcept
