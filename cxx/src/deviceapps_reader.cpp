// DeviceAppsReader: gzip members in, records out, with bounded memory and errors that say where.
//
// No record leaves a gzip member before the member's CRC-32 and ISIZE were checked (up to the
// member limit): a damaged member yields nothing, only the error, so a flipped bit can never
// surface as a wrong record. Members written by DeviceAppsWriter announce their sizes in an 'HL'
// header subfield: such a member is read whole and inflated by libdeflate in one call, then
// checked. Every other member, and one of ours that fails any check, is inflated by zlib into the
// output buffer whole, and its records are released when zlib has checked its trailer. A member
// that inflates to more than the limit (only other writers make one) cannot be held: from there
// on its records are released as they are inflated, before its trailer is checked.
// Between members, zero bytes are skipped (as Python's gzip does); anything else is an error.
//
// Buffers: `in` holds compressed bytes (a read chunk, or one whole trusted member), `out` the
// inflated bytes not yet returned: out[out_pos, out_ok) is checked and may be returned,
// out[out_ok, out_end) belongs to the member being inflated (at most one partial record plus one
// member, or one chunk past the limit).
//
// Input that may stall (a pipe, a FIFO, a terminal, a socket) is polled with a timeout, so that
// next() comes back to its caller at least every kPollMs to let it check for signals.
#include <fcntl.h>
#include <libdeflate.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "deviceapps_gzip.hpp"
#include "hotloop/deviceapps.hpp"

namespace hotloop {
namespace {

constexpr std::size_t kReadChunk = std::size_t{256} << 10;     // bytes per read()
constexpr std::size_t kInflateChunk = std::size_t{256} << 10;  // zlib output per step
constexpr int kPollMs = 100;                                   // see the top of the file

// A trusted member's compressed size may exceed its uncompressed size only by deflate's
// stored-block overhead (5 bytes per 64 KiB) plus header and trailer.
constexpr std::size_t max_member_total(std::size_t isize) noexcept {
  return isize + isize / 1024 + 4096;
}

// A growable array whose new elements are left uninitialized (std::vector would zero them, and
// so touch every page of a buffer that a small file never fills).
template <class T>
class RawBuffer {
 public:
  T* data() noexcept { return p_.get(); }
  std::size_t size() const noexcept { return n_; }
  // Grows to at least n elements, keeping the content. May throw std::bad_alloc.
  void grow(std::size_t n) {
    if (n <= n_) return;
    std::unique_ptr<T[]> q(new T[n]);
    if (n_) std::memcpy(q.get(), p_.get(), n_ * sizeof(T));
    p_ = std::move(q);
    n_ = n;
  }
  void release() noexcept {
    p_.reset();
    n_ = 0;
  }

 private:
  std::unique_ptr<T[]> p_;
  std::size_t n_ = 0;
};

std::string format(const char* fmt, unsigned long long a, unsigned long long b = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, fmt, a, b);
  return buf;
}

}  // namespace

struct DeviceAppsReader::Impl {
  enum class State { between, zlib_member, done, broken, failed, ended };

  int fd = -1;
  bool pollable = false;  // fd may stall: poll it with a timeout
  bool stalled = false;   // fill_input() found no input within kPollMs, or a signal came
  const std::uint8_t* mem = nullptr;  // open_buffer(): the input in memory, instead of fd
  std::size_t mem_size = 0, mem_pos = 0;
  std::size_t member_limit = kDefaultMemberLimit;
  State state = State::between;

  RawBuffer<std::uint8_t> in;
  std::size_t in_pos = 0, in_end = 0;
  std::uint64_t in_file_off = 0;  // file offset of in[0]
  bool eof = false;
  bool any_member = false;
  bool open_tail = false;  // the last member begun was ours ('HL'), not the writer's last ('HE')
  // open_range(): file bytes left before the range's end, and whether that end is before the
  // file's (then the range may end after any member, not only the writer's last).
  std::uint64_t read_left = UINT64_MAX;
  bool range_cut = false;
  std::uint64_t member_start = 0;

  RawBuffer<std::uint8_t> out;
  std::size_t out_pos = 0, out_ok = 0, out_end = 0;
  std::uint64_t out_base = 0;          // uncompressed offset of out[0]
  std::uint64_t member_out_start = 0;  // uncompressed offset of the zlib member's first byte
  bool member_streams = false;         // the zlib member passed the limit: released unchecked

