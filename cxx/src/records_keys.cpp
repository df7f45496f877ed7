// NegativeJob: the keys of one key file that are not in another, streamed.
//
// Phase 1 reads in_path into a hash set (open addressing, linear probing, kept at most 70% full;
// key 0 is the empty-slot marker, so a separate flag says whether 0 is in the set). Phase 2
// streams all_path and writes each key that is not in the set. Keys are inserted and looked up
// in groups of kGroup, each key's slot prefetched as soon as it is parsed (a big set lives in
// DRAM). The set's memory comes in huge pages (records_io.hpp). Lines are split with memchr; a
// line cut by a chunk boundary is carried over in a small buffer. Keys are parsed 8 digits at a
// time (SWAR) once leading zeros are skipped; only a 20th digit needs an overflow check.
#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "records_io.hpp"
#include "records_stream.hpp"

namespace hotloop {

namespace {

// Whether the 8 bytes in x (little-endian) are all ASCII digits.
inline bool eight_digits(std::uint64_t x) noexcept {
  return ((x & 0xF0F0F0F0F0F0F0F0ull) |
          (((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) == 0x3333333333333333ull;
}

// The value of 8 ASCII digits (the first is the most significant), by SWAR: pairs, then
// quadruples, then the whole (D. Lemire, "Quickly parsing eight digits", 2022).
inline std::uint64_t parse_eight(std::uint64_t x) noexcept {
  x -= 0x3030303030303030ull;
  x = x * 10 + (x >> 8);
  return (((x & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
          (((x >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
         32;
}

// parse_key, inline for the jobs below (a call per key showed as 10% of a set difference).
inline const char* parse_line(const std::uint8_t* p, std::size_t n, bool key64,
                              std::uint64_t* key) noexcept {
  if (n > 0 && p[n - 1] == '\r') --n;
  if (n == 0) return "an empty line is not a key";
  while (n > 1 && p[0] == '0') {  // leading zeros
    ++p;
    --n;
  }
  // Up to 19 digits cannot overflow 64 bits; a 20th is checked.
  const std::size_t fast = n < 19 ? n : 19;
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (; i + 8 <= fast; i += 8) {
    std::uint64_t x;
    std::memcpy(&x, p + i, 8);
    if (!eight_digits(x)) return "not an unsigned decimal number";
    v = v * 100000000u + parse_eight(x);
  }
  for (; i < fast; ++i) {
    const unsigned d = static_cast<unsigned>(p[i]) - '0';
    if (d > 9) return "not an unsigned decimal number";
    v = v * 10 + d;
  }
  for (; i < n; ++i) {
    const unsigned d = static_cast<unsigned>(p[i]) - '0';
    if (d > 9) return "not an unsigned decimal number";
    if (v > (~std::uint64_t{0} - d) / 10) {
      for (++i; i < n; ++i)  // the rest must be digits too, for the right message
        if (static_cast<unsigned>(p[i]) - '0' > 9) return "not an unsigned decimal number";
      return "the key does not fit in 64 bits";
    }
    v = v * 10 + d;
  }
  if (!key64 && v > 0xFFFFFFFFull)
    return "the key does not fit in 32 bits (pass key64=True for 64-bit keys)";
  *key = v;
  return nullptr;
}

}  // namespace

const char* parse_key(const std::uint8_t* p, std::size_t n, bool key64,
                      std::uint64_t* key) noexcept {
  return parse_line(p, n, key64, key);
}

namespace {

using records_detail::Decoder;

inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

class KeySet {
 public:
  void insert(std::uint64_t k) {
    if (k == 0) {
      has_zero_ = true;
      return;
    }
    if ((size_ + 1) * 10 > cap() * 7) grow(next_capacity());
    std::size_t i = static_cast<std::size_t>(mix(k)) & mask_;
    while (slots_[i] != 0) {
      if (slots_[i] == k) return;
      i = (i + 1) & mask_;
    }
    slots_[i] = k;
    ++size_;
  }
  // Progress through the input, for growth: `seen` of about `expected` bytes read (0: unknown).
  void set_progress(std::uint64_t seen, std::uint64_t expected) noexcept {
    seen_ = seen;
    expected_ = expected;
  }
  void prefetch(std::uint64_t k) const noexcept {
    if (slots_) __builtin_prefetch(&slots_[static_cast<std::size_t>(mix(k)) & mask_]);
  }
  bool contains(std::uint64_t k) const noexcept {
    if (k == 0) return has_zero_;
    if (!size_) return false;
    std::size_t i = static_cast<std::size_t>(mix(k)) & mask_;
    while (slots_[i] != 0) {
      if (slots_[i] == k) return true;
      i = (i + 1) & mask_;
    }
    return false;
  }

 private:
  std::size_t cap() const noexcept { return slots_ ? mask_ + 1 : 0; }
  // Double, or up to 8 times when the keys so far, projected to the input's size, need more:
  // doubling alone copied every key about twice and faulted in twice the final table (as for
  // the Counters tables in records_counters.cpp). Duplicate keys late in the file can leave the
  // set up to 8 times larger than its keys need.
  std::size_t next_capacity() const noexcept {
    const std::size_t twice = cap() ? 2 * cap() : 1024;
    if (!cap() || seen_ == 0 || expected_ <= seen_) return twice;
    const double need = static_cast<double>(size_ + 1) * static_cast<double>(expected_) /
                        static_cast<double>(seen_) * (10.0 / 7.0);
    if (need <= static_cast<double>(twice)) return twice;
    std::size_t n = twice;
    while (n < 8 * cap() && static_cast<double>(n) < need) n *= 2;
    return n;
  }
  void grow(std::size_t n) {
    auto fresh = records_detail::zeroed_array<std::uint64_t>(n);
    const std::size_t m = n - 1;
    for (std::size_t j = 0, old = cap(); j < old; ++j) {
      const std::uint64_t k = slots_[j];
      if (!k) continue;
      std::size_t i = static_cast<std::size_t>(mix(k)) & m;
      while (fresh[i] != 0) i = (i + 1) & m;
      fresh[i] = k;
    }
    slots_ = std::move(fresh);
    mask_ = m;
  }

  std::unique_ptr<std::uint64_t[], records_detail::ZeroedMemory> slots_;
  std::size_t mask_ = 0, size_ = 0;
  bool has_zero_ = false;
  std::uint64_t seen_ = 0, expected_ = 0;
};

// Lines of a decoded stream. A line is returned without its '\n'; the last one may lack it.
class LineReader {
 public:
  static constexpr std::size_t kMaxLine = std::size_t{1} << 20;

  explicit LineReader() : dec_(1) {}
  Decoder& decoder() noexcept { return dec_; }

  // 1: a line in (*p, *n); 0: end of stream; -1: error (fault(): decoder error or a line longer
  // than kMaxLine).
  int next(const std::uint8_t** p, std::size_t* n) {
    if (carried_) {  // the previous line was returned from carry_
      carry_.clear();
      carried_ = false;
    }
    for (;;) {
      if (pos_ < size_) {
        const std::uint8_t* start = data_ + pos_;
        const void* nl = std::memchr(start, '\n', size_ - pos_);
        if (nl) {
          const std::size_t len =
              static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - start);
          pos_ += len + 1;
          if (carry_.empty()) {
            *p = start;
            *n = len;
          } else {
            if (!append(start, len)) return -1;
            *p = carry_.data();
            *n = carry_.size();
            carried_ = true;
          }
          finish_line(len + 1);
          return 1;
        }
        // No line end in this chunk: keep the piece for the next one.
        if (!append(start, size_ - pos_)) return -1;
        pending_ += size_ - pos_;
        pos_ = size_;
      }
      const int r = dec_.next(&data_, &size_);
      pos_ = 0;
      if (r < 0) return -1;
      if (r == 0) {
        size_ = 0;
        if (carry_.empty()) return 0;
        *p = carry_.data();
        *n = carry_.size();
        carried_ = true;
        finish_line(0);
        return 1;
      }
    }
  }

  std::uint64_t line() const noexcept { return line_; }           // of the last line returned
  std::uint64_t line_offset() const noexcept { return offset_; }  // its uncompressed offset
  std::uint64_t consumed() const noexcept { return consumed_ + pending_; }
  const RecordsFault& fault() const noexcept { return own_.ok() ? dec_.fault() : own_; }

 private:
  // A line ends: `tail` more bytes of it were consumed now (after `pending_` carried ones).
  void finish_line(std::size_t tail) {
    ++line_;
    offset_ = consumed_;
    consumed_ += pending_ + tail;
    pending_ = 0;
  }
  bool append(const std::uint8_t* p, std::size_t n) {
    if (carry_.size() + n > kMaxLine) {
      own_.kind = FaultKind::key;
      own_.line = line_ + 1;
      own_.offset = consumed_;
      own_.reason = "line " + std::to_string(line_ + 1) + " is longer than 1 MiB";
      return false;
    }
    carry_.insert(carry_.end(), p, p + n);
    return true;
  }

  Decoder dec_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0, pos_ = 0;
  std::vector<std::uint8_t> carry_;
  bool carried_ = false;
  std::uint64_t line_ = 0, offset_ = 0, consumed_ = 0, pending_ = 0;
  RecordsFault own_;
};

// Appends the decimal digits of v and '\n' at p; returns the end.
inline char* put_decimal(std::uint64_t v, char* p) noexcept {
  static const char digits[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  char tmp[24];
  char* e = tmp + sizeof tmp;
  char* q = e;
  while (v >= 100) {
    const unsigned r = static_cast<unsigned>(v % 100);
    v /= 100;
    q -= 2;
    q[0] = digits[2 * r];
    q[1] = digits[2 * r + 1];
  }
  if (v >= 10) {
    q -= 2;
    q[0] = digits[2 * v];
    q[1] = digits[2 * v + 1];
  } else {
    *--q = static_cast<char>('0' + v);
  }
  const std::size_t n = static_cast<std::size_t>(e - q);
  std::memcpy(p, q, n);
  p[n] = '\n';
  return p + n + 1;
}

// The line quoted for an error message: at most 40 bytes, non-printable bytes as '?'.
std::string quote(const std::uint8_t* p, std::size_t n) {
  std::string s = "'";
  for (std::size_t i = 0; i < n && i < 40; ++i)
    s += (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'') ? static_cast<char>(p[i]) : '?';
  if (n > 40) s += "...";
  return s + "'";
}

constexpr std::size_t kGroup = 16;
constexpr std::size_t kOutBuffer = std::size_t{1} << 20;

}  // namespace

struct NegativeJob::Impl {
  bool has_header, key64;
  LineReader in_lines, all_lines;
  KeySet set;
  records_detail::AtomicFile out;
  // Output buffer, left uninitialized (zeroing 1 MiB per call showed in small calls).
  std::unique_ptr<char[]> buf;
  static constexpr std::size_t kBufSize = kOutBuffer + 64;
  std::size_t buf_fill = 0;
  int phase = 0;  // 0: reading in_path, 1: all_path, 2: done
  bool header_seen[2] = {false, false};
  bool failed = false;
  RecordsFault err;
  int err_file = 0;
  std::uint64_t written = 0;
  int in_fd = -1, all_fd = -1;
  std::uint64_t in_expected = 0;  // in_path's estimated decompressed size (0: unknown)

  Impl(bool h, bool k) : has_header(h), key64(k), buf(new char[kBufSize]) {}

  bool fail_key(LineReader& lr, int which, const std::uint8_t* p, std::size_t n, const char* why) {
    err = RecordsFault{};
    err.kind = FaultKind::key;
    err.line = lr.line();
    err.offset = lr.line_offset();
    err.reason = "line " + std::to_string(lr.line()) + ": " + quote(p, n) + ": " + why;
    err_file = which;
    failed = true;
    return true;
  }
  bool fail_stream(LineReader& lr, int which) {
    err = lr.fault();
    err_file = which;
    failed = true;
    return true;
  }

  int flush() {
    const int e = out.write(reinterpret_cast<const std::uint8_t*>(buf.get()), buf_fill);
    buf_fill = 0;
    return e;
  }
  bool fail_os(int e) {
    err = RecordsFault{};
    err.kind = FaultKind::os;
    err.sys_errno = e;
    err_file = 2;
    failed = true;
    return true;
  }

  // Phase 1 until budget bytes are consumed. true: finished or failed.
  bool read_set(std::uint64_t stop_at) {
    const std::uint8_t* p;
    std::size_t n;
    for (;;) {
      if (in_lines.consumed() >= stop_at) {
        insert_group();
        return false;
      }
      const int r = in_lines.next(&p, &n);
      if (r < 0) return fail_stream(in_lines, 1);
      if (r == 0) {
        insert_group();
        return true;
      }
      if (has_header && !header_seen[1]) {
        header_seen[1] = true;
        continue;
      }
      std::uint64_t k;
      if (const char* why = parse_line(p, n, key64, &k)) {
        insert_group();
        return fail_key(in_lines, 1, p, n, why);
      }
      set.prefetch(k);
      group[n_group++] = k;
      if (n_group == kGroup) insert_group();
    }
  }

  // Keys wait in groups, their slots prefetched as they are parsed (the set lives in DRAM:
  // measured 80% of the time of reading a 2.5M-key set went to waiting for misses without this).
  std::uint64_t group[kGroup];
  std::size_t n_group = 0;
  void insert_group() {
    set.set_progress(in_lines.consumed(), in_expected);
    for (std::size_t i = 0; i < n_group; ++i) set.insert(group[i]);
    n_group = 0;
  }

  bool emit_group(const std::uint64_t* keys, std::size_t g) {
    for (std::size_t i = 0; i < g; ++i) {
      if (set.contains(keys[i])) continue;
      if (buf_fill > kOutBuffer) {
        if (const int e = flush()) return fail_os(e);
      }
      buf_fill = static_cast<std::size_t>(put_decimal(keys[i], buf.get() + buf_fill) - buf.get());
      ++written;
    }
    return false;
  }

  // Phase 2 until budget bytes are consumed. true: finished or failed.
  bool write_difference(std::uint64_t stop_at) {
    const std::uint8_t* p;
    std::size_t n;
    std::uint64_t keys[kGroup];
    std::size_t g = 0;
    for (;;) {
      const bool pause = all_lines.consumed() >= stop_at;
      const int r = pause ? 2 : all_lines.next(&p, &n);
      if (r != 1) {
        if (g && emit_group(keys, g)) return true;
        if (r < 0) return fail_stream(all_lines, 0);
        return r == 0;
      }
      if (has_header && !header_seen[0]) {
        header_seen[0] = true;
        if (n > 0 && p[n - 1] == '\r') --n;
        if (n + 1 > kBufSize - buf_fill) {
          if (const int e = flush()) return fail_os(e);
          if (const int e = out.write(p, n)) return fail_os(e);
          const std::uint8_t nl = '\n';
          if (const int e = out.write(&nl, 1)) return fail_os(e);
        } else {
          std::memcpy(buf.get() + buf_fill, p, n);
          buf_fill += n;
          buf[buf_fill++] = '\n';
        }
        continue;
      }
      std::uint64_t k;
      if (const char* why = parse_line(p, n, key64, &k)) {
        // Keys before it still go out in order (the file is discarded anyway).
        if (g && emit_group(keys, g)) return true;
        return fail_key(all_lines, 0, p, n, why);
      }
      set.prefetch(k);
      keys[g++] = k;
      if (g == kGroup) {
        if (emit_group(keys, g)) return true;
        g = 0;
      }
    }
  }
};

NegativeJob::NegativeJob(bool has_header, bool key64) : impl_(new Impl(has_header, key64)) {}
NegativeJob::~NegativeJob() { abort(); }

int NegativeJob::open(const char* all_path, const char* in_path, const char* out_path,
                      int* which) noexcept {
  Impl& s = *impl_;
  const char* paths[2] = {all_path, in_path};
  LineReader* readers[2] = {&s.all_lines, &s.in_lines};
  for (int i = 0; i < 2; ++i) {
    const int fd = ::open(paths[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      *which = i;
      return errno;
    }
    struct stat st;
    const bool have_stat = ::fstat(fd, &st) == 0;
    if (have_stat && S_ISDIR(st.st_mode)) {
      ::close(fd);
      *which = i;
      return EISDIR;
    }
    if (i == 1 && have_stat && S_ISREG(st.st_mode)) {
      // A compressed key file is taken as 4 times its size: a guess that only steers growth.
      std::uint8_t head[4] = {};
      const ssize_t got = ::pread(fd, head, sizeof head, 0);
      const bool packed =
          got > 0 && detect_compression(head, static_cast<std::size_t>(got)) != Compression::none;
      s.in_expected = static_cast<std::uint64_t>(st.st_size) * (packed ? 4 : 1);
    }
    readers[i]->decoder().start_fd(fd, true);
  }
  const int e = s.out.open(out_path);
  if (e) *which = 2;
  return e;
}

bool NegativeJob::run(std::uint64_t budget) noexcept {
  Impl& s = *impl_;
  try {
    if (s.failed) return true;
    if (s.phase == 0) {
      const bool done = s.read_set(s.in_lines.consumed() + budget);
      if (s.failed) return true;
      if (!done) return false;
      s.phase = 1;
      return false;
    }
    if (s.phase == 1) {
      const bool done = s.write_difference(s.all_lines.consumed() + budget);
      if (s.failed) return true;
      if (!done) return false;
      if (const int e = s.flush()) {
        s.fail_os(e);
        return true;
      }
      s.phase = 2;
    }
    return true;
  } catch (const std::bad_alloc&) {
    s.fail_os(ENOMEM);
    return true;
  }
}

bool NegativeJob::failed() const noexcept { return impl_->failed; }
const RecordsFault& NegativeJob::error() const noexcept { return impl_->err; }
int NegativeJob::error_file() const noexcept { return impl_->err_file; }

int NegativeJob::commit() noexcept {
  Impl& s = *impl_;
  if (s.failed || s.phase != 2) return EINVAL;
  return s.out.commit();
}

void NegativeJob::abort() noexcept { impl_->out.abort(); }
std::uint64_t NegativeJob::written() const noexcept { return impl_->written; }

}  // namespace hotloop
