# Declarations of S2's s2/s1angle.h. No logic here.

cdef extern from "s2/s1angle.h" nogil:
    cdef cppclass S1Angle:
        double degrees() noexcept
