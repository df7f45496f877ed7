// DeviceApps record streams: a gzip'ed stream of length-prefixed protobuf messages.
//
// The message (proto2, shipped as pyx/hotloop/deviceapps.proto):
//   message DeviceApps {
//     message Device { optional bytes id = 1; optional bytes type = 2; }
//     optional Device device = 1; repeated uint32 apps = 2;
//     optional double lat = 3; optional double lon = 4;
//   }
// A file is a gzip stream (RFC 1952: one or more members) whose uncompressed bytes are records:
// an 8-byte little-endian header (uint32 magic 0xFFFFFFFF, uint16 type, uint16 length) and then
// `length` bytes of the serialized message. Type 1 is DeviceApps; readers skip other types.
//
// Encoding writes exactly the bytes of the official protobuf serializers (fields in number order,
// `apps` unpacked as proto2 does by default). Decoding accepts everything a conforming parser does
// (packed or unpacked `apps`, repeated optional fields where the last wins and sub-messages merge,
// unknown fields and groups skipped) and reports anything else as an error, with its position.
//
// Writing. Records are framed into blocks of about `block_size` uncompressed bytes; each block
// becomes one independent gzip member, compressed by libdeflate on a pool of threads while the
// caller encodes the next blocks, and written in order. The members carry a gzip "extra" subfield
// (RFC 1952 2.3.1.1, ids 'H','L', 8 bytes: the member's total size and its uncompressed size,
// little-endian uint32) that other gzip readers ignore and that lets ours inflate a member in one
// call; the writer's last member has the ids 'H','E' instead, so that a file cut exactly between
// two members (still a valid gzip stream) is reported as truncated. The output is a standard gzip
// stream: `gzip -d` and Python's gzip module read it. It does not depend on the number of
// threads. The file is written under a temporary name in the target's
// folder and renamed over the target only by commit(), so a failed write never leaves a partial
// file where a good one was expected.
//
// The target. A new path or a regular file is replaced atomically as above; a symbolic link is
// followed (the link stays, the file it names is replaced the same way; a dangling link is refused
// with ENOENT). A character or block device, a FIFO or a socket is written in place, as open()
// would (O_WRONLY, no temporary file, no rename): there a failed write leaves what was written.
//
// Reading. No record of a gzip member is returned before the member's CRC-32 and ISIZE have been
// checked, as long as it inflates to at most the member limit (kDefaultMemberLimit unless
// set_member_limit() says otherwise; the writer's members are at most kMaxBlockSize plus one
// record): a damaged member yields no record, only its error, and the records of the members
// before it. Members with the 'HL' subfield are inflated whole by libdeflate; any other member
// (another writer's, or one of ours that fails a check) is inflated whole by zlib. A member larger
// than the limit cannot be held: once past it, its records are returned as they are inflated, and
// damage in it may yield wrong records before the error (the weaker guarantee of a streaming
// reader). A stream whose last member is one of ours but not the writer's last one ends in an
// error. Memory stays bounded whatever the file holds: about one member (<= the limit) plus one
// read chunk and one record.
//
// Member ranges. A file from our writer can be read in pieces by several readers: every member
// holds whole records (a record is appended to a block whole, and a block is compressed once the
// record that fills it was added, so no record spans two members), and its 'HL'/'HE' subfield
// gives its compressed size, so scan_member_ranges() walks from header to header without
// inflating and cuts the file at member boundaries into ranges of about `target_bytes`
// compressed bytes; open_range() reads one. Concatenated in order, the ranges' records are the
// file's records. The scan stops at the first thing that is not one of our headers with a
// plausible size (another writer's member, zero padding, damage, a size past the end) or after
// the writer's last member: the rest of the file joins the last range (the one before it when
// the scan stopped at a range boundary, so that every range starts at a member of ours), whose
// reader then reads it as the whole-file reader would and reports the same damage. A file whose
// 'HL' members had records crossing member boundaries (not our writer's) is read correctly whole,
// but its ranges would end with a framing error.
//
// Thread safety: a writer or a reader is used by one thread at a time. Nothing here calls Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hotloop {

constexpr std::uint32_t kDeviceAppsMagic = 0xFFFFFFFFu;
constexpr std::uint16_t kDeviceAppsType = 1;
constexpr std::size_t kRecordHeaderSize = 8;
constexpr std::size_t kMaxMessageSize = 65535;

// Writers' default and largest block size (uncompressed bytes per gzip member, before the record
// that crosses the limit).
constexpr std::size_t kDefaultBlockSize = std::size_t{256} << 10;
constexpr std::size_t kMaxBlockSize = std::size_t{8} << 20;
// Readers' default and largest member limit: the uncompressed size up to which a gzip member is
// held and checked before any of its records is returned (see "Reading" above). The default is
// well above the writer's largest member (kMaxBlockSize + one record).
constexpr std::size_t kDefaultMemberLimit = std::size_t{64} << 20;
constexpr std::size_t kMaxMemberLimit = std::size_t{1} << 30;

