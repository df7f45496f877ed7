// NegativeJob: the keys of one key file that are not in another, streamed in chunks that a team
// of threads parses.
//
// Each file is cut into chunks of whole lines (about kChunk decoded bytes, read(2) straight into
// the chunk when the file is not compressed; the piece of a line cut by a chunk's end is carried
// into the next chunk) by whichever task of hotloop's pool (threads.hpp) holds the reader's
// lock; the task then processes its chunk without locks. A run works in batches of a few chunks
// per thread, so memory stays bounded by a batch whatever the files' sizes (plus the set).
//
// Phase 1 parses in_path's chunks into arrays of key hashes, one array per shard of the hash set
// (KeySets: the top bits of a key's hash pick its shard, a KeySet of buckets of 8 slots holding
// hashes, sized to be half full, at most 70%; hash 0, key 0's, is the empty-slot marker, so a
// flag says whether 0 is in the set). After each batch the shards take their keys, shared out among
// the team, each shard filled by one thread without atomic operations and grown on its own; each
// key's bucket is prefetched kAhead keys before its insert (a big set lives in DRAM: measured 80%
// of the time of reading a 2.5M-key set went to waiting for misses without prefetching). Phase 2
// parses all_path's chunks, looks their keys up (each bucket prefetched kAhead keys before) and
// copies the digits of each key not in the set into the chunk's output; the tasks write the outputs
// in chunk order as chunks finish. The set is only read in phase 2, so tasks share it without
// locks. Errors are reported in file order: the first bad line of the first failing chunk, its
// number counted from the lines of the chunks before it.
//
// Parsing (scan_lines): the common line, up to 20 digits and its line end, is checked with two
// 16-byte SSE2 compares (the first byte that is not a digit must end the line) and converted 8
// digits at a time (SWAR), three unaligned 8-byte loads; only a 20-digit key pays for an overflow
// check. Every chunk keeps kSlack readable bytes past its end, so these loads need no bounds
// check. Other lines (leading zeros, errors, a last line without '\n') take memchr and a
// byte-wise check. A key is written back as its own digits (leading zeros dropped), not
// re-formatted. Measured on 3M vs 2.5M 64-bit keys, one thread: 30% less time than splitting
// lines with memchr, probing slot by slot and formatting keys with divisions.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "hotloop/threads.hpp"
#include "records_io.hpp"
#include "records_stream.hpp"

namespace hotloop {

namespace {

constexpr const char* kNotNumber = "not an unsigned decimal number";
constexpr const char* kEmptyLine = "an empty line is not a key";
constexpr const char* kOver64 = "the key does not fit in 64 bits";
constexpr const char* kOver32 = "the key does not fit in 32 bits (pass key64=True for 64-bit keys)";

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

// The first k (1..8) bytes of x as the last k of eight digits, after 8 - k '0's: parse_eight then
// gives the value of those k digits, and eight_digits checks only them.
inline std::uint64_t last_digits(std::uint64_t x, std::size_t k) noexcept {
  const unsigned shift = static_cast<unsigned>(64 - 8 * k);  // 0..56
  return (x << shift) | ((0x3030303030303030ull >> (56 - shift)) >> 8);
}

// The digits of a line after its '\r' and leading zeros are gone: n >= 1 bytes at p. Any byte
// that is not a digit makes it "not a number", whatever its length.
const char* slow_digits(const std::uint8_t* p, std::size_t n, bool key64,
                        std::uint64_t* key) noexcept {
  std::uint64_t v = 0;
  bool over = false;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned d = static_cast<unsigned>(p[i]) - '0';
    if (d > 9) return kNotNumber;
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v)) over = true;
  }
  if (over) return kOver64;
  if (!key64 && v > 0xFFFFFFFFull) return kOver32;
  *key = v;
  return nullptr;
}

// One line (without its '\n'; one trailing '\r' allowed) of n bytes at p: its key, or why not.
// Reads only [p, p + n).
const char* parse_line(const std::uint8_t* p, std::size_t n, bool key64,
                       std::uint64_t* key) noexcept {
  if (n > 0 && p[n - 1] == '\r') --n;
  if (n == 0) return kEmptyLine;
  while (n > 1 && p[0] == '0') {  // leading zeros
    ++p;
    --n;
  }
  return slow_digits(p, n, key64, key);
}

