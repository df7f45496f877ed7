// The decompressing reader behind hotloop::ByteStream, private to cxx/src: CountJob also uses it
// on one claimed byte range of a file (a hinted gzip member, a hinted lz4 frame, a slice of an
// uncompressed file, or the rest of a stream that cannot be split).
#pragma once

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <lz4frame.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "hotloop/records.hpp"

namespace hotloop {
namespace records_detail {

// Largest sizes a reader trusts in a hint (bigger claims are decoded as plain streams).
constexpr std::size_t kMaxHintedContent = std::size_t{64} << 20;
constexpr std::size_t kMaxHintedTotal = kMaxHintedContent + (kMaxHintedContent >> 8) + 4096;
constexpr std::size_t kLz4HintSize = 20;  // magic, size, 12-byte payload
constexpr std::size_t kReadChunk = std::size_t{256} << 10;
constexpr std::size_t kDecodeChunk = std::size_t{256} << 10;
constexpr std::size_t kInflateChunk = std::size_t{1} << 20;  // output room per ISA-L call

inline std::uint32_t le32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
inline void put_le32(std::uint32_t v, std::uint8_t* p) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}
inline bool is_skippable(std::uint32_t magic) noexcept {
  return (magic & 0xFFFFFFF0u) == 0x184D2A50u;
}

// An lz4 hint frame at p (kLz4HintSize bytes, read): true and the sizes when it is one.
inline bool parse_lz4_hint(const std::uint8_t* p, bool* last, std::uint32_t* frame_size,
                           std::uint32_t* content_size) noexcept {
  if (le32(p) != kLz4HintMagic || le32(p + 4) != 12 || p[8] != 'H' ||
      (p[9] != 'L' && p[9] != 'E') || p[10] != 0 || p[11] != 0)
    return false;
  *last = p[9] == 'E';
  *frame_size = le32(p + 12);
  *content_size = le32(p + 16);
  return true;
}

// A growable array whose new elements are left uninitialized (std::vector would zero them).
class Buffer {
 public:
  std::uint8_t* data() noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  void grow(std::size_t n) {  // keeps the content; may throw std::bad_alloc
    if (n <= n_) return;
    std::unique_ptr<std::uint8_t[]> q(new std::uint8_t[n]);
    if (n_) std::memcpy(q.get(), p_.get(), n_);
    p_ = std::move(q);
    n_ = n;
  }
  void release() noexcept {
    p_.reset();
    n_ = 0;
  }

 private:
  std::unique_ptr<std::uint8_t[]> p_;
  std::size_t n_ = 0;
};

class Decoder {
 public:
  explicit Decoder(std::size_t align);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // A whole stream: compression detected from its first bytes. fd is owned when own_fd.
  void start_fd(int fd, bool own_fd) noexcept;
  void start_memory(const std::uint8_t* data, std::size_t size) noexcept;
  // Bytes [begin, end) of fd (not owned), read with pread, in a known format. base: the
  // uncompressed offset of begin when known (raw slices), else kUnknownBase (offsets in errors
  // are then within the block, named by its file offset). after_member: begin follows a member
  // or frame (zero padding and the end of the stream allowed there). check_tail: report a stream
  // that ends right after an 'L' hint.
  static constexpr std::uint64_t kUnknownBase = ~std::uint64_t{0};
  void start_range(int fd, std::uint64_t begin, std::uint64_t end, Compression c,
                   std::uint64_t base, bool after_member, bool check_tail) noexcept;

  // Next decoded bytes, a multiple of align: *data points into an internal buffer valid until the
  // next call. Returns 1 with bytes (*size > 0), 0 at the end, -1 on error (fault()).
  int next(const std::uint8_t** data, std::size_t* size) noexcept;

  // For uncompressed streams, instead of next(): up to cap decoded bytes copied to dst
  // (written), read(2) straight into it once the buffered bytes are gone (no copy through the
  // internal buffers). Returns the count, 0 at the end, -1 on error (fault()), or kCompressed
  // (nothing done) when the stream is compressed: then use next().
  static constexpr std::ptrdiff_t kCompressed = -2;
  std::ptrdiff_t read_raw(std::uint8_t* dst, std::size_t cap) noexcept;

  Compression compression() const noexcept { return comp_; }
  const RecordsFault& fault() const noexcept { return err_; }
  std::uint64_t delivered() const noexcept { return delivered_; }
  void close() noexcept;

 private:
  enum class State { detect, raw, gz_member, gz_stream, lz4_frame, lz4_data, done, failed };

  bool fill_input();
  bool ensure_input(std::size_t n);
  std::size_t in_avail() const noexcept { return in_end_ - in_pos_; }
  std::uint64_t file_pos() const noexcept { return in_file_off_ + in_pos_; }
  void fail(FaultKind kind, std::string reason, std::uint64_t file_offset);
  void produce();
  void detect();
  void produce_raw();
  void gz_start_member();
  bool gz_fast_member();
  bool gz_skip_header();
  void gz_inflate_some();
  void lz4_start_frame();
  void lz4_decode_some();
  void end_of_stream();
  std::string where_uncompressed(std::uint64_t off) const;

  std::size_t align_;
  // Source.
  int fd_ = -1;
  bool own_fd_ = false;
  bool use_pread_ = false;
  std::uint64_t src_pos_ = 0, src_end_ = ~std::uint64_t{0};
  const std::uint8_t* mem_ = nullptr;
  std::size_t mem_size_ = 0;
  // Input buffer: in_[in_pos_, in_end_) are file bytes from file offset in_file_off_ + in_pos_.
  Buffer in_;
  std::size_t in_pos_ = 0, in_end_ = 0;
  std::uint64_t in_file_off_ = 0;
  bool eof_ = false;
  // Decoded bytes not yet delivered: out_[out_pos_, out_end_).
  Buffer out_;
  std::size_t out_pos_ = 0, out_end_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t base_ = 0;  // uncompressed offset of the first decoded byte, or kUnknownBase

  State state_ = State::detect;
  Compression comp_ = Compression::none;
  bool after_member_ = false;
  bool check_tail_ = true;
  bool open_tail_ = false;         // the last block was hinted 'L'
  std::uint64_t block_start_ = 0;  // file offset of the member/frame being decoded
  std::uint64_t block_out_ = 0;    // decoded bytes of that member/frame so far
  // lz4: the hint of the frame being decoded (when hinted).
  bool lz4_hinted_ = false, lz4_hint_last_ = false;
  std::uint32_t lz4_hint_frame_ = 0, lz4_hint_content_ = 0;
  std::uint64_t lz4_skip_ = 0;  // bytes of a skippable frame still to skip

  std::unique_ptr<inflate_state> isal_;  // ~100 KiB: allocated for the first foreign member
  libdeflate_decompressor* dd_ = nullptr;
  LZ4F_dctx* lz4_ = nullptr;
  RecordsFault err_;
};

}  // namespace records_detail
}  // namespace hotloop