// One DeviceApps message as pointers into memory owned by someone else (the caller when encoding,
// the message bytes or the reader's buffer when decoding). A field is present when its has_ flag
// is set; `apps` has no presence (an empty list and an absent one are the same message).
struct DeviceAppsMessage {
  bool has_device = false;
  bool has_id = false;
  bool has_type = false;
  bool has_lat = false;
  bool has_lon = false;
  const std::uint8_t* id = nullptr;  // id_size bytes, any content
  std::size_t id_size = 0;
  const std::uint8_t* type = nullptr;  // type_size bytes, any content
  std::size_t type_size = 0;
  const std::uint32_t* apps = nullptr;  // n_apps values
  std::size_t n_apps = 0;
  double lat = 0.0;
  double lon = 0.0;
};

// Serialized size of m (id and type count only with has_device). May exceed kMaxMessageSize:
// callers check before framing.
std::size_t encoded_size(const DeviceAppsMessage& m) noexcept;

// Writes the encoded_size(m) bytes of m at out (written) and returns the end of what it wrote.
std::uint8_t* encode(const DeviceAppsMessage& m, std::uint8_t* out) noexcept;

// What decode() found wrong, and where (byte position inside the message).
struct DecodeError {
  const char* what = nullptr;  // static text, e.g. "truncated varint"; nullptr when none
  std::size_t position = 0;
};

// Parses size bytes at data (read) into *out (written). out->id/type point into data; out->apps
// points into apps_buf (written), which must hold at least size values (a value takes at least one
// byte of the message, so that always suffices). Returns false and fills *error when the bytes are
// not a valid DeviceApps message: a truncated or over-long varint or length, field number 0, a
// known field with the wrong wire type, an unknown wire type, an unbalanced group.
// uint32 values wider than 32 bits are truncated to their low 32 bits, as protobuf parsers do.
bool decode(const std::uint8_t* data, std::size_t size, DeviceAppsMessage* out,
            std::uint32_t* apps_buf, DecodeError* error) noexcept;

// Writes the 8-byte record header for a message of `size` bytes at out (written).
void write_record_header(std::uint16_t type, std::uint16_t size, std::uint8_t* out) noexcept;

// ---------------------------------------------------------------------------------------------
// Writer

enum class AddStatus : int {
  ok = 0,          // appended
  block_full = 1,  // appended, and the block is full: call flush_block() (without the GIL)
  too_long = 2,    // not appended: the message is longer than kMaxMessageSize bytes
  bad_state = 3,   // not appended: not open, or the last block_full was not flushed
};

class DeviceAppsWriter {
 public:
  // level: 0 (stored) to 12 (libdeflate's strongest; 1-9 match zlib's scale, 6 is the default).
  // n_threads: compression threads (>= 1; 1 compresses in the calling thread). block_size: 1 to
  // kMaxBlockSize. Out-of-range values are clamped. Allocates nothing big yet (may throw
  // std::bad_alloc).
  DeviceAppsWriter(int level, int n_threads, std::size_t block_size);
  ~DeviceAppsWriter();  // abort() unless commit() succeeded
  DeviceAppsWriter(const DeviceAppsWriter&) = delete;
  DeviceAppsWriter& operator=(const DeviceAppsWriter&) = delete;

  // Creates the temporary file beside path (read, a NUL-terminated file name), or beside the
  // file a symbolic link names, or opens a device or FIFO for writing in place (a FIFO: waits for
  // a reader; EINTR when a signal comes first). Returns 0, or an errno value (ENOENT: no such
  // folder or a dangling link, EISDIR: path is a folder, EACCES, ENOMEM, ...).
  int open(const char* path) noexcept;

  // Frames and appends one message. Must follow a successful open().
  AddStatus add(const DeviceAppsMessage& m) noexcept;
  // Appends a record of another type with the given payload (read). For tests and tools.
  AddStatus add_raw(std::uint16_t type, const std::uint8_t* payload, std::size_t size) noexcept;

  // Hands the full block to the compressors, writes the members that are done, and waits only
  // when every block buffer is busy. Returns 0 or an errno value (the write failed: call abort()).
  int flush_block() noexcept;

  // Compresses and writes what is left (one empty member when nothing was added, so the file is
  // still a valid gzip stream), closes the file and renames it over the target. Returns 0 or an
  // errno value; on failure the temporary file is removed.
  int commit() noexcept;

  // Stops the threads and removes the temporary file. Safe to call at any time, more than once.
  void abort() noexcept;