constexpr std::uint64_t kPow10[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// parse_line for lines in a chunk: the same verdicts, and the key's digits without leading zeros
// (*digits, *count). Reads up to 24 bytes from p (after leading zeros), which the chunk's slack
// makes readable.
inline const char* parse_fast(const std::uint8_t* p, std::size_t n, bool key64, std::uint64_t* key,
                              const std::uint8_t** digits, std::size_t* count) noexcept {
  if (n > 0 && p[n - 1] == '\r') --n;
  if (n == 0) return kEmptyLine;
  if (p[0] == '0') {
    while (n > 1 && p[0] == '0') {
      ++p;
      --n;
    }
  }
  *digits = p;
  *count = n;
  if (n > 20) return slow_digits(p, n, key64, key);
  std::uint64_t a, b, c, v;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  std::memcpy(&c, p + 16, 8);
  if (n <= 8) {
    a = last_digits(a, n);
    if (!eight_digits(a)) return kNotNumber;
    v = parse_eight(a);
  } else if (n <= 16) {
    b = last_digits(b, n - 8);
    if (!(eight_digits(a) & eight_digits(b))) return kNotNumber;
    v = parse_eight(a) * kPow10[n - 8] + parse_eight(b);
  } else {
    c = last_digits(c, n - 16);
    if (!(eight_digits(a) & eight_digits(b) & eight_digits(c))) return kNotNumber;
    // At most 16 digits before the last 1-4: only a 20-digit key can overflow.
    const std::uint64_t hi = parse_eight(a) * 100000000u + parse_eight(b);
    if (__builtin_mul_overflow(hi, kPow10[n - 16], &v) ||
        __builtin_add_overflow(v, parse_eight(c), &v))
      return kOver64;
  }
  if (!key64 && v > 0xFFFFFFFFull) return kOver32;
  *key = v;
  return nullptr;
}

}  // namespace

const char* parse_key(const std::uint8_t* p, std::size_t n, bool key64,
                      std::uint64_t* key) noexcept {
  return parse_line(p, n, key64, key);
}

namespace {

using records_detail::Buffer;
using records_detail::Decoder;

// A bijection of 64-bit words (each step is: an xor with a right shift of itself, or a product
// with an odd number), so the set can hold mix(k) in place of k: equal hashes are equal keys,
// and mix(0) = 0 keeps 0 as the empty-slot marker.
inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// GCC 12 dropped __builtin_prefetch from process_all's loop once the bucket came from a
// multiplication (1 prefetch instruction left in this file instead of 3, and lookups 2.4 times
// slower); an asm statement cannot be dropped.
inline void prefetch_line(const void* p) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p);
#endif
}

// Keys between the prefetch of a slot and its use: a miss to DRAM takes ~100 ns, parsing or
// inserting a key a few.
constexpr std::size_t kAhead = 32;

// Bit i of *eq is set where slot i of the 8 at s (64-byte aligned) holds k, bit i of *empty where
// it holds 0: four 16-byte compares with SSE2 instead of sixteen scalar ones.
inline void match8(const std::uint64_t* s, std::uint64_t k, unsigned* eq,
                   unsigned* empty) noexcept {
#if defined(__SSE2__)
  const __m128i key = _mm_set1_epi64x(static_cast<long long>(k)), zero = _mm_setzero_si128();
  unsigned e = 0, z = 0;
  for (int j = 0; j < 4; ++j) {
    const __m128i v = _mm_load_si128(reinterpret_cast<const __m128i*>(s + 2 * j));
    // SSE2 compares 32-bit lanes: a 64-bit slot matches where both of its halves do.
    __m128i ce = _mm_cmpeq_epi32(v, key), cz = _mm_cmpeq_epi32(v, zero);
    ce = _mm_and_si128(ce, _mm_shuffle_epi32(ce, _MM_SHUFFLE(2, 3, 0, 1)));
    cz = _mm_and_si128(cz, _mm_shuffle_epi32(cz, _MM_SHUFFLE(2, 3, 0, 1)));
    e |= static_cast<unsigned>(_mm_movemask_pd(_mm_castsi128_pd(ce))) << (2 * j);
    z |= static_cast<unsigned>(_mm_movemask_pd(_mm_castsi128_pd(cz))) << (2 * j);
  }
  *eq = e;
  *empty = z;
#else
  unsigned e = 0, z = 0;
  for (int i = 0; i < 8; ++i) {
    e |= static_cast<unsigned>(s[i] == k) << i;
    z |= static_cast<unsigned>(s[i] == 0) << i;
  }
  *eq = e;
  *empty = z;
#endif
}

