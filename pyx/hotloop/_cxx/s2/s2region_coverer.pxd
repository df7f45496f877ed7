# Declarations of S2's s2/s2region_coverer.h. No logic here.
#
# The setters check nothing in release builds (ABSL_DCHECK): the caller validates the levels
# (0..30, min <= max), level_mod (1..3) and max_cells (>= 1) first.


cdef extern from "s2/s2region_coverer.h" nogil:
    cdef cppclass S2RegionCoverer:
        cppclass Options:
            Options() noexcept
            void set_max_cells(int max_cells) noexcept
            void set_min_level(int min_level) noexcept
            void set_max_level(int max_level) noexcept
            void set_level_mod(int level_mod) noexcept

        S2RegionCoverer(const Options& options) except +
        # GetCovering and GetInteriorCovering are called through hotloop::geo::cover (geo.pxd),
        # which turns their std::bad_alloc into an error code: they run inside prange.
