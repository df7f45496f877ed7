// Counter records and key files: decompression (raw, gzip, lz4 frame), per-id counting that
// merges exactly, set difference of key files, and a writer.
//
// Counter records are packed little-endian {uint64 id, uint16 shows, uint16 clicks} (12 bytes),
// or {uint32 id, uint16, uint16} (8 bytes) with key_size 4. A file's decompressed bytes are a
// sequence of whole records. Key files are text: one unsigned decimal key per line ('\n' or
// "\r\n"), an optional header line.
//
// Compression is detected from the first bytes: 1f 8b is gzip (RFC 1952, one or more members,
// zero padding after a member allowed as Python's gzip does), 04 22 4d 18 or a skippable-frame
// magic 5X 2a 4d 18 is an lz4 frame stream (the lz4 frame format; several frames allowed), and
// anything else is uncompressed.
//
// The writer (CountsWriter) cuts the records into blocks of kBlockSize bytes (whole records) and
// compresses each block on its own:
//  - gzip: one member per block, with the 'HL' extra subfield of deviceapps_gzip.hpp (the
//    member's total and uncompressed sizes); the last member has 'HE' instead.
//  - lz4: one frame per block (content size and content checksum on), each preceded by a
//    skippable frame (magic kLz4HintMagic, 12 bytes: 'H', 'L' or 'E', 0, 0, the next frame's
//    compressed size and its content size, uint32 little-endian).
// Other readers (gzip -d, Python's gzip, the lz4 CLI, the lz4 package) ignore the hints. Ours
// use them to hand blocks to threads (a hinted member or frame is decoded whole, independently)
// and to report a file cut exactly between two blocks: the stream then ends after an 'L' hint.
// A hinted block whose content is not a whole number of records (align) is reported as damaged.
//
// Errors are values (RecordsFault), never exceptions across this API, except std::bad_alloc
// where stated. Nothing here calls Python. Every object is used by one thread at a time unless
// stated otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hotloop {

// Entries in a frequency table: entry k counts ids whose total is k, the last one 32 and more.
constexpr std::size_t kFrequencyCount = 33;
constexpr std::uint32_t kFrequencyCap = kFrequencyCount - 1;
constexpr std::size_t kRecordSize64 = 12;  // uint64 id + 2 x uint16
constexpr std::size_t kRecordSize32 = 8;   // uint32 id + 2 x uint16
// Uncompressed bytes per gzip member / lz4 frame written (a multiple of both record sizes).
constexpr std::size_t kBlockSize = std::size_t{3} << 18;  // 768 KiB
constexpr std::uint32_t kLz4FrameMagic = 0x184D2204u;
constexpr std::uint32_t kLz4HintMagic = 0x184D2A5Bu;  // one of the 16 skippable-frame magics

enum class Compression : int { none = 0, gzip = 1, lz4 = 2 };

// The format of a stream that starts with the n bytes at p (read): gzip needs 2 bytes, lz4 4.
Compression detect_compression(const std::uint8_t* p, std::size_t n) noexcept;

enum class FaultKind : int {
  none = 0,
  os = 1,         // a system call failed: sys_errno
  gzip = 2,       // a corrupt or truncated gzip stream, bad CRC-32/ISIZE, junk after it
  lz4 = 3,        // a corrupt or truncated lz4 frame, bad checksum, junk after it
  truncated = 4,  // the stream ends inside a record (offset: the record's start)
  key = 5,        // a key file line that is not a key (line; reason says why)
};

struct RecordsFault {
  FaultKind kind = FaultKind::none;
  int sys_errno = 0;
  std::string reason;
  std::uint64_t offset = 0;       // uncompressed byte offset (of the record or line start)
  std::uint64_t file_offset = 0;  // compressed byte offset (of the member/frame) or 0
  std::uint64_t line = 0;         // 1-based line of a key file, 0 for records
  bool ok() const noexcept { return kind == FaultKind::none; }
};

// ---------------------------------------------------------------------------------------------
// Decompression

// Decompressed bytes of one stream: a file (read sequentially, so pipes work too) or a memory
// buffer (for tests and fuzzing). align: the decompressed size every hinted block must be a
// multiple of (the record size, or 1).
class ByteStream {
 public:
  explicit ByteStream(std::size_t align = 1);  // may throw std::bad_alloc
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Opens path (read, NUL-terminated). Returns 0 or an errno value (ENOENT, EISDIR, ...).
  int open_file(const char* path) noexcept;
  // Reads size bytes at data (read; must outlive the stream).
  void open_memory(const std::uint8_t* data, std::size_t size) noexcept;