// A set of 64-bit keys, held as their hashes h = mix(k) (a bijection, see mix): callers hash a
// key once, for its shard, its prefetch and its probe, and growing the table rehashes nothing.
// (Keeping k beside a hash computed on each use hashed every key of in_path three times.)
// Buckets of kWays slots (one cache line when the table is mapped, see zeroed_array) are
// probed linearly, bucket after bucket. A hash sits in the first bucket from its home that had
// a free slot when it was inserted, and nothing is removed, so a lookup stops at the first
// bucket that holds the hash or a free slot: one cache line almost always (the table is at
// most 70% full), and the slots of a bucket are compared without branches. (Probing slot by
// slot mispredicted a branch at the end of almost every probe.) One thread at a time inserts.
class KeySet {
 public:
  static constexpr std::size_t kWays = 8;  // match8 compares a bucket at once

  void insert(std::uint64_t h) {
    if (h == 0) {
      has_zero_ = true;
      return;
    }
    if ((size_ + 1) * 10 > cap() * 7) grow(next_capacity());
    size_ += place(slots_.get(), buckets_, h);
  }
  // Inserts n hashes at hashes (read), each bucket prefetched kAhead hashes before. The first call
  // sizes the table from the first batch's keys projected to the whole input (set_progress), at
  // most 32 times what they need themselves: growing by doubling from a small table copied
  // every key of a 2.5M-key set about twice, each copy a miss.
  void insert_all(const std::uint64_t* hashes, std::size_t n) {
    if (!cap() && n) grow(first_capacity());
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) prefetch(hashes[i + kAhead]);
      insert(hashes[i]);
    }
  }
  // Progress through the input, for growth: `seen` of about `expected` bytes read (0: unknown),
  // and the batch read up to `seen` brings `batch` keys (some perhaps already here) that
  // insert_all is about to take. A projection from the keys inserted so far against the bytes
  // of the whole batch fell short by 15% and grew a table sized to its input a second time.
  void set_progress(std::uint64_t seen, std::uint64_t expected, std::size_t batch) noexcept {
    seen_ = seen;
    expected_ = expected;
    reach_ = size_ + batch;
  }
  void prefetch(std::uint64_t h) const noexcept {
    if (slots_) prefetch_line(&slots_[bucket(h, buckets_) * kWays]);
  }
  bool contains(std::uint64_t h) const noexcept {
    if (h == 0) return has_zero_;
    if (!size_) return false;
    for (std::size_t b = bucket(h, buckets_);; b = next(b, buckets_)) {
      unsigned eq, empty;
      match8(&slots_[b * kWays], h, &eq, &empty);
      if (eq | empty) return eq != 0;
    }
  }

 private:
  // The low 32 bits of h scaled to [0, n) (a multiply, not a modulo): any number of buckets,
  // so the table is sized to its keys rather than to the next power of two.
  static std::size_t bucket(std::uint64_t h, std::size_t n) noexcept {
    return static_cast<std::size_t>(((h & 0xFFFFFFFFull) * n) >> 32);
  }
  static std::size_t next(std::size_t b, std::size_t n) noexcept { return b + 1 == n ? 0 : b + 1; }
  // Puts h (not 0) into the first bucket from its home with a free slot, unless it is there.
  // Returns whether it was new.
  static bool place(std::uint64_t* slots, std::size_t n, std::uint64_t h) noexcept {
    for (std::size_t b = bucket(h, n);; b = next(b, n)) {
      std::uint64_t* s = &slots[b * kWays];
      unsigned eq, empty;
      match8(s, h, &eq, &empty);
      if (eq) return false;
      if (empty) {
        s[__builtin_ctz(empty)] = h;
        return true;
      }
    }
  }
  std::size_t cap() const noexcept { return slots_ ? buckets_ * kWays : 0; }
  // The slots that `keys` keys fill to 50% (at least 1024), whole buckets; the table grows at
  // 70%. A lookup reads a second cache line when its bucket overflowed, which the prefetch does
  // not cover: a whole run of 3M keys against 2.5M (one thread) took 141 / 148 / 154 / 162 / 185
  // / 190 ms with the set 40 / 50 / 60 / 62.5 / 70 / 80% full (a power-of-two table fell
  // anywhere from 35 to 70%).
  static std::size_t slots_for(double keys) noexcept {
    const double buckets = std::ceil(keys / (0.5 * kWays));
    return std::max<std::size_t>(1024, static_cast<std::size_t>(buckets) * kWays);
  }
  std::size_t projected(double keys, std::size_t limit) const noexcept {
    if (seen_ > 0 && expected_ > seen_)
      keys *= static_cast<double>(expected_) / static_cast<double>(seen_);
    return std::min(slots_for(keys), limit);
  }
  std::size_t first_capacity() const noexcept {
    return projected(static_cast<double>(reach_), 32 * slots_for(static_cast<double>(reach_)));
  }
  // Double, or up to 8 times when the keys so far, projected to the input's size, need more:
  // doubling alone copied every key about twice and faulted in twice the final table (as for
  // the Counters tables in records_counters.cpp). Duplicate keys late in the file can leave the
  // set up to 8 times larger than its keys need.
  std::size_t next_capacity() const noexcept {
    const double keys = static_cast<double>(std::max(size_ + 1, reach_));
    return std::max(2 * cap(), projected(keys, 8 * cap()));
  }
  void grow(std::size_t n) {  // n: slots, a multiple of kWays
    auto fresh = records_detail::zeroed_array<std::uint64_t>(n);
    const std::size_t m = n / kWays;
    for (std::size_t j = 0, old = cap(); j < old; ++j)
      if (slots_[j]) place(fresh.get(), m, slots_[j]);
    slots_ = std::move(fresh);
    buckets_ = m;
  }

  std::unique_ptr<std::uint64_t[], records_detail::ZeroedMemory> slots_;
  std::size_t buckets_ = 0, size_ = 0;
  bool has_zero_ = false;
  std::uint64_t seen_ = 0, expected_ = 0;
  std::size_t reach_ = 0;  // at most this many keys once the current batch is in
};