  z_stream zs{};
  bool zs_ready = false;
  libdeflate_decompressor* dd = nullptr;

  std::uint64_t index = 0;
  RawBuffer<std::uint32_t> apps;  // decoded app ids: one per byte of the message at most
  ReadError err;                  // the pending (broken) or final (failed) error

  Impl() {
    in.grow(kReadChunk);
    out.grow(kInflateChunk);
  }

  ~Impl() {
    if (zs_ready) inflateEnd(&zs);
    if (dd) libdeflate_free_decompressor(dd);
    if (fd >= 0) ::close(fd);
  }

  std::size_t in_avail() const noexcept { return in_end - in_pos; }
  bool is_open() const noexcept { return fd >= 0 || mem != nullptr; }

  // Records an error found while inflating or reading; next() reports it once the records
  // already inflated have been returned.
  void breaks(ReadErrorKind kind, std::string message, int sys_errno = 0) {
    err.kind = kind;
    err.message = std::move(message);
    err.sys_errno = sys_errno;
    err.file_offset = member_start;
    state = State::broken;
  }

  // The error is final: it is about the record at the current position.
  ReadStatus fail_here() noexcept {
    err.record_index = index;
    err.offset = out_base + out_pos;
    state = State::failed;
    return ReadStatus::error;
  }

  ReadStatus fail_now(ReadErrorKind kind, std::string message) noexcept {
    err.kind = kind;
    err.message = std::move(message);
    err.sys_errno = 0;
    err.file_offset = member_start;
    return fail_here();
  }