  std::uint64_t records() const noexcept;             // records added
  std::uint64_t uncompressed_bytes() const noexcept;  // framed bytes added
  std::uint64_t bytes_written() const noexcept;       // compressed bytes written to the file
  int n_threads() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Reader

enum class ReadStatus : int {
  record = 0,      // *rec describes the next record
  end = 1,         // the stream ended cleanly after a whole record
  need_input = 2,  // (only with may_block = false) call next() again with may_block = true
  error = 3,       // see error()
  waiting = 4,     // (only with may_block = true) no input came within ~100 ms, or a signal
                   // interrupted the read: check for signals, then call next() again
};

enum class ReadErrorKind : int {
  none = 0,
  os = 1,       // a read failed: error().sys_errno
  gzip = 2,     // not gzip, a truncated or corrupt gzip stream, bad CRC or length, trailing junk
  framing = 3,  // bad magic, truncated record header or message
  message = 4,  // the message bytes are not a valid DeviceApps message (see decode())
};

struct ReadError {
  ReadErrorKind kind = ReadErrorKind::none;
  int sys_errno = 0;
  std::string message;
  std::uint64_t record_index = 0;  // records (of any type) before the damaged one
  std::uint64_t offset = 0;        // uncompressed offset of the damaged record's header
  std::uint64_t file_offset = 0;   // file offset of the gzip member being read
};

// A record inside the reader's buffer: valid until the next call of next().
struct RecordView {
  std::uint16_t type = 0;
  std::uint32_t size = 0;
  const std::uint8_t* data = nullptr;  // size bytes of payload
  std::uint64_t index = 0;             // 0-based, counting records of every type
  std::uint64_t offset = 0;            // uncompressed offset of its header
};

class DeviceAppsReader {
 public:
  DeviceAppsReader();  // may throw std::bad_alloc
  ~DeviceAppsReader();
  DeviceAppsReader(const DeviceAppsReader&) = delete;
  DeviceAppsReader& operator=(const DeviceAppsReader&) = delete;

  // Opens path (read, NUL-terminated). Returns 0 or an errno value (ENOENT, EISDIR, EACCES, ...).
  // A pipe, FIFO, terminal or socket is polled: next() then returns `waiting` while it stalls.
  int open(const char* path) noexcept;

  // Reads the size bytes at data (read; they must outlive the reader's use of them) as the file,
  // through the same code as open() (for fuzzing and tests). Returns 0, or EBUSY when open.
  int open_buffer(const std::uint8_t* data, std::size_t size) noexcept;

  // The member limit (clamped to 1..kMaxMemberLimit); call before the first next().
  void set_member_limit(std::size_t bytes) noexcept;

  // The next record. With may_block = false it never reads or inflates: it returns need_input
  // when the buffer holds no whole record (so a caller can release its interpreter lock first).
  // After `end` or `error` every further call returns the same status.
  ReadStatus next(RecordView* rec, bool may_block) noexcept;

  // Decodes a DeviceApps record returned by the last next() into *out (pointers into the reader's
  // buffers, valid until the next call of next()). false: error() says what and where.
  bool decode(const RecordView& rec, DeviceAppsMessage* out) noexcept;

  const ReadError& error() const noexcept;
  void close() noexcept;

  // Opens path (read) to read only the file bytes [begin, end) (see "Member ranges" above):
  // begin must be the start of a gzip member (0 or a range's begin), end a member's end or the
  // file's size; uncompressed_begin is the uncompressed offset of begin, used only to report
  // offsets (RecordView::offset, ReadError::offset) as the whole-file reader would. end is
  // taken as the end of the input; when it is before the file's end, the range need not end
  // with the writer's last member. Every other check stays. Error offsets (file_offset, and
  // the byte positions in messages) are file offsets; record indexes count from begin.
  // Returns 0 or an errno value: EINVAL when begin > end, ESPIPE when path is not a regular
  // file or block device, EBUSY when open, else as open().
  int open_range(const char* path, std::uint64_t begin, std::uint64_t end,
                 std::uint64_t uncompressed_begin = 0) noexcept;

  // open_range() on the size bytes at data (read; they must outlive the reader's use of them)
  // as the file. EINVAL unless begin <= end <= size.
  int open_buffer_range(const std::uint8_t* data, std::size_t size, std::uint64_t begin,
                        std::uint64_t end, std::uint64_t uncompressed_begin = 0) noexcept;

  std::uint64_t records_read() const noexcept;       // records of any type returned so far
  std::uint64_t compressed_offset() const noexcept;  // file bytes consumed so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A piece of a file: the file bytes [begin, end), whose uncompressed bytes start at
// uncompressed_begin (as the members' headers announce it).
struct MemberRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t uncompressed_begin = 0;
};

// Cuts the file at path (read, NUL-terminated) into consecutive ranges (written to *ranges,
// replacing its content) that cover it exactly, in file order: each is the fewest whole
// members of our writer that reach target_bytes (>= 1; 0 counts as 1) compressed bytes, the
// last one the rest of the file (see "Member ranges" above). An empty file is one empty range.
// Reads 24 bytes per member header and never inflates; memory: the ranges (at most one per 32
// bytes of file). Returns 0 or an errno value (ENOENT, EISDIR, EACCES, ENOMEM; ESPIPE when path
// is not a regular file or block device, which cannot be read out of order).
int scan_member_ranges(const char* path, std::uint64_t target_bytes,
                       std::vector<MemberRange>* ranges) noexcept;

// The same on the size bytes at data (read), for tests and fuzzing. Returns 0 or ENOMEM.
int scan_member_ranges_buffer(const std::uint8_t* data, std::size_t size,
                              std::uint64_t target_bytes,
                              std::vector<MemberRange>* ranges) noexcept;

}  // namespace hotloop