// The set of in_path's keys, split by the top bits of their hashes into a power of two of
// KeySets (shards) that threads fill side by side, each shard by one thread: no atomic
// operations, and each shard grows on its own. (Sharing one table, inserting with
// compare-and-swap, made two threads slower than one: a locked instruction per key.) The
// bucket comes from the low bits of the same hash, so a shard's keys still spread over its
// whole table.
class KeySets {
 public:
  static constexpr std::size_t kMaxShards = 64;

  explicit KeySets(int n_threads) {
    std::size_t n = 1;
    while (n < static_cast<std::size_t>(std::max(n_threads, 1)) && n < kMaxShards) n *= 2;
    sets_.resize(n);
  }
  std::size_t count() const noexcept { return sets_.size(); }
  std::size_t shard(std::uint64_t h) const noexcept {
    return static_cast<std::size_t>(h >> 58) & (sets_.size() - 1);
  }
  KeySet& operator[](std::size_t i) noexcept { return sets_[i]; }
  void prefetch(std::uint64_t h) const noexcept { sets_[shard(h)].prefetch(h); }
  bool contains(std::uint64_t h) const noexcept { return sets_[shard(h)].contains(h); }

 private:
  std::vector<KeySet> sets_;
};

constexpr std::size_t kMaxLine = std::size_t{1} << 20;  // longer lines are errors
constexpr std::size_t kChunk = std::size_t{1} << 20;    // decoded bytes per chunk
constexpr std::size_t kSlack = 64;   // readable bytes after a chunk's text and output
constexpr int kChunksPerThread = 2;  // chunks per thread in a batch

// The text of one chunk and what its task made of it.
struct Chunk {
  Buffer text;  // whole lines (the file's last chunk may end without '\n'), then kSlack bytes
  std::size_t len = 0;
  std::uint64_t offset = 0;  // uncompressed offset of text[0] in its file
  bool first = false;        // starts with the file's first line
  // Results.
  std::uint64_t lines = 0;  // lines processed, up to and including a bad one
  Buffer out;               // phase 2: the output lines
  std::size_t out_len = 0;
  std::uint64_t written = 0;
  bool ready = false;                            // processed (phase 2: its output may be written)
  std::vector<std::vector<std::uint64_t>> keys;  // phase 1: the key hashes of each shard
  bool bad = false;                              // a bad line: the lines-th, at bad_offset
  std::uint64_t bad_offset = 0;
  std::string bad_text;  // what follows "line N" in the message
};

// Cuts the decoded bytes of one file into chunks of whole lines. Used by one thread at a time.
class Feeder {
 public:
  Decoder& decoder() noexcept { return dec_; }