  // Reads more input after what is buffered. Returns false on a read error (recorded).
  bool fill_input() {
    if (in_pos > 0) {
      std::memmove(in.data(), in.data() + in_pos, in_avail());
      in_file_off += in_pos;
      in_end -= in_pos;
      in_pos = 0;
    }
    if (in_end == in.size()) return true;
    if (read_left == 0) {  // the end of a range is the end of the input
      eof = true;
      return true;
    }
    if (mem) {
      const std::size_t n = std::min(in.size() - in_end, mem_size - mem_pos);
      if (n) std::memcpy(in.data() + in_end, mem + mem_pos, n);
      mem_pos += n;
      in_end += n;
      if (n == 0) eof = true;
      return true;
    }
    if (pollable) {
      pollfd p{fd, POLLIN, 0};
      const int r = ::poll(&p, 1, kPollMs);
      if (r == 0 || (r < 0 && errno == EINTR)) {
        stalled = true;
        return false;
      }
      // Errors and POLLHUP/POLLERR fall through to read(), which reports them or returns 0.
    }
    for (;;) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(in.size() - in_end, read_left));
      const ssize_t r = ::read(fd, in.data() + in_end, want);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) {  // back to the caller, to check for signals
          stalled = true;
          return false;
        }
        const int e = errno;
        breaks(ReadErrorKind::os, std::strerror(e), e);
        return false;
      }
      if (r == 0) eof = true;
      in_end += static_cast<std::size_t>(r);
      if (read_left != UINT64_MAX) read_left -= static_cast<std::uint64_t>(r);
      return true;
    }
  }

  // Buffers at least n bytes of input (fewer only at the end of the file).
  bool ensure_input(std::size_t n) {
    in.grow(n);
    while (in_avail() < n && !eof) {
      if (!fill_input()) return false;
    }
    return true;
  }

  // Room for n more bytes. Grows geometrically (a zlib member is inflated a chunk at a time
  // into a buffer that must hold all of it), but not far past what the member limit needs.
  void reserve_out(std::size_t n) {
    const std::size_t need = out_end + n;
    if (need <= out.size()) return;
    const std::size_t cap = member_limit + kRecordHeaderSize + kMaxMessageSize + kInflateChunk;
    out.grow(std::max(need, std::min(out.size() * 2, cap)));
  }

  // A member with our 'HL' subfield, inflated in one call. false: not one, or it fails a check
  // (then the zlib path reads it and says what is wrong).
  bool fast_member() {
    using namespace gzip_member;
    if (in_avail() < kHeaderSize) return false;
    const std::uint8_t* h = in.data() + in_pos;
    bool last;
    if (!is_our_header(h, &last)) return false;
    const std::size_t total = get_u32(h + 16), isize = get_u32(h + 20);
    if (total < kHeaderSize + kTrailerSize || isize > member_limit ||
        total > max_member_total(member_limit))
      return false;
    if (!ensure_input(total) || in_avail() < total) return false;
    h = in.data() + in_pos;
    reserve_out(isize);
    if (!dd && !(dd = libdeflate_alloc_decompressor())) throw std::bad_alloc();
    const std::size_t deflate_size = total - kHeaderSize - kTrailerSize;
    std::size_t used = 0, got = 0;
    std::uint8_t* dst = out.data() + out_end;
    const auto r = libdeflate_deflate_decompress_ex(dd, h + kHeaderSize, deflate_size, dst, isize,
                                                    &used, &got);
    const std::uint8_t* trailer = h + total - kTrailerSize;
    if (r != LIBDEFLATE_SUCCESS || used != deflate_size || got != isize ||
        get_u32(trailer + 4) != static_cast<std::uint32_t>(isize) ||
        get_u32(trailer) != libdeflate_crc32(0, dst, isize))
      return false;
    out_end += isize;
    out_ok = out_end;
    in_pos += total;
    any_member = true;
    return true;
  }

  // Inflates the current zlib member: all of it (then its records are released), or, once it
  // is past the member limit, a chunk at a time. Returns early when the input stalls.
  void inflate_some() {
    for (;;) {
      reserve_out(kInflateChunk);
      if (in_avail() == 0) {
        if (eof) {
          breaks(ReadErrorKind::gzip,
                 format("truncated gzip stream: the member starting at file byte %llu ends "
                        "early, at byte %llu",
                        member_start, in_file_off + in_pos));
          return;
        }
        if (!fill_input()) return;
        continue;
      }
      zs.next_in = in.data() + in_pos;
      zs.avail_in = static_cast<uInt>(in_avail());
      zs.next_out = out.data() + out_end;
      zs.avail_out = static_cast<uInt>(out.size() - out_end);
      const uInt in_before = zs.avail_in, out_before = zs.avail_out;
      const int r = inflate(&zs, Z_NO_FLUSH);
      const std::size_t consumed = in_before - zs.avail_in, produced = out_before - zs.avail_out;
      in_pos += consumed;
      out_end += produced;
      if (r == Z_STREAM_END) {  // zlib has checked the CRC-32 and ISIZE
        out_ok = out_end;
        state = State::between;
        any_member = true;
        member_streams = false;
        return;
      }
      if (r == Z_OK || (r == Z_BUF_ERROR && zs.avail_in == 0)) {
        if (!member_streams && out_base + out_end - member_out_start > member_limit)
          member_streams = true;
        if (member_streams && produced > 0) {
          out_ok = out_end;
          return;
        }
        continue;
      }
      if (r == Z_MEM_ERROR) throw std::bad_alloc();
      breaks(ReadErrorKind::gzip,
             format("corrupt gzip stream in the member starting at file byte %llu", member_start) +
                 ": " + (zs.msg ? zs.msg : "invalid data"));
      return;
    }
  }

  // Starts the next member, or finds the end of the stream.
  void start_member() {
    for (;;) {  // zero padding after a member, as Python's gzip allows
      if (any_member)
        while (in_pos < in_end && in.data()[in_pos] == 0) ++in_pos;
      if (in_avail() > 0) break;
      if (eof) {
        if (open_tail && !range_cut) {
          member_start = in_file_off + in_pos;
          breaks(ReadErrorKind::gzip,
                 format("truncated gzip stream: the file ends at byte %llu, after a member of "
                        "hotloop's writer that is not its last one (the file was cut between "
                        "two members)",
                        member_start));
          return;
        }
        state = State::done;
        return;
      }
      if (!fill_input()) return;
    }
    member_start = in_file_off + in_pos;
    if (!ensure_input(2)) return;
    const std::uint8_t* h = in.data() + in_pos;
    if (in_avail() < 2 || h[0] != 0x1f || h[1] != 0x8b) {
      if (in_avail() == 1 && h[0] == 0x1f) {
        breaks(ReadErrorKind::gzip,
               format("truncated gzip stream: the file ends inside a member header at byte %llu",
                      member_start));
      } else if (!any_member && member_start == 0) {
        breaks(ReadErrorKind::gzip, "not a gzip file (no gzip magic bytes 1f 8b at its start)");
      } else if (!any_member) {
        breaks(ReadErrorKind::gzip,
               format("no gzip member starts at file byte %llu, where the range begins",
                      member_start));
      } else {
        breaks(ReadErrorKind::gzip,
               format("junk after the last gzip member: byte %llu is neither a gzip member "
                      "header nor zero padding",
                      member_start));
      }
      return;
    }
    if (!ensure_input(gzip_member::kHeaderSize)) return;
    bool last = false;
    open_tail = in_avail() >= gzip_member::kHeaderSize &&
                gzip_member::is_our_header(in.data() + in_pos, &last) && !last;
    if (fast_member()) return;
    if (state == State::broken || stalled) return;  // a read error, or no input yet
    if (!zs_ready) {
      if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
      zs_ready = true;
    } else {
      inflateReset(&zs);
    }
    member_out_start = out_base + out_end;
    member_streams = false;
    state = State::zlib_member;
  }

  ReadStatus next(RecordView* rec, bool may_block);

  // Makes more inflated bytes available (or moves to done/broken).
  void produce() {
    if (out_pos > 0) {  // keep only the unread partial record and the unchecked bytes
      const std::size_t keep = out_end - out_pos;
      std::memmove(out.data(), out.data() + out_pos, keep);
      out_base += out_pos;
      out_ok -= out_pos;
      out_end = keep;
      out_pos = 0;
    }
    if (state == State::between) start_member();
    if (state == State::zlib_member) inflate_some();
  }
};