  // Writes up to cap decompressed bytes at dst (written), a multiple of align (cap >= align).
  // Returns the count, 0 at the clean end of the stream, -1 on error (then error(); every later
  // call returns -1 too). A stream that ends inside a record is an error (FaultKind::truncated).
  std::ptrdiff_t read(std::uint8_t* dst, std::size_t cap) noexcept;

  Compression compression() const noexcept;  // known after the first read
  const RecordsFault& error() const noexcept;
  std::uint64_t decoded() const noexcept;  // decompressed bytes returned so far

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Counting

// Per-id totals saturated at kFrequencyCap (what the frequency tables and the distinct counts
// need: min(a + b, 32) = min(min(a, 32) + min(b, 32), 32), so merging stays exact), plus exact
// totals over all records. State: one slot per id in open-addressing tables of 64-byte buckets
// (6 slots, 10 with 4-byte keys) kept 35-70% full: 15-31 bytes per distinct id (9-18 with 4-byte
// keys), each of the kShards tables rounded up to whole 2 MiB pages from 1 MiB on; up to 8 times
// that after expect_records() when the ids stop being new (see there).
class Counters {
 public:
  explicit Counters(std::size_t key_size);  // 4 or 8; may throw std::bad_alloc
  ~Counters();
  Counters(Counters&&) noexcept;
  Counters& operator=(Counters&&) noexcept;

  std::size_t key_size() const noexcept;
  // Adds n packed little-endian records at recs (read). May throw std::bad_alloc.
  void add_records(const std::uint8_t* recs, std::size_t n);
  // A hint: about n records will have been added in all. While ids keep being new, tables then
  // grow in steps of up to 8 times instead of doubling (fewer copies of growing tables); if the
  // new ids stop coming, a table may hold up to 8 times the slots its ids need. 0: no hint.
  void expect_records(std::uint64_t n) noexcept;
  // Adds one id with totals already saturated (s, c <= kFrequencyCap); totals_* are added to the
  // exact totals. May throw std::bad_alloc.
  void add_capped(std::uint64_t id, std::uint32_t s, std::uint32_t c);
  void add_totals(std::uint64_t shows, std::uint64_t clicks, std::uint64_t records) noexcept;
  // Adds everything of other (same key size). May throw std::bad_alloc.
  void merge(const Counters& other);
  // merge() for code that cannot let an exception through (Cython without the GIL): false when
  // memory ran out, and then this object may hold part of other's ids: discard it.
  bool try_merge(const Counters& other) noexcept {
    try {
      merge(other);
      return true;
    } catch (...) {
      return false;
    }
  }
  // merge() restricted to shards [begin, end) of kShards: disjoint ranges may run in parallel
  // (the exact totals are not touched: add them once with add_totals).
  void merge_shards(const Counters& other, std::size_t begin, std::size_t end);
  static constexpr std::size_t kShards = 16;
  // For parallel drivers: a team of threads (team <= kShards) where `member` owns the ids of
  // shards member, member + team, ... add_records_owned inserts only the owned ids of the n
  // records at recs (read), and adds the exact totals of all n when `totals`; seen: the records
  // of the whole input before these (for expect_records' growth). take_shards swaps member's
  // shards with other's (this one's must be empty there). May throw std::bad_alloc.
  void add_records_owned(const std::uint8_t* recs, std::size_t n, std::size_t team,
                         std::size_t member, bool totals, std::uint64_t seen = 0);
  void take_shards(Counters& other, std::size_t team, std::size_t member) noexcept;

