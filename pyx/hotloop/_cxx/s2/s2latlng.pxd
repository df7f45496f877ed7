# Declarations of S2's s2/s2latlng.h. No logic here.
from hotloop._cxx.s2.s1angle cimport S1Angle
from hotloop._cxx.s2.s2point cimport S2Point


cdef extern from "s2/s2latlng.h" nogil:
    cdef cppclass S2LatLng:
        S2LatLng() noexcept

        # No range check: the caller keeps |lat| <= 90 and |lng| <= 180 (S2 only logs).
        @staticmethod
        S2LatLng FromDegrees(double lat_degrees, double lng_degrees) noexcept
        S1Angle lat() noexcept
        S1Angle lng() noexcept
        S2Point ToPoint() noexcept
