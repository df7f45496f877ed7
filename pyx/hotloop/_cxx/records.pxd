# Declarations of cxx/include/hotloop/records.hpp. No logic here.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.string cimport string


cdef extern from "hotloop/records.hpp" namespace "hotloop" nogil:
    const size_t kFrequencyCount
    const uint32_t kFrequencyCap
    const size_t kRecordSize64
    const size_t kRecordSize32
    const size_t kBlockSize

    cpdef enum class Compression(int):
        none
        gzip
        lz4

    Compression detect_compression(const uint8_t* p, size_t n) noexcept

    cpdef enum class FaultKind(int):
        none
        os
        gzip
        lz4
        truncated
        key

    cdef cppclass RecordsFault:
        FaultKind kind
        int sys_errno
        string reason
        uint64_t offset
        uint64_t file_offset
        uint64_t line

    cdef cppclass ByteStream:
        ByteStream(size_t align) except +
        int open_file(const char* path) noexcept
        void open_memory(const uint8_t* data, size_t size) noexcept
        ptrdiff_t read(uint8_t* dst, size_t cap) noexcept
        Compression compression() noexcept
        const RecordsFault& error() noexcept
        uint64_t decoded() noexcept

    cdef cppclass Counters:
        Counters(size_t key_size) except +
        size_t key_size() noexcept
        void add_records(const uint8_t* recs, size_t n) except +
        void add_capped(uint64_t id, uint32_t s, uint32_t c) except +
        void add_totals(uint64_t shows, uint64_t clicks, uint64_t records) noexcept
        void merge(const Counters& other) except +
        bint try_merge(const Counters& other) noexcept
        uint64_t shows_all() noexcept
        uint64_t clicks_all() noexcept
        uint64_t records() noexcept
        uint64_t distinct() noexcept
        void frequencies(uint64_t* shows_freq, uint64_t* clicks_freq) noexcept
        void export_state(uint64_t* ids, uint8_t* shows, uint8_t* clicks) noexcept

    cdef cppclass CountJob:
        CountJob(size_t key_size, int n_threads) except +
        int add_file(const char* path) noexcept
        cbool run(uint64_t budget) noexcept
        cbool failed() noexcept
        const RecordsFault& error() noexcept
        size_t error_file() noexcept
        int finish(Counters* out) noexcept

    cdef cppclass NegativeJob:
        NegativeJob(cbool has_header, cbool key64, int n_threads) except +
        int open(const char* all_path, const char* in_path, const char* out_path,
                 int* which) noexcept
        cbool run(uint64_t budget) noexcept
        cbool failed() noexcept
        const RecordsFault& error() noexcept
        int error_file() noexcept
        int commit() noexcept
        void abort() noexcept
        uint64_t written() noexcept

    const char* parse_key(const uint8_t* p, size_t n, cbool key64, uint64_t* key) noexcept

    cdef cppclass CountsWriter:
        CountsWriter(size_t key_size, Compression compression, int level) except +
        int open(const char* path) noexcept
        int write(const uint64_t* ids, const uint16_t* shows, const uint16_t* clicks,
                  size_t n) noexcept
        int commit() noexcept
        void abort() noexcept
        uint64_t bytes_written() noexcept