  std::uint64_t shows_all() const noexcept;
  std::uint64_t clicks_all() const noexcept;
  std::uint64_t records() const noexcept;
  std::uint64_t distinct() const noexcept;
  // Writes kFrequencyCount entries to each of shows_freq and clicks_freq (written).
  void frequencies(std::uint64_t* shows_freq, std::uint64_t* clicks_freq) const noexcept;
  // Writes distinct() ids and their saturated totals (written), in an unspecified order.
  void export_state(std::uint64_t* ids, std::uint8_t* shows, std::uint8_t* clicks) const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// get_counters' engine: files decoded and counted by up to n_threads threads (one per MiB of
// input at most: a thread must pay for its wake-up), the caller's and helpers of hotloop's
// shared pool (threads.hpp: the caller never waits for a helper that has not started, and a
// child process after fork() starts its own). Hinted gzip members and lz4 frames and slices of
// uncompressed files are claimed by whichever thread is free, so one big file uses every
// thread; any other stream is read by one thread at a time. With more than one thread, decoded
// records are sorted by shard and each shard is then filled by one task (see
// records_counters.cpp), so no merge is needed.
class CountJob {
 public:
  CountJob(std::size_t key_size, int n_threads);  // may throw std::bad_alloc
  ~CountJob();
  CountJob(const CountJob&) = delete;
  CountJob& operator=(const CountJob&) = delete;

  // Opens one more file (path read). Returns 0 or an errno value. Files count in this order when
  // choosing which error to report.
  int add_file(const char* path) noexcept;
  // Decodes and counts about `budget` more decompressed bytes (at least one block per thread).
  // Returns true when there is no more work (all done, or an error: failed()).
  bool run(std::uint64_t budget) noexcept;
  bool failed() const noexcept;
  // The error of the first failing file (in add_file order) and that file's index.
  const RecordsFault& error() const noexcept;
  std::size_t error_file() const noexcept;
  // After run() returned true without failing: the merged result, moved out.
  int finish(Counters* out) noexcept;  // 0 or ENOMEM

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Key files: set difference

// Writes the keys of all_path that are not in in_path, in all_path's order, to out_path, through
// a temporary file renamed over out_path at the end. Output: all_path's header line (without its
// line end) when has_header, then each key in plain decimal; every line ends with '\n'.
// Each file is read in chunks of whole lines that up to n_threads threads of hotloop's shared
// pool parse (one per MiB of input at most; the caller never waits for a helper that has not
// started); the output does not depend on n_threads. chunk: decoded bytes per chunk (0: 1 MiB;
// small values only to test the chunk boundaries).
class NegativeJob {
 public:
  // May throw std::bad_alloc.
  NegativeJob(bool has_header, bool key64, int n_threads = 1, std::size_t chunk = 0);
  ~NegativeJob();  // abort()
  NegativeJob(const NegativeJob&) = delete;
  NegativeJob& operator=(const NegativeJob&) = delete;

  // Opens the inputs and creates the temporary output. Returns 0 or an errno value; *which
  // (written) says whose: 0 all_path, 1 in_path, 2 out_path.
  int open(const char* all_path, const char* in_path, const char* out_path, int* which) noexcept;
  // Works through about `budget` more decompressed bytes. true: finished (or failed()).
  bool run(std::uint64_t budget) noexcept;
  bool failed() const noexcept;
  const RecordsFault& error() const noexcept;
  int error_file() const noexcept;  // 0 all_path, 1 in_path, 2 out_path
  // Flushes, closes and renames the output over out_path. Returns 0 or an errno value.
  int commit() noexcept;
  void abort() noexcept;  // removes the temporary file unless committed; idempotent
  std::uint64_t written() const noexcept;  // keys written

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Parses one key file line (without its line end; a trailing '\r' is allowed) of n bytes at p
// (read). Returns nullptr and sets *key, or a static text saying why it is not a key.
const char* parse_key(const std::uint8_t* p, std::size_t n, bool key64,
                      std::uint64_t* key) noexcept;

// ---------------------------------------------------------------------------------------------
// Writing

class CountsWriter {
 public:
  // level: -1 for the default (gzip 6, lz4 0), else gzip 0..12 (libdeflate) or lz4 0..12 (below
  // 3 the fast compressor, from 3 lz4hc); clamped.
  CountsWriter(std::size_t key_size, Compression compression, int level);
  ~CountsWriter();  // abort()
  CountsWriter(const CountsWriter&) = delete;
  CountsWriter& operator=(const CountsWriter&) = delete;

  // Creates a temporary file beside path (read). Returns 0 or an errno value.
  int open(const char* path) noexcept;
  // Appends n records from ids, shows, clicks (read; ids must fit key_size). Returns 0 or errno.
  int write(const std::uint64_t* ids, const std::uint16_t* shows, const std::uint16_t* clicks,
            std::size_t n) noexcept;
  // Writes what is left and renames the file over path. Returns 0 or an errno value.
  int commit() noexcept;
  void abort() noexcept;
  std::uint64_t bytes_written() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hotloop