DeviceAppsReader::DeviceAppsReader() : impl_(new Impl()) {}
DeviceAppsReader::~DeviceAppsReader() = default;

int DeviceAppsReader::open(const char* path) noexcept {
  Impl& s = *impl_;
  if (s.is_open()) return EBUSY;
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return e;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return EISDIR;
  }
  s.fd = fd;
  s.pollable = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
  return 0;
}

int DeviceAppsReader::open_buffer(const std::uint8_t* data, std::size_t size) noexcept {
  Impl& s = *impl_;
  if (s.is_open()) return EBUSY;
  static const std::uint8_t empty = 0;
  s.mem = size ? data : &empty;
  s.mem_size = size;
  s.mem_pos = 0;
  return 0;
}

namespace {

// Opens path (read) for reading out of order: *fd and *st on success (0), else an errno value
// and nothing left open: EISDIR, or ESPIPE for anything but a regular file (or a block device
// when block_ok): a pipe or socket cannot start anywhere but where it is. O_NONBLOCK so that a
// FIFO is refused instead of waiting in open() for a writer; regular files and block devices
// ignore it.
int open_seekable(const char* path, bool block_ok, int* fd, struct stat* st) noexcept {
  *fd = ::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (*fd < 0) return errno;
  int e = 0;
  if (::fstat(*fd, st) != 0) {
    e = errno;
  } else if (S_ISDIR(st->st_mode)) {
    e = EISDIR;
  } else if (!S_ISREG(st->st_mode) && !(block_ok && S_ISBLK(st->st_mode))) {
    e = ESPIPE;
  }
  if (e) {
    ::close(*fd);
    *fd = -1;
  }
  return e;
}

}  // namespace

int DeviceAppsReader::open_range(const char* path, std::uint64_t begin, std::uint64_t end,
                                 std::uint64_t uncompressed_begin) noexcept {
  Impl& s = *impl_;
  if (s.is_open()) return EBUSY;
  if (begin > end) return EINVAL;
  int fd = -1;
  struct stat st;
  int e = open_seekable(path, true, &fd, &st);
  if (e) return e;
  if (begin > static_cast<std::uint64_t>(INT64_MAX) ||
      ::lseek(fd, static_cast<off_t>(begin), SEEK_SET) < 0) {
    e = begin > static_cast<std::uint64_t>(INT64_MAX) ? EINVAL : errno;
    ::close(fd);
    return e;
  }
  s.fd = fd;
  s.pollable = false;
  s.in_file_off = begin;
  s.read_left = end - begin;
  // A block device's st_size is 0: only a regular file's end is known.
  s.range_cut = S_ISREG(st.st_mode) && end < static_cast<std::uint64_t>(st.st_size);
  s.out_base = uncompressed_begin;
  return 0;
}