  // Fills c with the next whole lines (the last piece of the file ends without '\n'). false:
  // nothing more (the end, or an error: failed()). A stream error or an over-long line stops the
  // feed after the whole lines before it, which come first.
  bool fill(Chunk& c, std::size_t chunk) {
    if (done_) return false;
    c.offset = offset_;
    c.first = first_;
    c.text.grow(std::max(chunk, carry_n_) + kSlack);
    if (carry_n_) std::memcpy(c.text.data(), carry_.data(), carry_n_);
    std::size_t len = carry_n_, scanned = carry_n_;  // the carried piece holds no '\n'
    carry_n_ = 0;
    std::size_t want = std::max<std::size_t>(chunk, 1);
    for (;;) {
      while (len < want) {
        if (raw_ != 0) {  // unknown or uncompressed: try reading straight into the chunk
          const std::ptrdiff_t r = dec_.read_raw(c.text.data() + len, want - len);
          if (r == Decoder::kCompressed) {
            raw_ = 0;
            continue;
          }
          raw_ = 1;
          if (r < 0) {
            fault_ = dec_.fault();
            failed_ = true;
            break;
          }
          if (r == 0) {
            eof_ = true;
            break;
          }
          len += static_cast<std::size_t>(r);
          continue;
        }
        if (pend_n_ == 0) {
          const int r = dec_.next(&pend_, &pend_n_);
          if (r < 0) {
            fault_ = dec_.fault();
            failed_ = true;
            break;
          }
          if (r == 0) {
            eof_ = true;
            break;
          }
        }
        const std::size_t n = std::min(pend_n_, want - len);
        std::memcpy(c.text.data() + len, pend_, n);
        len += n;
        pend_ += n;
        pend_n_ -= n;
      }
      if (eof_) {
        done_ = true;
        break;
      }
      const void* nl =
          len > scanned ? memrchr(c.text.data() + scanned, '\n', len - scanned) : nullptr;
      if (nl) {
        const std::size_t cut =
            static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - c.text.data()) + 1;
        if (!failed_) {
          carry_.grow(len - cut);
          if (len > cut) std::memcpy(carry_.data(), c.text.data() + cut, len - cut);
          carry_n_ = len - cut;
        }
        len = cut;
        if (failed_) done_ = true;
        break;
      }
      if (failed_) {  // the piece of a line before the error is dropped
        len = 0;
        done_ = true;
        break;
      }
      scanned = len;
      // The chunk is one unfinished line: read on until it ends or is known to be too long.
      if (len > kMaxLine) {
        long_line_ = true;
        failed_ = done_ = true;
        long_line_offset_ = c.offset;
        len = 0;
        break;
      }
      want = kMaxLine + 1;
      c.text.grow(want + kSlack);
    }
    c.len = len;
    offset_ += len;
    if (len == 0) return false;
    first_ = false;
    return true;
  }

  bool done() const noexcept { return done_; }
  bool failed() const noexcept { return failed_; }
  // After done() and failed(): the stream's fault, or (long_line()) an over-long line that starts
  // at long_line_offset().
  const RecordsFault& fault() const noexcept { return fault_; }
  bool long_line() const noexcept { return long_line_; }
  std::uint64_t long_line_offset() const noexcept { return long_line_offset_; }
  std::uint64_t consumed() const noexcept { return offset_; }

 private:
  Decoder dec_{1};
  int raw_ = -1;  // whether the stream is uncompressed (read_raw), -1 before the first read
  const std::uint8_t* pend_ = nullptr;  // decoded bytes not yet copied into a chunk
  std::size_t pend_n_ = 0;
  Buffer carry_;  // the start of a line cut by the last chunk's end
  std::size_t carry_n_ = 0;
  std::uint64_t offset_ = 0;  // bytes handed out in chunks
  bool first_ = true, eof_ = false, failed_ = false, done_ = false, long_line_ = false;
  std::uint64_t long_line_offset_ = 0;
  RecordsFault fault_;
};

// A bit per byte of the 32 bytes at p (read): set where the byte is not an ASCII digit.
inline std::uint32_t non_digits(const std::uint8_t* p) noexcept {
#if defined(__SSE2__)
  // Signed compares: bytes from 0x80 are negative, so below '0'.
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8('9');
  const auto half = [&](const std::uint8_t* q) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    return static_cast<std::uint32_t>(static_cast<std::uint16_t>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(v, zero), _mm_cmpgt_epi8(v, nine)))));
  };
  return half(p) | half(p + 16) << 16;
#else
  std::uint32_t m = 0;
  for (int i = 0; i < 32; ++i) m |= static_cast<std::uint32_t>(p[i] - '0' > 9u) << i;
  return m;
#endif
}

// The value of the d (1..20) ASCII digits at p, which has 24 readable bytes; false when it does
// not fit in 64 bits (only possible with 20 digits).
inline bool digits_value(const std::uint8_t* p, std::size_t d, std::uint64_t* v) noexcept {
  std::uint64_t a, b, c;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + 8, 8);
  std::memcpy(&c, p + 16, 8);
  if (d <= 8) {
    *v = parse_eight(last_digits(a, d));
    return true;
  }
  if (d <= 16) {
    *v = parse_eight(a) * kPow10[d - 8] + parse_eight(last_digits(b, d - 8));
    return true;
  }
  const std::uint64_t hi = parse_eight(a) * 100000000u + parse_eight(b);
  return !__builtin_mul_overflow(hi, kPow10[d - 16], v) &&
         !__builtin_add_overflow(*v, parse_eight(last_digits(c, d - 16)), v);
}

