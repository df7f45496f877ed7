# Declarations of S2's s2/s2region_coverer.h. No logic here.
#
# The setters check nothing in release builds (ABSL_DCHECK): the caller validates the levels
# (0..30, min <= max), level_mod (1..3) and max_cells (>= 1) first.
from libcpp.vector cimport vector

from hotloop._cxx.s2.s2cell_id cimport S2CellId
from hotloop._cxx.s2.s2region cimport S2Region


cdef extern from "s2/s2region_coverer.h" nogil:
    cdef cppclass S2RegionCoverer:
        cppclass Options:
            Options() noexcept
            void set_max_cells(int max_cells) noexcept
            void set_min_level(int min_level) noexcept
            void set_max_level(int max_level) noexcept
            void set_level_mod(int level_mod) noexcept

        S2RegionCoverer(const Options& options) except +
        # Both allocate: std::bad_alloc is their only failure on a valid region.
        void GetCovering(const S2Region& region, vector[S2CellId]* covering) except +
        void GetInteriorCovering(const S2Region& region, vector[S2CellId]* interior) except +
