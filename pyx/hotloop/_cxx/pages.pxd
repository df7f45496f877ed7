# Declarations of cxx/include/hotloop/pages.hpp. No logic here.

cdef extern from "hotloop/pages.hpp" namespace "hotloop" nogil:
    const size_t kPagesKept
    void* take_pages(size_t bytes, size_t* mapped) noexcept
    void give_pages(void* p, size_t mapped) noexcept
    void release_pages() noexcept