// The line quoted for an error message: at most 40 bytes, non-printable bytes as '?'.
std::string quote(const std::uint8_t* p, std::size_t n) {
  std::string s = "'";
  for (std::size_t i = 0; i < n && i < 40; ++i)
    s += (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'') ? static_cast<char>(p[i]) : '?';
  if (n > 40) s += "...";
  return s + "'";
}

// Calls on_key(key, digits, count) for each key line of c and stops at the first bad line
// (recorded in c). header: whether c's first line is a header (on_header(p, n) is called with
// it, '\r' removed).
//
// The common line, 1 to 20 digits without leading zeros and a line end, takes one pass: the
// first byte that is not a digit (non_digits) must be a '\n', or a '\r' and a '\n', inside the
// chunk. Anything else (the file's last line without '\n', leading zeros, errors) goes through
// memchr and parse_fast, which find the same key or say why there is none.
template <class OnKey, class OnHeader>
void scan_lines(Chunk& c, bool header, bool key64, OnKey&& on_key, OnHeader&& on_header) {
  const std::uint8_t* p = c.text.data();
  const std::uint8_t* const begin = p;
  const std::uint8_t* const end = p + c.len;
  std::uint64_t line = 0;
  c.bad = false;
  const auto bad = [&](const std::uint8_t* s, std::string text) {
    c.bad = true;
    c.bad_offset = c.offset + static_cast<std::uint64_t>(s - begin);
    c.bad_text = std::move(text);
  };
  const std::uint64_t limit = key64 ? ~std::uint64_t{0} : 0xFFFFFFFFull;
  while (p < end) {
    ++line;
    if (!(header && line == 1)) {
      const std::uint32_t nd = non_digits(p);
      const std::size_t d = nd ? static_cast<std::size_t>(__builtin_ctz(nd)) : 32;
      const std::size_t e = d + (p[d] == '\r');  // p[d + 1] is readable: d <= 32 < kSlack - 1
      std::uint64_t k;
      if (d - 1 < 20 && p[0] != '0' && e < static_cast<std::size_t>(end - p) && p[e] == '\n' &&
          digits_value(p, d, &k) && k <= limit) {
        on_key(k, p, d);
        p += e + 1;
        continue;
      }
    }
    const auto* nl = static_cast<const std::uint8_t*>(std::memchr(p, '\n', end - p));
    const std::uint8_t* s = p;
    const std::size_t n = static_cast<std::size_t>((nl ? nl : end) - s);
    p = nl ? nl + 1 : end;
    if (n > kMaxLine) {
      bad(s, " is longer than 1 MiB");
      break;
    }
    if (header && line == 1) {
      on_header(s, n > 0 && s[n - 1] == '\r' ? n - 1 : n);
      continue;
    }
    std::uint64_t k;
    const std::uint8_t* digits;
    std::size_t count;
    if (const char* why = parse_fast(s, n, key64, &k, &digits, &count)) {
      bad(s, ": " + quote(s, n) + ": " + why);
      break;
    }
    on_key(k, digits, count);
  }
  c.lines = line;
}

}  // namespace

struct NegativeJob::Impl {
  bool has_header, key64;
  int n_threads;
  std::size_t chunk;
  Feeder feed[2];                      // 0: all_path, 1: in_path
  std::uint64_t expected[2] = {0, 0};  // estimated decompressed sizes (0: unknown)
  std::uint64_t lines_done[2] = {0, 0};
  KeySets set;
  records_detail::AtomicFile out;
  std::vector<std::unique_ptr<Chunk>> chunks;
  std::mutex feed_mu;
  int phase = 0;  // 0: reading in_path, 1: all_path, 2: done
  bool failed = false;
  RecordsFault err;
  int err_file = 0;
  std::uint64_t written = 0;

  Impl(bool h, bool k, int nt, std::size_t ch)
      : has_header(h),
        key64(k),
        n_threads(std::max(nt, 1)),
        chunk(ch ? ch : kChunk),
        set(std::max(nt, 1)) {}

  bool fail_os(int e) {
    err = RecordsFault{};
    err.kind = FaultKind::os;
    err.sys_errno = e;
    err_file = 2;
    failed = true;
    return true;
  }

