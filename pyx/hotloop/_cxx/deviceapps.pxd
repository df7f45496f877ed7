# Declarations of cxx/include/hotloop/deviceapps.hpp. No logic here.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.string cimport string
from libcpp.vector cimport vector


cdef extern from "hotloop/deviceapps.hpp" namespace "hotloop" nogil:
    const uint32_t kDeviceAppsMagic
    const uint16_t kDeviceAppsType
    const size_t kRecordHeaderSize
    const size_t kMaxMessageSize
    const size_t kDefaultBlockSize
    const size_t kMaxBlockSize
    const size_t kDefaultMemberLimit
    const size_t kMaxMemberLimit

    cdef cppclass DeviceAppsMessage:
        cbool has_device, has_id, has_type, has_lat, has_lon
        const uint8_t* id
        size_t id_size
        const uint8_t* type
        size_t type_size
        const uint32_t* apps
        size_t n_apps
        double lat, lon

    size_t encoded_size(const DeviceAppsMessage& m) noexcept
    uint8_t* encode(const DeviceAppsMessage& m, uint8_t* out) noexcept

    cdef cppclass DecodeError:
        const char* what
        size_t position

    cbool decode(const uint8_t* data, size_t size, DeviceAppsMessage* out,
                 uint32_t* apps_buf, DecodeError* error) noexcept

    enum class AddStatus(int):
        ok
        block_full
        too_long
        bad_state

    cdef cppclass DeviceAppsWriter:
        DeviceAppsWriter(int level, int n_threads, size_t block_size) except +
        int open(const char* path) noexcept
        AddStatus add(const DeviceAppsMessage& m) noexcept
        AddStatus add_raw(uint16_t type, const uint8_t* payload, size_t size) noexcept
        int flush_block() noexcept
        int commit() noexcept
        void abort() noexcept
        uint64_t records() noexcept
        uint64_t uncompressed_bytes() noexcept
        uint64_t bytes_written() noexcept
        int n_threads() noexcept

    enum class ReadStatus(int):
        record
        end
        need_input
        error
        waiting

    enum class ReadErrorKind(int):
        none
        os
        gzip
        framing
        message

    cdef cppclass ReadError:
        ReadErrorKind kind
        int sys_errno
        string message
        uint64_t record_index
        uint64_t offset
        uint64_t file_offset

    cdef cppclass RecordView:
        uint16_t type
        uint32_t size
        const uint8_t* data
        uint64_t index
        uint64_t offset

    cdef cppclass DeviceAppsReader:
        DeviceAppsReader() except +
        int open(const char* path) noexcept
        void set_member_limit(size_t bytes) noexcept
        ReadStatus next(RecordView* rec, cbool may_block) noexcept
        cbool decode(const RecordView& rec, DeviceAppsMessage* out) noexcept
        const ReadError& error() noexcept
        void close() noexcept
        int open_range(const char* path, uint64_t begin, uint64_t end,
                       uint64_t uncompressed_begin) noexcept
        uint64_t records_read() noexcept
        uint64_t compressed_offset() noexcept

    cdef cppclass MemberRange:
        uint64_t begin
        uint64_t end
        uint64_t uncompressed_begin

    int scan_member_ranges(const char* path, uint64_t target_bytes,
                           vector[MemberRange]* ranges) noexcept