int DeviceAppsReader::open_buffer_range(const std::uint8_t* data, std::size_t size,
                                        std::uint64_t begin, std::uint64_t end,
                                        std::uint64_t uncompressed_begin) noexcept {
  Impl& s = *impl_;
  if (s.is_open()) return EBUSY;
  if (begin > end || end > size) return EINVAL;
  const int r = open_buffer(data, static_cast<std::size_t>(end));
  if (r) return r;
  s.mem_pos = static_cast<std::size_t>(begin);
  s.in_file_off = begin;
  s.range_cut = end < size;
  s.out_base = uncompressed_begin;
  return 0;
}

void DeviceAppsReader::set_member_limit(std::size_t bytes) noexcept {
  impl_->member_limit = std::clamp<std::size_t>(bytes, 1, kMaxMemberLimit);
}

ReadStatus DeviceAppsReader::next(RecordView* rec, bool may_block) noexcept {
  Impl& s = *impl_;
  try {
    return s.next(rec, may_block);
  } catch (const std::bad_alloc&) {
    s.err.kind = ReadErrorKind::os;
    s.err.sys_errno = ENOMEM;
    s.err.message.clear();
    return s.fail_here();
  }
}

ReadStatus DeviceAppsReader::Impl::next(RecordView* rec, bool may_block) {
  Impl& s = *this;
  for (;;) {
    if (s.state == State::failed) return ReadStatus::error;
    if (s.state == State::ended) return ReadStatus::end;
    const std::size_t avail = s.out_ok - s.out_pos;
    if (avail >= kRecordHeaderSize) {
      const std::uint8_t* h = s.out.data() + s.out_pos;
      const std::uint32_t magic = gzip_member::get_u32(h);
      if (magic != kDeviceAppsMagic)
        return s.fail_now(ReadErrorKind::framing,
                          format("bad record magic 0x%08llX (expected 0xFFFFFFFF)", magic));
      const std::uint32_t size = static_cast<std::uint32_t>(h[6]) | (h[7] << 8);
      if (avail >= kRecordHeaderSize + size) {
        rec->type = static_cast<std::uint16_t>(h[4] | (h[5] << 8));
        rec->size = size;
        rec->data = h + kRecordHeaderSize;
        rec->index = s.index++;
        rec->offset = s.out_base + s.out_pos;
        s.out_pos += kRecordHeaderSize + size;
        return ReadStatus::record;
      }
    }
    if (s.state == State::done) {
      if (avail == 0) {
        s.state = State::ended;
        return ReadStatus::end;
      }
      if (avail < kRecordHeaderSize)
        return s.fail_now(ReadErrorKind::framing,
                          format("truncated record header: the stream ends %llu bytes into it "
                                 "(a header has 8)",
                                 avail));
      const std::uint8_t* h = s.out.data() + s.out_pos;
      return s.fail_now(
          ReadErrorKind::framing,
          format("truncated message: the header announces %llu bytes, the stream "
                 "ends after %llu",
                 static_cast<unsigned>(h[6] | (h[7] << 8)), avail - kRecordHeaderSize));
    }
    if (s.state == State::broken) return s.fail_here();
    if (!s.is_open()) return s.fail_now(ReadErrorKind::os, "the reader is not open");
    if (!may_block) return ReadStatus::need_input;
    s.produce();
    if (s.stalled) {
      s.stalled = false;
      return ReadStatus::waiting;
    }
  }
}

bool DeviceAppsReader::decode(const RecordView& rec, DeviceAppsMessage* out) noexcept {
  Impl& s = *impl_;
  DecodeError e;
  try {
    s.apps.grow(std::size_t{rec.size} + 1);
  } catch (const std::bad_alloc&) {
    e.what = "out of memory";
  }
  if (!e.what && hotloop::decode(rec.data, rec.size, out, s.apps.data(), &e)) return true;
  s.err.kind = ReadErrorKind::message;
  s.err.sys_errno = 0;
  try {
    s.err.message = std::string("malformed DeviceApps message: ") + e.what +
                    format(" (at byte %llu of the %llu-byte message)", e.position, rec.size);
  } catch (const std::bad_alloc&) {
    s.err.message.clear();
  }
  s.err.record_index = rec.index;
  s.err.offset = rec.offset;
  s.err.file_offset = s.member_start;
  s.state = Impl::State::failed;
  return false;
}

