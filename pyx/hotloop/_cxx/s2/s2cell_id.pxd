# Declarations of S2's s2/s2cell_id.h. No logic here.
#
# S2 checks the preconditions below only with ABSL_DCHECK (debug builds abort, release builds
# return garbage): the caller validates ids (is_valid) and levels before calling.
from libc.stdint cimport uint64_t

from hotloop._cxx.s2.s2latlng cimport S2LatLng
from hotloop._cxx.s2.s2point cimport S2Point


cdef extern from "s2/s2cell_id.h" nogil:
    cdef cppclass S2CellId:
        S2CellId() noexcept
        S2CellId(uint64_t id) noexcept
        S2CellId(const S2Point& p) noexcept  # the leaf cell; p unit length
        uint64_t id() noexcept
        bint is_valid() noexcept
        int level() noexcept  # requires is_valid()
        S2CellId parent(int level) noexcept  # requires 0 <= level <= self.level()
        S2LatLng ToLatLng() noexcept  # the cell's centre; requires is_valid()