  // Threads must pay for themselves: one per chunk of input at most (a pipe's size is unknown).
  int team(int file) const {
    if (expected[file] == 0) return n_threads;
    const std::uint64_t pieces = (expected[file] + chunk - 1) / chunk;
    return static_cast<int>(std::min<std::uint64_t>(std::max<std::uint64_t>(pieces, 1),
                                                    static_cast<std::uint64_t>(n_threads)));
  }

  // One batch of file `file` (0 all_path, 1 in_path): chunks fed and processed by a team, then
  // their results taken in order. true: the file is finished (or failed).
  //
  // Phase 2's outputs are written by the tasks, in chunk order: a task that finishes a chunk
  // writes every finished chunk from the first one not yet written, so one thread's write(2)
  // overlaps another's parsing, and nobody waits for a chunk still being processed (its own task
  // writes it, and what follows). Writing stops at a bad chunk or a failed write.
  bool batch(int file) {
    const int t = team(file);
    const std::size_t n = static_cast<std::size_t>(t) * kChunksPerThread;
    while (chunks.size() < n) chunks.emplace_back(new Chunk());
    for (std::size_t i = 0; i < n; ++i) chunks[i]->ready = false;
    std::size_t fed = 0, next_out = 0;
    bool out_stop = false;
    int out_err = 0;
    std::mutex out_mu;
    std::atomic<bool> oom{false};
    Feeder& f = feed[file];
    const bool header = has_header;
    const auto write_ready = [&] {
      while (!out_stop && next_out < n && chunks[next_out]->ready) {
        Chunk& d = *chunks[next_out];
        if (d.bad) {
          out_stop = true;
        } else if (d.out_len) {
          out_err = out.write(d.out.data(), d.out_len);
          out_stop = out_err != 0;
        }
        next_out += !out_stop;
      }
    };
    const auto body = [&](std::ptrdiff_t b, std::ptrdiff_t e) {
      for (std::ptrdiff_t i = b; i < e; ++i) {
        try {
          Chunk* c;
          {
            std::lock_guard<std::mutex> lock(feed_mu);
            if (fed == n || !f.fill(*chunks[fed], chunk)) return;
            c = chunks[fed++].get();
          }
          if (file == 1) {
            process_in(*c, header);
          } else {
            process_all(*c, header);
            std::lock_guard<std::mutex> lock(out_mu);
            c->ready = true;
            write_ready();
          }
        } catch (const std::bad_alloc&) {
          oom.store(true);
          return;
        }
      }
    };
    hotloop::parallel_for(static_cast<std::ptrdiff_t>(n), t, 1, body);
    if (oom.load()) return fail_os(ENOMEM);
    // A failed write came before any bad chunk: writing stops at the first of either.
    if (out_err) return fail_os(out_err);
    for (std::size_t i = 0; i < fed; ++i) {
      Chunk& c = *chunks[i];
      if (c.bad) {
        const std::uint64_t line = lines_done[file] + c.lines;
        err = RecordsFault{};
        err.kind = FaultKind::key;
        err.line = line;
        err.offset = c.bad_offset;
        err.reason = "line " + std::to_string(line) + c.bad_text;
        err_file = file;
        failed = true;
        return true;
      }
      lines_done[file] += c.lines;
      written += c.written;  // phase 1's chunks write nothing
    }
    if (file == 1 && fed) insert(fed, t);
    if (!f.done()) return false;
    if (f.failed()) {
      err_file = file;
      failed = true;
      if (f.long_line()) {
        const std::uint64_t line = lines_done[file] + 1;
        err = RecordsFault{};
        err.kind = FaultKind::key;
        err.line = line;
        err.offset = f.long_line_offset();
        err.reason = "line " + std::to_string(line) + " is longer than 1 MiB";
      } else {
        err = f.fault();
      }
    }
    return true;
  }

  // Phase 1, after a batch's chunks were parsed: each shard of the set takes its keys from every
  // chunk, in file order, the shards shared out among the batch's team.
  void insert(std::size_t fed, int t) {
    const Chunk& last = *chunks[fed - 1];
    const std::size_t shards = set.count();
    for (std::size_t s = 0; s < shards; ++s) {
      std::size_t batch = 0;
      for (std::size_t i = 0; i < fed; ++i) batch += chunks[i]->keys[s].size();
      set[s].set_progress(last.offset + last.len, expected[1], batch);
    }
    std::atomic<bool> oom{false};
    const auto body = [&](std::ptrdiff_t b, std::ptrdiff_t e) {
      try {
        for (std::ptrdiff_t s = b; s < e; ++s)
          for (std::size_t i = 0; i < fed; ++i) {
            const std::vector<std::uint64_t>& h = chunks[i]->keys[static_cast<std::size_t>(s)];
            set[static_cast<std::size_t>(s)].insert_all(h.data(), h.size());
          }
      } catch (const std::bad_alloc&) {
        oom.store(true);
      }
    };
    hotloop::parallel_for(static_cast<std::ptrdiff_t>(shards), t, 1, body);
    if (oom.load()) throw std::bad_alloc();
  }