const ReadError& DeviceAppsReader::error() const noexcept { return impl_->err; }

void DeviceAppsReader::close() noexcept {
  Impl& s = *impl_;
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.mem = nullptr;
  if (s.state != Impl::State::failed) s.state = Impl::State::ended;
  // Buffers go back now: a closed reader may live on inside a Python object.
  s.in.release();
  s.out.release();
  s.apps.release();
  s.in_pos = s.in_end = s.out_pos = s.out_ok = s.out_end = 0;
}

// ---------------------------------------------------------------------------------------------
// Member ranges

namespace {

// The scan of scan_member_ranges(): read_at(h, pos) fills h with the kHeaderSize bytes at file
// offset pos (pos + kHeaderSize <= size) and returns 0, -1 when fewer are there (the file
// shrank: the scan stops), or an errno value. Only sizes announced by headers that parse as ours
// are followed, each checked against the bytes left, so the scan never leaves [0, size) and
// takes at most size / 32 steps.
template <class ReadAt>
int scan_ranges(ReadAt read_at, std::uint64_t size, std::uint64_t target,
                std::vector<MemberRange>* ranges) {
  using namespace gzip_member;
  if (target == 0) target = 1;
  ranges->clear();
  std::uint64_t pos = 0, upos = 0;
  MemberRange cur;
  std::uint8_t h[kHeaderSize];
  while (size - pos >= kHeaderSize + kTrailerSize) {
    const int r = read_at(h, pos);
    if (r > 0) return r;
    if (r < 0) break;
    bool last = false;
    if (!is_our_header(h, &last)) break;  // another writer's member, padding or damage
    const std::uint64_t total = get_u32(h + 16), isize = get_u32(h + 20);
    if (total < kHeaderSize + kTrailerSize || total > size - pos) break;
    pos += total;
    upos += isize;
    // After the writer's last member only padding or junk can follow: it joins this range,
    // whose reader then says what it is.
    if (last) break;
    if (pos - cur.begin >= target) {
      cur.end = pos;
      ranges->push_back(cur);
      cur.begin = pos;
      cur.uncompressed_begin = upos;
    }
  }
  if (cur.begin == pos && cur.begin < size && !ranges->empty()) {
    // The scan stopped at something not ours (padding, another writer's member, damage): it
    // joins the range before it, so that every range starts where a member of ours starts and
    // its reader sees the rest of the file as the whole-file reader does (zero padding, for
    // one, is skipped only after a member).
    ranges->back().end = size;
  } else if (cur.begin < size || ranges->empty()) {
    cur.end = size;
    ranges->push_back(cur);
  }
  return 0;
}

}  // namespace

int scan_member_ranges(const char* path, std::uint64_t target_bytes,
                       std::vector<MemberRange>* ranges) noexcept {
  // Not a block device: its st_size is 0.
  int fd = -1;
  struct stat st;
  int e = open_seekable(path, false, &fd, &st);
  if (e) return e;
  auto read_at = [fd](std::uint8_t* h, std::uint64_t pos) -> int {
    std::size_t got = 0;
    while (got < gzip_member::kHeaderSize) {
      const ssize_t r =
          ::pread(fd, h + got, gzip_member::kHeaderSize - got, static_cast<off_t>(pos + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return errno;
      if (r == 0) return -1;
      got += static_cast<std::size_t>(r);
    }
    return 0;
  };
  try {
    e = scan_ranges(read_at, static_cast<std::uint64_t>(st.st_size), target_bytes, ranges);
  } catch (const std::bad_alloc&) {
    e = ENOMEM;
  }
  ::close(fd);
  return e;
}

int scan_member_ranges_buffer(const std::uint8_t* data, std::size_t size,
                              std::uint64_t target_bytes,
                              std::vector<MemberRange>* ranges) noexcept {
  auto read_at = [data](std::uint8_t* h, std::uint64_t pos) -> int {
    std::memcpy(h, data + pos, gzip_member::kHeaderSize);
    return 0;
  };
  try {
    return scan_ranges(read_at, size, target_bytes, ranges);
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
}

std::uint64_t DeviceAppsReader::records_read() const noexcept { return impl_->index; }
std::uint64_t DeviceAppsReader::compressed_offset() const noexcept {
  return impl_->in_file_off + impl_->in_pos;
}

}  // namespace hotloop
