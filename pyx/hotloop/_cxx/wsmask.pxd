# Declarations of cxx/include/hotloop/wsmask.hpp. No logic here.
from libc.stdint cimport uint8_t


cdef extern from "hotloop/wsmask.hpp" namespace "hotloop" nogil:
    const size_t kWsMaskChunk

    void ws_mask(const uint8_t* data, uint8_t* out, size_t n, const uint8_t* key,
                 size_t offset) noexcept
    void ws_mask_parallel(const uint8_t* data, uint8_t* out, size_t n, const uint8_t* key,
                          size_t offset, int max_threads) noexcept
