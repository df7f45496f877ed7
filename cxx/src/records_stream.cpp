// The decompressing reader (records_stream.hpp) and ByteStream, its public face.
//
// Input is read in chunks into in_; decoded bytes go to out_, from which whole multiples of
// `align` are handed out. gzip: a member with the 'HL'/'HE' subfield of deviceapps_gzip.hpp is
// buffered whole and inflated by libdeflate in one call, then its CRC-32 and ISIZE are checked;
// any other member's header is checked here and its deflate data streamed through ISA-L's
// isal_inflate, which checks the trailer. (Measured on 5M records, a 48 MB file of `gzip -6`,
// loaded 2-core VM: ISA-L streams 1.6-1.7 times faster than zlib, as fast as libdeflate on the
// whole buffer; on our own members libdeflate stays 1.3-1.4 times faster than ISA-L.) lz4: frames
// go through liblz4's LZ4F_decompress (header, block and content checksums as the frame declares);
// skippable frames are skipped, except hotloop's hints, which are checked against the frame that
// follows.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <new>

#include "deviceapps_gzip.hpp"
#include "records_stream.hpp"

namespace hotloop {

Compression detect_compression(const std::uint8_t* p, std::size_t n) noexcept {
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Compression::gzip;
  if (n >= 4) {
    const std::uint32_t m = records_detail::le32(p);
    if (m == kLz4FrameMagic || records_detail::is_skippable(m)) return Compression::lz4;
  }
  return Compression::none;
}

namespace records_detail {
namespace {

std::string format(const char* fmt, unsigned long long a, unsigned long long b = 0,
                   unsigned long long c = 0) {
  char buf[320];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

}  // namespace

Decoder::Decoder(std::size_t align) : align_(align ? align : 1) {}

Decoder::~Decoder() {
  close();
  if (dd_) libdeflate_free_decompressor(dd_);
  if (lz4_) LZ4F_freeDecompressionContext(lz4_);
}

void Decoder::close() noexcept {
  if (own_fd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  own_fd_ = false;
  mem_ = nullptr;
}

void Decoder::start_fd(int fd, bool own_fd) noexcept {
  close();
  fd_ = fd;
  own_fd_ = own_fd;
  use_pread_ = false;
  src_pos_ = 0;
  src_end_ = ~std::uint64_t{0};
  in_pos_ = in_end_ = out_pos_ = out_end_ = 0;
  in_file_off_ = delivered_ = base_ = 0;
  eof_ = false;
  state_ = State::detect;
  comp_ = Compression::none;
  after_member_ = false;
  check_tail_ = true;
  open_tail_ = false;
  lz4_hinted_ = false;
  lz4_skip_ = 0;
  block_start_ = block_out_ = 0;
  err_ = RecordsFault{};
}

void Decoder::start_memory(const std::uint8_t* data, std::size_t size) noexcept {
  start_fd(-1, false);
  mem_ = data;
  mem_size_ = size;
  src_end_ = size;
}

void Decoder::start_range(int fd, std::uint64_t begin, std::uint64_t end, Compression c,
                          std::uint64_t base, bool after_member, bool check_tail) noexcept {
  start_fd(fd, false);
  use_pread_ = true;
  src_pos_ = in_file_off_ = begin;
  src_end_ = end;
  base_ = base;
  comp_ = c;
  after_member_ = after_member;
  check_tail_ = check_tail;
  state_ = c == Compression::gzip  ? State::gz_member
           : c == Compression::lz4 ? State::lz4_frame
                                   : State::raw;
  block_start_ = begin;
}

void Decoder::fail(FaultKind kind, std::string reason, std::uint64_t file_offset) {
  err_.kind = kind;
  err_.reason = std::move(reason);
  err_.file_offset = file_offset;
  err_.offset = (base_ == kUnknownBase ? 0 : base_) + delivered_ + (out_end_ - out_pos_);
  state_ = State::failed;
}

std::string Decoder::where_uncompressed(std::uint64_t off) const {
  if (base_ != kUnknownBase) return format("uncompressed byte %llu", base_ + off);
  return format("uncompressed byte %llu of the stream that starts at file byte %llu", off,
                in_file_off_ == 0 ? 0 : block_start_);
}

// Reads more input after what is buffered (compacting first). false: a read error (recorded).
bool Decoder::fill_input() {
  if (in_pos_ > 0) {
    std::memmove(in_.data(), in_.data() + in_pos_, in_avail());
    in_file_off_ += in_pos_;
    in_end_ -= in_pos_;
    in_pos_ = 0;
  }
  if (in_.size() < kReadChunk) in_.grow(kReadChunk);
  if (in_end_ == in_.size() || eof_) return true;
  std::uint8_t* dst = in_.data() + in_end_;
  const std::size_t room = in_.size() - in_end_;
  if (mem_ != nullptr || fd_ < 0) {
    const std::size_t n = std::min<std::uint64_t>(room, mem_size_ - src_pos_);
    if (n) std::memcpy(dst, mem_ + src_pos_, n);
    src_pos_ += n;
    in_end_ += n;
    if (n == 0) eof_ = true;
    return true;
  }
  for (;;) {
    ssize_t r;
    if (use_pread_) {
      const std::size_t want = std::min<std::uint64_t>(room, src_end_ - src_pos_);
      if (want == 0) {
        eof_ = true;
        return true;
      }
      r = ::pread(fd_, dst, want, static_cast<off_t>(src_pos_));
    } else {
      r = ::read(fd_, dst, room);
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      fail(FaultKind::os, std::strerror(e), file_pos());
      err_.sys_errno = e;
      return false;
    }
    if (r == 0) eof_ = true;
    src_pos_ += static_cast<std::uint64_t>(r);
    in_end_ += static_cast<std::size_t>(r);
    return true;
  }
}

bool Decoder::ensure_input(std::size_t n) {
  if (in_.size() < n) {
    if (in_pos_ > 0) fill_input();  // compact before growing
    in_.grow(std::max(n, kReadChunk));
  }
  while (in_avail() < n && !eof_) {
    if (!fill_input()) return false;
  }
  return true;
}

void Decoder::end_of_stream() {
  if (check_tail_ && open_tail_) {
    fail(comp_ == Compression::lz4 ? FaultKind::lz4 : FaultKind::gzip,
         format("truncated stream: the file ends at byte %llu, right after a block that "
                "hotloop's writer did not mark as its last (the file was cut between two blocks)",
                file_pos()),
         file_pos());
    return;
  }
  state_ = State::done;
}

void Decoder::detect() {
  if (!ensure_input(4)) return;
  comp_ = detect_compression(in_.data() + in_pos_, in_avail());
  state_ = comp_ == Compression::gzip  ? State::gz_member
           : comp_ == Compression::lz4 ? State::lz4_frame
                                       : State::raw;
}

void Decoder::produce_raw() {
  // Buffered input first (the bytes read to detect the format), then straight into out_.
  const std::size_t want = std::max(kReadChunk, in_avail());
  out_.grow(out_end_ + want);
  if (in_avail() > 0) {
    const std::size_t n = in_avail();
    std::memcpy(out_.data() + out_end_, in_.data() + in_pos_, n);
    out_end_ += n;
    in_pos_ += n;
    return;
  }
  if (eof_) {
    state_ = State::done;
    return;
  }
  // Reuse fill_input's source handling through in_ when the source is memory (tests only).
  if (!fill_input()) return;
  if (in_avail() == 0 && eof_) state_ = State::done;
}

bool Decoder::gz_fast_member() {
  using namespace gzip_member;
  const std::uint8_t* h = in_.data() + in_pos_;
  bool last = false;
  if (!is_our_header(h, &last)) return false;
  const std::size_t total = get_u32(h + 16), isize = get_u32(h + 20);
  if (total < kHeaderSize + kTrailerSize || total > kMaxHintedTotal || isize > kMaxHintedContent)
    return false;
  if (!ensure_input(total)) return true;  // failed (recorded)
  if (in_avail() < total) return false;   // cut short: the streaming decoder says where
  h = in_.data() + in_pos_;
  out_.grow(out_end_ + isize);
  if (!dd_ && !(dd_ = libdeflate_alloc_decompressor())) throw std::bad_alloc();
  const std::size_t deflate_size = total - kHeaderSize - kTrailerSize;
  std::size_t used = 0, got = 0;
  std::uint8_t* dst = out_.data() + out_end_;
  const auto r =
      libdeflate_deflate_decompress_ex(dd_, h + kHeaderSize, deflate_size, dst, isize, &used, &got);
  const std::uint8_t* trailer = h + total - kTrailerSize;
  const char* what = nullptr;
  if (r != LIBDEFLATE_SUCCESS && r != LIBDEFLATE_SHORT_OUTPUT)
    what = "invalid deflate data";
  else if (used != deflate_size || got != isize)
    what = "its deflate data do not match the sizes in its header";
  else if (get_u32(trailer + 4) != static_cast<std::uint32_t>(isize))
    what = "ISIZE mismatch";
  else if (get_u32(trailer) != libdeflate_crc32(0, dst, isize))
    what = "CRC-32 mismatch";
  if (what) {
    fail(
        FaultKind::gzip,
        std::string("corrupt gzip member at file byte ") + std::to_string(file_pos()) + ": " + what,
        file_pos());
    return true;
  }
  if (isize % align_ != 0) {
    fail(FaultKind::gzip,
         format("damaged gzip member at file byte %llu: it holds %llu bytes, not a whole number "
                "of %llu-byte records",
                file_pos(), isize, align_),
         file_pos());
    return true;
  }
  out_end_ += isize;
  in_pos_ += total;
  open_tail_ = !last;
  after_member_ = true;
  return true;
}

void Decoder::gz_start_member() {
  for (;;) {  // zero padding after a member, as Python's gzip allows
    if (after_member_)
      while (in_pos_ < in_end_ && in_.data()[in_pos_] == 0) ++in_pos_;
    if (in_avail() > 0) break;
    if (eof_) {
      end_of_stream();
      return;
    }
    if (!fill_input()) return;
  }
  block_start_ = file_pos();
  block_out_ = 0;
  if (!ensure_input(gzip_member::kHeaderSize)) return;
  const std::uint8_t* h = in_.data() + in_pos_;
  if (in_avail() < 2 || h[0] != 0x1f || h[1] != 0x8b) {
    if (in_avail() == 1 && h[0] == 0x1f)
      fail(FaultKind::gzip,
           format("truncated gzip stream: the file ends inside a member header at byte %llu",
                  file_pos()),
           file_pos());
    else if (!after_member_)
      fail(FaultKind::gzip, "not a gzip stream (no magic bytes 1f 8b)", file_pos());
    else
      fail(FaultKind::gzip,
           format("junk after a gzip member: byte %llu is neither a gzip member header nor "
                  "zero padding",
                  file_pos()),
           file_pos());
    return;
  }
  if (in_avail() >= gzip_member::kHeaderSize && gz_fast_member()) return;
  if (state_ == State::failed) return;
  if (!gz_skip_header()) return;
  if (!isal_) isal_.reset(new inflate_state);
  isal_inflate_init(isal_.get());
  // Raw deflate data, then the trailer: ISA-L checks its CRC-32 and ISIZE.
  isal_->crc_flag = ISAL_GZIP_NO_HDR_VER;
  open_tail_ = false;
  state_ = State::gz_stream;
}

// The header of the member at in_pos_ (RFC 1952), checked as zlib checks it (deflate method, no
// reserved flags, the header CRC when FHCRC is set) and skipped. false: failed (recorded).
// Parsed here rather than by ISA-L, whose streaming parser forgets the header's flags when the
// header is split between two of its calls (ISA-L 2.30: FCOMMENT and FHCRC would be skipped
// after a split name).
bool Decoder::gz_skip_header() {
  constexpr std::uint8_t kHcrc = 2, kExtra = 4, kName = 8, kComment = 16, kReserved = 0xE0;
  constexpr std::size_t kMaxText = std::size_t{1} << 20;  // a name or comment field
  const std::uint64_t at = file_pos();
  const auto truncated = [&] {
    fail(FaultKind::gzip,
         format("truncated gzip stream: the file ends inside the header of the member at file "
                "byte %llu",
                at),
         at);
    return false;
  };
  const auto corrupt = [&](const char* why) {
    fail(FaultKind::gzip, format("corrupt gzip stream in the member at file byte %llu: ", at) + why,
         at);
    return false;
  };
  // Makes n header bytes available (in_ may move: h is set again).
  const std::uint8_t* h = nullptr;
  const auto need = [&](std::size_t n) {
    if (!ensure_input(n)) return false;
    h = in_.data() + in_pos_;
    return in_avail() >= n || truncated();
  };
  if (!need(10)) return false;
  const std::uint8_t flags = h[3];
  if (h[2] != 8) return corrupt("unknown compression method");
  if (flags & kReserved) return corrupt("unknown header flags set");
  std::size_t n = 10;
  if (flags & kExtra) {
    if (!need(n + 2)) return false;
    n += 2 + (h[n] | std::size_t{h[n + 1]} << 8);
    if (!need(n)) return false;
  }
  for (const std::uint8_t field : {kName, kComment}) {
    if (!(flags & field)) continue;
    const std::size_t start = n;
    for (;;) {  // up to its terminating zero byte
      if (!need(n + 1)) return false;
      const void* z = std::memchr(h + n, 0, in_avail() - n);
      if (z) {
        n = static_cast<std::size_t>(static_cast<const std::uint8_t*>(z) - h) + 1;
        break;
      }
      n = in_avail();
      if (n - start > kMaxText) return corrupt("a header name or comment longer than 1 MiB");
    }
  }
  if (flags & kHcrc) {
    if (!need(n + 2)) return false;
    if ((libdeflate_crc32(0, h, n) & 0xFFFF) != (h[n] | unsigned{h[n + 1]} << 8))
      return corrupt("header crc mismatch");
    n += 2;
  }
  in_pos_ += n;
  return true;
}

void Decoder::gz_inflate_some() {
  // ISA-L copies the last 32 KiB of each call's output aside (the deflate window): large calls
  // make that copy small.
  out_.grow(out_end_ + kInflateChunk);
  inflate_state& st = *isal_;
  for (;;) {
    if (in_avail() == 0 && !eof_) {
      if (!fill_input()) return;
      continue;
    }
    st.next_in = in_.data() + in_pos_;
    st.avail_in = static_cast<std::uint32_t>(std::min<std::size_t>(in_avail(), 1u << 30));
    st.next_out = out_.data() + out_end_;
    st.avail_out =
        static_cast<std::uint32_t>(std::min<std::size_t>(out_.size() - out_end_, 1u << 30));
    const std::uint32_t in_before = st.avail_in, out_before = st.avail_out;
    const int r = isal_inflate(&st);
    const std::size_t consumed = in_before - st.avail_in, produced = out_before - st.avail_out;
    in_pos_ += consumed;
    out_end_ += produced;
    block_out_ += produced;
    if (r < 0) {
      const char* why = r == ISAL_INVALID_BLOCK        ? "invalid deflate block"
                        : r == ISAL_INVALID_SYMBOL     ? "invalid deflate code"
                        : r == ISAL_INVALID_LOOKBACK   ? "invalid distance too far back"
                        : r == ISAL_INCORRECT_CHECKSUM ? "CRC-32 or length (ISIZE) mismatch"
                                                       : "invalid deflate data";
      fail(FaultKind::gzip,
           format("corrupt gzip stream in the member at file byte %llu: ", block_start_) + why,
           block_start_);
      return;
    }
    if (st.block_state == ISAL_BLOCK_FINISH) {  // the trailer is checked too
      state_ = State::gz_member;
      after_member_ = true;
      return;
    }
    if (produced > 0) return;
    if (in_avail() == 0) {  // and the end of the file: ISA-L has all there is
      fail(FaultKind::gzip,
           format("truncated gzip stream: the member at file byte %llu ends early, at byte %llu",
                  block_start_, file_pos()),
           block_start_);
      return;
    }
    if (consumed == 0) {  // cannot happen: ISA-L takes input while it has room for output
      fail(FaultKind::gzip, "gzip decoder made no progress", block_start_);
      return;
    }
  }
}

void Decoder::lz4_start_frame() {
  bool hint = false, hint_last = false;
  std::uint32_t hint_frame = 0, hint_content = 0;
  std::uint64_t hint_at = 0;
  for (;;) {
    while (lz4_skip_ > 0) {
      if (in_avail() == 0) {
        if (eof_) {
          fail(FaultKind::lz4,
               format("truncated lz4 stream: the file ends inside a skippable frame, at byte %llu",
                      file_pos()),
               file_pos());
          return;
        }
        if (!fill_input()) return;
        continue;
      }
      const std::size_t n = std::min<std::uint64_t>(lz4_skip_, in_avail());
      in_pos_ += n;
      lz4_skip_ -= n;
    }
    if (in_avail() == 0 && !fill_input()) return;
    if (in_avail() == 0 && eof_) {
      if (hint) {
        fail(FaultKind::lz4,
             format("truncated lz4 stream: the file ends after the block hint at byte %llu",
                    hint_at),
             hint_at);
        return;
      }
      end_of_stream();
      return;
    }
    if (!ensure_input(kLz4HintSize)) return;
    const std::uint8_t* p = in_.data() + in_pos_;
    if (in_avail() < 4) {
      fail(FaultKind::lz4,
           format("truncated lz4 stream: the file ends inside a frame header at byte %llu",
                  file_pos()),
           file_pos());
      return;
    }
    const std::uint32_t magic = le32(p);
    if (magic == kLz4FrameMagic) break;
    if (!is_skippable(magic) || hint) {
      fail(FaultKind::lz4,
           hint ? format("damaged lz4 stream: the block hint at byte %llu is not followed by a "
                         "frame",
                         hint_at)
           : after_member_ || file_pos() > 0
               ? format("junk after an lz4 frame: byte %llu starts neither a frame nor a "
                        "skippable frame",
                        file_pos())
               : std::string("not an lz4 frame stream (unknown magic number)"),
           file_pos());
      return;
    }
    if (in_avail() < 8) {
      fail(FaultKind::lz4,
           format("truncated lz4 stream: the file ends inside a skippable frame at byte %llu",
                  file_pos()),
           file_pos());
      return;
    }
    if (in_avail() >= kLz4HintSize && parse_lz4_hint(p, &hint_last, &hint_frame, &hint_content)) {
      hint = true;
      hint_at = file_pos();
      in_pos_ += kLz4HintSize;
      continue;
    }
    lz4_skip_ = le32(p + 4);
    in_pos_ += 8;
    after_member_ = true;
  }
  block_start_ = file_pos();
  block_out_ = 0;
  lz4_hinted_ = hint;
  lz4_hint_last_ = hint_last;
  lz4_hint_frame_ = hint_frame;
  lz4_hint_content_ = hint_content;
  if (!lz4_) {
    if (LZ4F_isError(LZ4F_createDecompressionContext(&lz4_, LZ4F_VERSION))) {
      lz4_ = nullptr;
      throw std::bad_alloc();
    }
  }
  state_ = State::lz4_data;
}

void Decoder::lz4_decode_some() {
  std::size_t room = kDecodeChunk;
  if (lz4_hinted_ && lz4_hint_content_ <= kMaxHintedContent)
    room = std::max<std::size_t>(
        room, lz4_hint_content_ - std::min<std::uint64_t>(block_out_, lz4_hint_content_));
  out_.grow(out_end_ + room);
  for (;;) {
    if (in_avail() == 0) {
      if (eof_) {
        fail(FaultKind::lz4,
             format("truncated lz4 stream: the frame at file byte %llu ends early, at byte %llu",
                    block_start_, file_pos()),
             block_start_);
        return;
      }
      if (!fill_input()) return;
      continue;
    }
    std::size_t dst_size = out_.size() - out_end_, src_size = in_avail();
    const std::size_t r = LZ4F_decompress(lz4_, out_.data() + out_end_, &dst_size,
                                          in_.data() + in_pos_, &src_size, nullptr);
    in_pos_ += src_size;
    out_end_ += dst_size;
    block_out_ += dst_size;
    if (LZ4F_isError(r)) {
      LZ4F_resetDecompressionContext(lz4_);
      fail(FaultKind::lz4,
           format("corrupt lz4 frame at file byte %llu: ", block_start_) + LZ4F_getErrorName(r),
           block_start_);
      return;
    }
    if (r == 0) {  // the frame is complete (and its checksums verified)
      if (lz4_hinted_) {
        const char* what = nullptr;
        if (file_pos() - block_start_ != lz4_hint_frame_ || block_out_ != lz4_hint_content_)
          what = "its sizes differ from those in its hint";
        else if (block_out_ % align_ != 0)
          what = "it does not hold a whole number of records";
        if (what) {
          fail(FaultKind::lz4,
               std::string("damaged lz4 frame at file byte ") + std::to_string(block_start_) +
                   ": " + what,
               block_start_);
          return;
        }
        open_tail_ = !lz4_hint_last_;
      } else {
        open_tail_ = false;
      }
      after_member_ = true;
      state_ = State::lz4_frame;
      return;
    }
    if (dst_size > 0) return;
    if (src_size == 0 && in_avail() > 0) {  // cannot happen: LZ4F takes any input it is given
      fail(FaultKind::lz4, "lz4 decoder made no progress", block_start_);
      return;
    }
  }
}

void Decoder::produce() {
  if (out_pos_ > 0) {  // keep only the undelivered partial record
    const std::size_t keep = out_end_ - out_pos_;
    std::memmove(out_.data(), out_.data() + out_pos_, keep);
    out_end_ = keep;
    out_pos_ = 0;
  }
  switch (state_) {
    case State::detect:
      detect();
      break;
    case State::raw:
      produce_raw();
      break;
    case State::gz_member:
      gz_start_member();
      break;
    case State::gz_stream:
      gz_inflate_some();
      break;
    case State::lz4_frame:
      lz4_start_frame();
      break;
    case State::lz4_data:
      lz4_decode_some();
      break;
    case State::done:
    case State::failed:
      break;
  }
}

int Decoder::next(const std::uint8_t** data, std::size_t* size) noexcept {
  try {
    for (;;) {
      if (state_ == State::failed) return -1;
      const std::size_t avail = out_end_ - out_pos_;
      const std::size_t whole = avail - avail % align_;
      if (whole > 0) {
        *data = out_.data() + out_pos_;
        *size = whole;
        out_pos_ += whole;
        delivered_ += whole;
        return 1;
      }
      if (state_ == State::done) {
        if (avail == 0) return 0;
        fail(FaultKind::truncated,
             format("truncated record: the stream ends %llu bytes into a %llu-byte record at ",
                    avail, align_) +
                 where_uncompressed(delivered_),
             block_start_);
        err_.offset = (base_ == kUnknownBase ? 0 : base_) + delivered_;
        return -1;
      }
      if (fd_ < 0 && mem_ == nullptr) {
        fail(FaultKind::os, "the stream is not open", 0);
        err_.sys_errno = EBADF;
        return -1;
      }
      produce();
    }
  } catch (const std::bad_alloc&) {
    err_.kind = FaultKind::os;
    err_.sys_errno = ENOMEM;
    err_.reason.clear();
    state_ = State::failed;
    return -1;
  }
}

std::ptrdiff_t Decoder::read_raw(std::uint8_t* dst, std::size_t cap) noexcept {
  try {
    if (state_ == State::detect) {
      if (fd_ < 0 && mem_ == nullptr) {
        fail(FaultKind::os, "the stream is not open", 0);
        err_.sys_errno = EBADF;
        return -1;
      }
      detect();
    }
    if (state_ == State::failed) return -1;
    if (comp_ != Compression::none) return kCompressed;
    if (cap == 0) return 0;
    std::size_t n = 0;
    if (out_end_ > out_pos_) {  // bytes produce_raw() buffered for next()
      n = std::min(cap, out_end_ - out_pos_);
      std::memcpy(dst, out_.data() + out_pos_, n);
      out_pos_ += n;
    } else if (in_avail() > 0) {  // the bytes read to detect the format
      n = std::min(cap, in_avail());
      std::memcpy(dst, in_.data() + in_pos_, n);
      in_pos_ += n;
    } else if (state_ == State::done || eof_) {
      state_ = State::done;
      return 0;
    } else if (mem_ != nullptr) {
      n = std::min<std::uint64_t>(cap, mem_size_ - src_pos_);
      if (n) std::memcpy(dst, mem_ + src_pos_, n);
      src_pos_ += n;
      if (n == 0) eof_ = true;
    } else {
      // Nothing is buffered: keep in_ empty at the stream's position for file_pos().
      in_pos_ = in_end_ = 0;
      in_file_off_ = src_pos_;
      for (;;) {
        ssize_t r;
        if (use_pread_) {
          const std::size_t want = std::min<std::uint64_t>(cap, src_end_ - src_pos_);
          r = want ? ::pread(fd_, dst, want, static_cast<off_t>(src_pos_)) : 0;
        } else {
          r = ::read(fd_, dst, cap);
        }
        if (r < 0) {
          if (errno == EINTR) continue;
          const int e = errno;
          fail(FaultKind::os, std::strerror(e), file_pos());
          err_.sys_errno = e;
          return -1;
        }
        n = static_cast<std::size_t>(r);
        src_pos_ += n;
        in_file_off_ = src_pos_;
        if (n == 0) eof_ = true;
        break;
      }
    }
    if (n == 0) {
      state_ = State::done;
      return 0;
    }
    delivered_ += n;
    return static_cast<std::ptrdiff_t>(n);
  } catch (const std::bad_alloc&) {
    err_.kind = FaultKind::os;
    err_.sys_errno = ENOMEM;
    err_.reason.clear();
    state_ = State::failed;
    return -1;
  }
}

}  // namespace records_detail

// ---------------------------------------------------------------------------------------------
// ByteStream

struct ByteStream::Impl {
  records_detail::Decoder dec;
  const std::uint8_t* pending = nullptr;  // decoded bytes not yet copied out
  std::size_t pending_size = 0;
  std::uint64_t copied = 0;
  std::size_t align;
  explicit Impl(std::size_t a) : dec(a), align(a ? a : 1) {}
};

ByteStream::ByteStream(std::size_t align) : impl_(new Impl(align)) {}
ByteStream::~ByteStream() = default;

int ByteStream::open_file(const char* path) noexcept {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return EISDIR;
  }
  impl_->dec.start_fd(fd, true);
  impl_->pending_size = 0;
  impl_->copied = 0;
  return 0;
}

void ByteStream::open_memory(const std::uint8_t* data, std::size_t size) noexcept {
  impl_->dec.start_memory(data, size);
  impl_->pending_size = 0;
  impl_->copied = 0;
}

std::ptrdiff_t ByteStream::read(std::uint8_t* dst, std::size_t cap) noexcept {
  Impl& s = *impl_;
  std::size_t done = 0;
  while (done < cap) {
    if (s.pending_size == 0) {
      if (done > 0) break;  // return what we have rather than block on more
      const int r = s.dec.next(&s.pending, &s.pending_size);
      if (r < 0) return -1;
      if (r == 0) break;
    }
    // Whole multiples of the alignment only (pending_size is one): the rest stays pending.
    std::size_t n = std::min(cap - done, s.pending_size);
    n -= n % s.align;
    if (n == 0) break;
    std::memcpy(dst + done, s.pending, n);
    s.pending += n;
    s.pending_size -= n;
    done += n;
  }
  s.copied += done;
  return static_cast<std::ptrdiff_t>(done);
}

Compression ByteStream::compression() const noexcept { return impl_->dec.compression(); }
const RecordsFault& ByteStream::error() const noexcept { return impl_->dec.fault(); }
std::uint64_t ByteStream::decoded() const noexcept { return impl_->copied; }

}  // namespace hotloop