  void process_in(Chunk& c, bool header) {
    const std::size_t shards = set.count();
    c.written = 0;
    c.keys.resize(shards);
    for (auto& k : c.keys) {
      k.clear();
      k.reserve((c.len / 16 + 16) / shards);
    }
    // One shard or many, every key is hashed (the set holds hashes), so one loop serves both.
    scan_lines(
        c, header && c.first, key64,
        [&](std::uint64_t k, const std::uint8_t*, std::size_t) {
          const std::uint64_t h = mix(k);
          c.keys[set.shard(h)].push_back(h);
        },
        [](const std::uint8_t*, std::size_t) {});
  }

  void process_all(Chunk& c, bool header) {
    // Each output line is at most as long as its input line plus a '\n' the last one may lack
    // (the header's too), and a key's digits are copied 24 bytes at a time.
    c.out.grow(c.len + 2 + kSlack);
    std::uint8_t* o = c.out.data();
    std::size_t at = 0;
    std::uint64_t written = 0;
    // A key is looked up kAhead keys after its slot was prefetched (a ring of pending keys).
    struct Pending {
      std::uint64_t hash;
      const std::uint8_t* digits;
      std::size_t count;
    } ring[kAhead];
    std::size_t head = 0, pending = 0;
    // Written whether or not it is kept: whether a key is in the set is a coin toss for the
    // branch predictor.
    const auto emit = [&](const Pending& e) {
      const bool keep = !set.contains(e.hash);
      std::memcpy(o + at, e.digits, 24);
      o[at + e.count] = '\n';
      at += keep ? e.count + 1 : 0;
      written += keep;
    };
    const auto flush = [&] {
      for (; pending > 0; --pending) {
        emit(ring[head]);
        head = (head + 1) % kAhead;
      }
    };
    scan_lines(
        c, header && c.first, key64,
        [&](std::uint64_t k, const std::uint8_t* digits, std::size_t count) {
          const std::uint64_t h = mix(k);
          set.prefetch(h);
          if (pending == kAhead) {
            emit(ring[head]);
            ring[head] = Pending{h, digits, count};
            head = (head + 1) % kAhead;
          } else {
            ring[(head + pending++) % kAhead] = Pending{h, digits, count};
          }
        },
        [&](const std::uint8_t* p, std::size_t n) {
          std::memcpy(o + at, p, n);
          at += n;
          o[at++] = '\n';
        });
    flush();  // keys before a bad line still go out in order (the file is discarded anyway)
    c.out_len = at;
    c.written = written;
  }
};

NegativeJob::NegativeJob(bool has_header, bool key64, int n_threads, std::size_t chunk)
    : impl_(new Impl(has_header, key64, n_threads, chunk)) {}
NegativeJob::~NegativeJob() { abort(); }

int NegativeJob::open(const char* all_path, const char* in_path, const char* out_path,
                      int* which) noexcept {
  Impl& s = *impl_;
  const char* paths[2] = {all_path, in_path};
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
    if (have_stat && S_ISREG(st.st_mode)) {
      // A compressed key file is taken as 4 times its size: a guess that only steers the set's
      // growth and the number of threads.
      std::uint8_t head[4] = {};
      const ssize_t got = ::pread(fd, head, sizeof head, 0);
      const bool packed =
          got > 0 && detect_compression(head, static_cast<std::size_t>(got)) != Compression::none;
      s.expected[i] =
          std::max<std::uint64_t>(static_cast<std::uint64_t>(st.st_size), 1) * (packed ? 4 : 1);
    }
    s.feed[i].decoder().start_fd(fd, true);
  }
  const int e = s.out.open(out_path);
  if (e) *which = 2;
  return e;
}

bool NegativeJob::run(std::uint64_t budget) noexcept {
  Impl& s = *impl_;
  try {
    for (;;) {
      if (s.failed) return true;
      if (s.phase == 2) return true;
      const int file = s.phase == 0 ? 1 : 0;
      Feeder& f = s.feed[file];
      const std::uint64_t stop_at = f.consumed() + budget;
      bool done = false;
      while (!done && f.consumed() < stop_at) done = s.batch(file);
      if (s.failed) return true;
      if (!done) return false;
      ++s.phase;
      if (s.phase == 1) return false;
    }
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
