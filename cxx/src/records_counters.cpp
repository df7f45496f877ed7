// Counters (per-id saturated totals in sharded open-addressing tables) and CountJob (files
// decoded and counted by a team of threads).
//
// Tables. An id's 64-bit hash (the splitmix64 finalizer: ids are often sequential or share low
// bits) picks one of kShards tables by its top bits and a home bucket by the bits below those;
// full buckets overflow into the next. A bucket is a cache line of 6 slots (10 with 4-byte keys):
// the keys, then each slot's shows + 1 and clicks, totals saturated at kFrequencyCap; shows + 1
// == 0 marks a free slot, so every key value (0 and 2^64 - 1 included) can be stored. Tables grow
// past 70%. Each record's bucket is prefetched 32 records before its insert: with millions of
// ids the tables live in DRAM and each insert would otherwise wait for one miss.
//
// Shards also split the work of a team of threads without locks. A CountJob run with a team
// has two phases on hotloop's thread pool (threads.hpp): tasks decode claimed blocks and sort
// each block's records by shard; then one task per shard inserts that shard's records of every
// block. Every id lives in one table, so there is nothing to merge (merging per-thread tables
// cost a third of a two-thread count of 5M records), and no task ever waits for another: a
// helper thread that never starts costs nothing, the caller does its share.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "deviceapps_gzip.hpp"
#include "hotloop/threads.hpp"
#include "records_io.hpp"
#include "records_stream.hpp"

namespace hotloop {
namespace {

inline std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

constexpr unsigned kShardBits = 4;
static_assert((std::size_t{1} << kShardBits) == Counters::kShards && Counters::kShards <= 32,
              "shard count (owned shards are a 32-bit mask)");

inline std::size_t shard_of(std::uint64_t h) noexcept {
  return static_cast<std::size_t>(h >> (64 - kShardBits));
}

// A bucket is one cache line of slots: keys first, then each slot's saturated shows + 1 (0: a
// free slot, so every key value, 0 and 2^64 - 1 included, can be stored) and clicks. 6 slots of
// 64-bit keys (10.7 bytes each, where a {key, shows, clicks} struct padded to 16), 10 of 32-bit
// ones.
template <class K>
struct alignas(64) Bucket {
  static constexpr std::size_t kWays = (64 - 4) / (sizeof(K) + 2);
  K key[kWays];
  std::uint8_t s1[kWays];
  std::uint8_t c[kWays];
};
static_assert(sizeof(Bucket<std::uint64_t>) == 64 && Bucket<std::uint64_t>::kWays == 6, "layout");
static_assert(sizeof(Bucket<std::uint32_t>) == 64 && Bucket<std::uint32_t>::kWays == 10, "layout");
// used_slots and match read 16 bytes at s1 and the first 48 bytes: all inside the line.
static_assert(offsetof(Bucket<std::uint64_t>, s1) + 16 <= 64 &&
                  offsetof(Bucket<std::uint32_t>, s1) + 16 <= 64,
              "layout");

// The slots of a bucket fill in order and are never emptied, so its used slots are a prefix:
// used_slots() says how many (0..kWays). With SSE2, used_slots and match compare a whole line
// at once instead of testing each slot with a compare and four bit operations (measured,
// counting 5M records, 4.5M distinct ids, one thread: 28% less time).
template <class K>
inline unsigned used_slots(const Bucket<K>& e) noexcept {
  constexpr unsigned kWays = static_cast<unsigned>(Bucket<K>::kWays);
#if defined(__SSE2__)
  // s1 starts at byte kWays * sizeof(K) (48 or 40): the 16 bytes there lie in the line.
  const __m128i s1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(e.s1));
  const unsigned empty =
      static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(s1, _mm_setzero_si128()))) |
      (~0u << kWays);
  return static_cast<unsigned>(__builtin_ctz(empty));
#else
  unsigned used = 0;
  while (used < kWays && e.s1[used] != 0) ++used;
  return used;
#endif
}

// Returns used_slots(e), and sets *same to the bit mask of the used slots that hold key.
template <class K>
inline unsigned match(const Bucket<K>& e, K key, unsigned* same) noexcept {
  unsigned eq = 0;
#if defined(__SSE2__)
  // The keys fill the first 48 (6 x 8) or 40 (10 x 4) bytes: three loads of 16 cover them.
  const auto* line = reinterpret_cast<const __m128i*>(&e);
  const __m128i k = sizeof(K) == 8 ? _mm_set1_epi64x(static_cast<long long>(key))
                                   : _mm_set1_epi32(static_cast<int>(key));
  for (unsigned j = 0; j < 3; ++j) {
    const __m128i c = _mm_cmpeq_epi32(_mm_load_si128(line + j), k);
    if (sizeof(K) == 8) {
      // A 64-bit slot matches where both of its 32-bit halves do.
      const __m128i both = _mm_and_si128(c, _mm_shuffle_epi32(c, _MM_SHUFFLE(2, 3, 0, 1)));
      eq |= static_cast<unsigned>(_mm_movemask_pd(_mm_castsi128_pd(both))) << (2 * j);
    } else {
      eq |= static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(c))) << (4 * j);
    }
  }
#else
  for (unsigned j = 0; j < Bucket<K>::kWays; ++j) eq |= static_cast<unsigned>(e.key[j] == key) << j;
#endif
  const unsigned used = used_slots(e);
  *same = eq & ((1u << used) - 1);
  return used;
}

inline std::uint8_t sat_add(std::uint32_t a, std::uint32_t b) noexcept {
  const std::uint32_t s = a + b;
  return static_cast<std::uint8_t>(s < kFrequencyCap ? s : kFrequencyCap);
}

// Bucket arrays come from zeroed_array (records_io.hpp): huge pages from 1 MiB on. Growing the
// tables costs mostly page faults otherwise (measured: 63 ns per record with 4 KiB pages for 1M
// records, 0.9M distinct ids, in a KVM guest).
//
// Probing: an id lives in the first bucket from its home that had a free slot when it came (ids
// are never removed), so a lookup stops at the first bucket that holds it or a free slot: one
// cache line almost always, its slots compared without branches. (Probing slot by slot, the
// loop's exit was a mispredicted branch for most records: a third of the time of counting 5M
// records, 4.5M distinct.)
template <class K>
struct Table {
  static constexpr std::size_t kWays = Bucket<K>::kWays;
  std::unique_ptr<Bucket<K>[], records_detail::ZeroedMemory> buckets;
  std::size_t nb = 0;  // buckets (none before the first insert)
  std::size_t size = 0;
  // The frequency tables of this table's ids, kept up to date by add(): scanning the slots at
  // the end read every table once more (a tenth of the time of counting 5M records, in DRAM).
  std::uint64_t freq_s[kFrequencyCount] = {}, freq_c[kFrequencyCount] = {};

  std::size_t n_buckets() const noexcept { return nb; }
  std::size_t capacity() const noexcept { return n_buckets() * kWays; }  // slots

  // An id's home bucket: the hash bits below the shard bits, as a fraction of the bucket count
  // (multiply-high, so any count works: a table sized to the ids it expects, not rounded up to
  // a power of two, which left the tables for 4.5M ids 36% full, 128 MB). Homes rise with the
  // hash, so buckets stay in hash order and growing moves every entry forward in one
  // sequential sweep: a streaming copy instead of a cache miss per entry (measured: growth was
  // half the time of counting 1M mostly distinct ids before).
  static std::size_t home_in(std::uint64_t h, std::size_t buckets) noexcept {
    return static_cast<std::size_t>((static_cast<unsigned __int128>(h << kShardBits) * buckets) >>
                                    64);
  }
  std::size_t home(std::uint64_t h) const noexcept { return home_in(h, nb); }
  std::size_t next(std::size_t b) const noexcept { return b + 1 == nb ? 0 : b + 1; }

  // Calls f(key, shows, clicks) for every id.
  template <class F>
  void each(F&& f) const {
    for (std::size_t b = 0, n = n_buckets(); b < n; ++b) {
      const Bucket<K>& e = buckets[b];
      for (std::size_t j = 0; j < kWays; ++j)
        if (e.s1[j]) f(e.key[j], e.s1[j] - 1u, e.c[j]);
    }
  }

  // Grows to at least `slots` slots, and at least twice the buckets.
  void grow(std::size_t slots = 0) {
    const std::size_t fresh_nb =
        std::max<std::size_t>({2 * nb, (slots + kWays - 1) / kWays, std::size_t{4}});
    auto fresh = records_detail::zeroed_array<Bucket<K>>(fresh_nb);
    each([&](K key, unsigned s, unsigned c) {
      std::size_t b = home_in(mix(key), fresh_nb);
      for (;; b = b + 1 == fresh_nb ? 0 : b + 1) {
        Bucket<K>& e = fresh[b];
        const unsigned j = used_slots(e);
        if (j == kWays) continue;
        e.key[j] = key;
        e.s1[j] = static_cast<std::uint8_t>(s + 1);
        e.c[j] = static_cast<std::uint8_t>(c);
        break;
      }
    });
    buckets = std::move(fresh);
    nb = fresh_nb;
  }

  const Bucket<K>* probe_address(std::uint64_t h) const noexcept {
    return buckets ? &buckets[home(h)] : nullptr;
  }

  // The capacity (slots) to grow to: double, or more when `seen` of `expected` records produced
  // this table's ids at a rate that will need more (a straight-line projection to the expected
  // total, for a table 60% full), at most 8 times the current capacity per step. Doubling alone
  // cost half the time of counting 1M mostly distinct ids (copies and page faults of every
  // intermediate table); the cap bounds the overshoot when new ids stop coming (then tables hold up
  // to 8 times the slots their ids need).
  std::size_t next_capacity(std::uint64_t seen, std::uint64_t expected) const noexcept {
    const std::size_t twice = capacity() ? 2 * capacity() : 4 * kWays;
    if (seen == 0 || expected <= seen || !capacity()) return twice;
    const double need = static_cast<double>(size + 1) * static_cast<double>(expected) /
                        static_cast<double>(seen) * (10.0 / 6.0);
    const double most = 8.0 * static_cast<double>(capacity());
    return need <= static_cast<double>(twice) ? twice
           : need >= most                     ? 8 * capacity()
                                              : static_cast<std::size_t>(need);
  }

  // Adds saturated totals s, c (<= kFrequencyCap) to key's slot. seen, expected: see
  // next_capacity. Inlined into the loops that call it; growing is not.
  __attribute__((always_inline)) inline void add(K key, std::uint64_t h, std::uint32_t s,
                                                 std::uint32_t c, std::uint64_t seen = 0,
                                                 std::uint64_t expected = 0) {
    if (__builtin_expect((size + 1) * 10 > capacity() * 7, 0)) grow_for(seen, expected);
    for (std::size_t b = home(h);; b = next(b)) {
      Bucket<K>& e = buckets[b];
      unsigned same;
      const unsigned used = match(e, key, &same);
      if (same) {
        const unsigned j = static_cast<unsigned>(__builtin_ctz(same));
        const unsigned old_s = e.s1[j] - 1u, old_c = e.c[j];
        const std::uint8_t new_s = sat_add(old_s, s), new_c = sat_add(old_c, c);
        --freq_s[old_s];
        ++freq_s[new_s];
        --freq_c[old_c];
        ++freq_c[new_c];
        e.s1[j] = static_cast<std::uint8_t>(new_s + 1);
        e.c[j] = new_c;
        return;
      }
      if (used < kWays) {
        e.key[used] = key;
        e.s1[used] = static_cast<std::uint8_t>(s + 1);
        e.c[used] = static_cast<std::uint8_t>(c);
        ++size;
        ++freq_s[s];
        ++freq_c[c];
        return;
      }
    }
  }
  __attribute__((noinline)) void grow_for(std::uint64_t seen, std::uint64_t expected) {
    grow(next_capacity(seen, expected));
  }
};

inline std::uint32_t cap_count(std::uint32_t v) noexcept {
  return v < kFrequencyCap ? v : kFrequencyCap;
}

template <class K>
struct ShardSet {
  Table<K> shards[Counters::kShards];

  // Adds the ids of n packed records (sizeof(K) + 4 bytes each) at p whose shard is owned by
  // `member` of a team of `team` (shard % team == member; team 1 owns all), and adds the shows
  // and clicks sums of all n records to *shows and *clicks. The slot of record i + kAhead is
  // prefetched while record i is inserted: with tables in DRAM an insert otherwise waits for
  // its miss.
  // seen, expected: the records the Counters had seen before these, and how many it expects in
  // all (0: unknown), for the tables' growth (Table::next_capacity).
  void add_records(const std::uint8_t* p, std::size_t n, std::size_t team, std::size_t member,
                   std::uint64_t* shows, std::uint64_t* clicks, std::uint64_t seen,
                   std::uint64_t expected) {
    // The owned shards as a bit mask (a division per record would cost 10% of the time).
    std::uint32_t owned = 0;
    for (std::size_t k = member; k < Counters::kShards; k += team) owned |= std::uint32_t{1} << k;
    constexpr std::size_t kRec = sizeof(K) + 4;
    constexpr std::size_t kAhead = 32;  // a power of two
    std::uint64_t ring[kAhead];
    std::uint64_t sum_s = 0, sum_c = 0;
    auto hash_at = [&](std::size_t i) {
      K key;
      std::memcpy(&key, p + i * kRec, sizeof(K));
      const std::uint64_t h = mix(key);
      const std::size_t k = shard_of(h);
      if (owned >> k & 1) {
        const auto* a = shards[k].probe_address(h);
        if (a) __builtin_prefetch(a, 1, 3);
      }
      return h;
    };
    for (std::size_t i = 0; i < n && i < kAhead; ++i) ring[i] = hash_at(i);
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t h = ring[i % kAhead];
      if (i + kAhead < n) ring[i % kAhead] = hash_at(i + kAhead);
      const std::uint8_t* r = p + i * kRec;
      std::uint16_t s, c;
      std::memcpy(&s, r + sizeof(K), 2);
      std::memcpy(&c, r + sizeof(K) + 2, 2);
      sum_s += s;
      sum_c += c;
      const std::size_t k = shard_of(h);
      if (!(owned >> k & 1)) continue;
      K key;
      std::memcpy(&key, r, sizeof(K));
      shards[k].add(key, h, cap_count(s), cap_count(c), seen + i, expected);
    }
    *shows += sum_s;
    *clicks += sum_c;
  }

  void merge_shards(const ShardSet& o, std::size_t begin, std::size_t end) {
    for (std::size_t k = begin; k < end; ++k) {
      const Table<K>& t = o.shards[k];
      // Room for both first. Inserting another table's slots in slot order into a table that
      // is smaller and filling up piles them into a few long probe runs (quadratic: measured
      // 77% of a two-thread count of 5M records spent here before this).
      const std::size_t want = shards[k].size + t.size;
      if (want * 10 > shards[k].capacity() * 7) shards[k].grow(want * 10 / 7 + 1);
      t.each([&](K key, unsigned s, unsigned c) { shards[k].add(key, mix(key), s, c); });
    }
  }
};

}  // namespace

// The key size is a run-time choice, so both shard sets exist; the unused one holds empty
// tables (no slots are allocated before the first insert).
struct Counters::Impl {
  std::size_t key_size;
  ShardSet<std::uint64_t> s64;
  ShardSet<std::uint32_t> s32;
  std::uint64_t shows = 0, clicks = 0, records = 0;
  std::uint64_t expected = 0;  // expect_records()
  explicit Impl(std::size_t ks) : key_size(ks == 4 ? 4 : 8) {}

  template <class F>
  void each_slot(F&& f) const {
    for (const auto& t : s64.shards) t.each(f);
    for (const auto& t : s32.shards) t.each(f);
  }
};

Counters::Counters(std::size_t key_size) : impl_(new Impl(key_size)) {}
Counters::~Counters() = default;
Counters::Counters(Counters&&) noexcept = default;
Counters& Counters::operator=(Counters&&) noexcept = default;

std::size_t Counters::key_size() const noexcept { return impl_->key_size; }

void Counters::add_records(const std::uint8_t* recs, std::size_t n) {
  Impl& s = *impl_;
  if (s.key_size == 8)
    s.s64.add_records(recs, n, 1, 0, &s.shows, &s.clicks, s.records, s.expected);
  else
    s.s32.add_records(recs, n, 1, 0, &s.shows, &s.clicks, s.records, s.expected);
  s.records += n;
}

void Counters::expect_records(std::uint64_t n) noexcept { impl_->expected = n; }

void Counters::add_records_owned(const std::uint8_t* recs, std::size_t n, std::size_t team,
                                 std::size_t member, bool totals, std::uint64_t seen) {
  Impl& s = *impl_;
  std::uint64_t sh = 0, cl = 0;
  if (s.key_size == 8)
    s.s64.add_records(recs, n, team, member, &sh, &cl, seen, s.expected);
  else
    s.s32.add_records(recs, n, team, member, &sh, &cl, seen, s.expected);
  if (totals) add_totals(sh, cl, n);
}

void Counters::take_shards(Counters& other, std::size_t team, std::size_t member) noexcept {
  for (std::size_t k = member; k < kShards; k += team) {
    std::swap(impl_->s64.shards[k], other.impl_->s64.shards[k]);
    std::swap(impl_->s32.shards[k], other.impl_->s32.shards[k]);
  }
}

void Counters::add_capped(std::uint64_t id, std::uint32_t sh, std::uint32_t cl) {
  Impl& s = *impl_;
  const std::uint64_t h = mix(s.key_size == 8 ? id : static_cast<std::uint32_t>(id));
  if (s.key_size == 8)
    s.s64.shards[shard_of(h)].add(id, h, cap_count(sh), cap_count(cl));
  else
    s.s32.shards[shard_of(h)].add(static_cast<std::uint32_t>(id), h, cap_count(sh), cap_count(cl));
}

void Counters::add_totals(std::uint64_t shows, std::uint64_t clicks,
                          std::uint64_t records) noexcept {
  impl_->shows += shows;
  impl_->clicks += clicks;
  impl_->records += records;
}

void Counters::merge_shards(const Counters& other, std::size_t begin, std::size_t end) {
  end = std::min(end, kShards);
  if (impl_->key_size == 8)
    impl_->s64.merge_shards(other.impl_->s64, begin, end);
  else
    impl_->s32.merge_shards(other.impl_->s32, begin, end);
}

void Counters::merge(const Counters& other) {
  if (&other == this) {  // a + a: every saturated total doubles
    Counters copy(impl_->key_size);
    copy.merge(*this);
    merge(copy);
    return;
  }
  merge_shards(other, 0, kShards);
  add_totals(other.shows_all(), other.clicks_all(), other.records());
}

std::uint64_t Counters::shows_all() const noexcept { return impl_->shows; }
std::uint64_t Counters::clicks_all() const noexcept { return impl_->clicks; }
std::uint64_t Counters::records() const noexcept { return impl_->records; }

std::uint64_t Counters::distinct() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : impl_->s64.shards) n += t.size;
  for (const auto& t : impl_->s32.shards) n += t.size;
  return n;
}

void Counters::frequencies(std::uint64_t* shows_freq, std::uint64_t* clicks_freq) const noexcept {
  std::fill(shows_freq, shows_freq + kFrequencyCount, 0);
  std::fill(clicks_freq, clicks_freq + kFrequencyCount, 0);
  const auto add = [&](const auto& set) {
    for (const auto& t : set.shards)
      for (std::size_t k = 0; k < kFrequencyCount; ++k) {
        shows_freq[k] += t.freq_s[k];
        clicks_freq[k] += t.freq_c[k];
      }
  };
  add(impl_->s64);
  add(impl_->s32);
}

void Counters::export_state(std::uint64_t* ids, std::uint8_t* shows,
                            std::uint8_t* clicks) const noexcept {
  std::size_t i = 0;
  impl_->each_slot([&](std::uint64_t k, unsigned s, unsigned c) {
    ids[i] = k;
    shows[i] = static_cast<std::uint8_t>(s);
    clicks[i] = static_cast<std::uint8_t>(c);
    ++i;
  });
}

// ---------------------------------------------------------------------------------------------
// CountJob

namespace {

using records_detail::Decoder;

struct JobFile {
  int fd = -1;
  bool splittable = false;  // a regular file: byte ranges are claimed with pread
  std::uint64_t size = 0;
  Compression comp = Compression::none;
  std::uint64_t expect_bytes = 0;  // estimated decompressed size (0: unknown)
  std::mutex mu;                   // guards what follows
  std::uint64_t cursor = 0;
  bool claimed_all = false;
  bool any_block = false;
  bool tail_open = false;  // the last claimed block was hinted 'L'
  ~JobFile() {
    if (fd >= 0) ::close(fd);
  }
};

// A claimed piece of work. order: (file, begin), to pick the first error deterministically.
struct Segment {
  std::size_t file = 0;
  std::uint64_t begin = 0;
  bool active = false;
};

// Decoded records sorted by shard (team > 1): shard k's are records [start[k], start[k + 1]).
struct Block {
  std::unique_ptr<std::uint8_t[]> data;
  std::size_t n = 0;  // records
  std::size_t start[Counters::kShards + 1] = {};
};

// The state of one claimed segment: a decoder in the middle of a stream. Not tied to a thread:
// whichever thread is free picks up a worker (see CountJob::run).
struct Worker {
  Decoder dec;
  Segment seg;
  bool busy = false;                         // held by a running task (guarded by Impl::worker_mu)
  std::unique_ptr<std::uint8_t[]> shard_of;  // scratch: each record's shard
  std::size_t shard_of_size = 0;
  std::uint64_t shows = 0, clicks = 0, records = 0;  // exact totals of what it decoded
  explicit Worker(std::size_t key_size) : dec(key_size + 4) {}
};

constexpr std::uint64_t kRawSlice = kBlockSize;
// Decompressed bytes a team decodes and sorts by shard before inserting them (memory held
// between the two phases, twice over while sorting).
constexpr std::int64_t kBatch = std::int64_t{8} << 20;
// Compressed bytes of work that justify one more thread (about 1-3 ms of decoding).
constexpr std::uint64_t kPiece = std::uint64_t{1} << 20;

}  // namespace

// The decompressed size of a regular file, estimated for Counters::expect_records: exact when
// uncompressed; from the first block's hint (its compression ratio) for files of hotloop's
// writer; from a single gzip member's ISIZE; else twice the file size. A wrong guess costs
// memory or time within the bounds Counters states, never a wrong count.
std::uint64_t estimate_content(const JobFile& jf) noexcept {
  if (jf.comp == Compression::none) return jf.size;
  std::uint8_t h[gzip_member::kHeaderSize > records_detail::kLz4HintSize
                     ? gzip_member::kHeaderSize
                     : records_detail::kLz4HintSize] = {};
  const auto read_at = [&](std::uint8_t* dst, std::size_t n, std::uint64_t at) {
    ssize_t got;
    do {
      got = ::pread(jf.fd, dst, n, static_cast<off_t>(at));
    } while (got < 0 && errno == EINTR);
    return got == static_cast<ssize_t>(n);
  };
  const auto scaled = [&](std::uint64_t content, std::uint64_t compressed) {
    return compressed ? static_cast<std::uint64_t>(static_cast<double>(jf.size) *
                                                   static_cast<double>(content) /
                                                   static_cast<double>(compressed))
                      : 2 * jf.size;
  };
  bool last = false;
  if (jf.comp == Compression::gzip) {
    if (read_at(h, gzip_member::kHeaderSize, 0) && gzip_member::is_our_header(h, &last))
      return scaled(gzip_member::get_u32(h + 20), gzip_member::get_u32(h + 16));
    std::uint8_t isize[4];
    if (jf.size >= 4 && read_at(isize, 4, jf.size - 4)) {
      const std::uint64_t v = gzip_member::get_u32(isize);
      if (v >= jf.size) return v;
    }
    return 2 * jf.size;
  }
  std::uint32_t frame = 0, content = 0;
  if (read_at(h, records_detail::kLz4HintSize, 0) &&
      records_detail::parse_lz4_hint(h, &last, &frame, &content))
    return scaled(content, std::uint64_t{frame} + records_detail::kLz4HintSize);
  return 2 * jf.size;
}

struct CountJob::Impl {
  std::size_t key_size;
  int n_threads;
  int team = 0;  // threads used, chosen at the first run()
  std::vector<std::unique_ptr<JobFile>> files;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<std::size_t> first_open{0};  // files before it are claimed entirely
  std::atomic<std::int64_t> budget{0};
  std::atomic<bool> any_error{false};
  Counters total;              // the result: filled directly by a team of one, by shard otherwise
  std::uint64_t inserted = 0;  // team > 1: records inserted by the runs so far
  std::mutex worker_mu;        // guards Worker::busy
  // Team > 1: the blocks decoded in the current run(), waiting to be inserted by shard.
  std::mutex block_mu;
  std::vector<Block> blocks;
  std::mutex err_mu;
  RecordsFault err;
  std::size_t err_file = 0;
  std::uint64_t err_begin = 0;
  bool have_err = false;

  Impl(std::size_t ks, int nt)
      : key_size(ks == 4 ? 4 : 8), n_threads(std::max(nt, 1)), total(key_size) {}

  void record_error(const Segment& seg, const RecordsFault& f) {
    std::lock_guard<std::mutex> lock(err_mu);
    if (!have_err || seg.file < err_file || (seg.file == err_file && seg.begin < err_begin)) {
      err = f;
      err_file = seg.file;
      err_begin = seg.begin;
      have_err = true;
    }
    any_error.store(true, std::memory_order_relaxed);
  }

  // Whether a segment still matters once an error is known: only one before the error can
  // change which error is reported.
  bool still_relevant(const Segment& seg) {
    if (!any_error.load(std::memory_order_relaxed)) return true;
    std::lock_guard<std::mutex> lock(err_mu);
    return seg.file < err_file || (seg.file == err_file && seg.begin < err_begin);
  }

  // Claims the next piece of file f for w. false: nothing left in f.
  bool claim_in(std::size_t f, Worker& w) {
    JobFile& jf = *files[f];
    std::lock_guard<std::mutex> lock(jf.mu);
    if (jf.claimed_all) return false;
    const std::uint64_t at = jf.cursor;
    auto take_rest = [&](bool check_tail) {
      w.dec.start_range(jf.fd, at, jf.splittable ? jf.size : ~std::uint64_t{0}, jf.comp,
                        jf.comp == Compression::none ? at : Decoder::kUnknownBase, at > 0,
                        check_tail);
      jf.claimed_all = true;
    };
    w.seg = Segment{f, at, true};
    if (!jf.splittable) {
      // A pipe or device: one sequential reader, compression detected by it.
      w.dec.start_fd(jf.fd, false);
      jf.claimed_all = true;
      return true;
    }
    if (at >= jf.size) {
      jf.claimed_all = true;
      if (jf.tail_open) {  // the file was cut right after an 'L' block
        RecordsFault f;
        f.kind = jf.comp == Compression::lz4 ? FaultKind::lz4 : FaultKind::gzip;
        f.file_offset = at;
        f.reason = "truncated stream: the file ends at byte " + std::to_string(at) +
                   ", right after a block that hotloop's writer did not mark as its last (the "
                   "file was cut between two blocks)";
        record_error(w.seg, f);
      }
      w.seg.active = false;
      return false;
    }
    if (jf.comp == Compression::none) {
      std::uint64_t end = at + kRawSlice;
      if (end > jf.size) end = jf.size;
      w.dec.start_range(jf.fd, at, end, Compression::none, at, false, false);
      jf.cursor = end;
      if (end == jf.size) jf.claimed_all = true;
      return true;
    }
    std::uint8_t h[gzip_member::kHeaderSize > records_detail::kLz4HintSize
                       ? gzip_member::kHeaderSize
                       : records_detail::kLz4HintSize];
    const std::size_t want =
        jf.comp == Compression::gzip ? gzip_member::kHeaderSize : records_detail::kLz4HintSize;
    ssize_t got;
    do {
      got = ::pread(jf.fd, h, want, static_cast<off_t>(at));
    } while (got < 0 && errno == EINTR);
    bool last = false;
    std::uint64_t total = 0;
    if (got == static_cast<ssize_t>(want)) {
      if (jf.comp == Compression::gzip) {
        if (gzip_member::is_our_header(h, &last)) {
          total = gzip_member::get_u32(h + 16);
          if (total < gzip_member::kHeaderSize + gzip_member::kTrailerSize ||
              total > records_detail::kMaxHintedTotal ||
              gzip_member::get_u32(h + 20) > records_detail::kMaxHintedContent)
            total = 0;
        }
      } else {
        std::uint32_t frame = 0, content = 0;
        if (records_detail::parse_lz4_hint(h, &last, &frame, &content) &&
            frame <= records_detail::kMaxHintedTotal)
          total = records_detail::kLz4HintSize + std::uint64_t{frame};
      }
    }
    if (total == 0 || at + total > jf.size) {
      take_rest(true);
      return true;
    }
    w.dec.start_range(jf.fd, at, at + total, jf.comp, Decoder::kUnknownBase, at > 0, false);
    jf.cursor = at + total;
    jf.tail_open = !last;
    return true;
  }

  bool claim(Worker& w) {
    if (any_error.load(std::memory_order_relaxed)) return false;
    for (std::size_t f = first_open.load(); f < files.size(); ++f) {
      if (claim_in(f, w)) return true;
      // f is exhausted: move the shared start past it (only forward).
      std::size_t cur = first_open.load();
      while (cur <= f && !first_open.compare_exchange_weak(cur, f + 1)) {
      }
    }
    return false;
  }

  // One thread's share of a run() with a team of one: works until the budget is spent or no
  // work is left.
  void work_alone(Worker& w) {
    for (;;) {
      if (!w.seg.active && !claim(w)) return;
      if (!still_relevant(w.seg)) {
        w.seg.active = false;
        continue;
      }
      const std::uint8_t* data;
      std::size_t size;
      const int r = w.dec.next(&data, &size);
      if (r > 0) {
        total.add_records(data, size / (key_size + 4));
        if (spend(size)) return;
      } else {
        if (r < 0) record_error(w.seg, w.dec.fault());
        w.seg.active = false;
      }
    }
  }

  bool spend(std::size_t bytes) {  // true: the budget is spent
    const auto b = static_cast<std::int64_t>(bytes);
    return budget.fetch_sub(b) - b <= 0;
  }

  // A free worker for a task of a team: one holding a segment when `active_only` or when there
  // is one, else any free one (there are as many workers as tasks can run at once). Null if
  // none.
  Worker* acquire(bool active_only) {
    std::lock_guard<std::mutex> lock(worker_mu);
    Worker* idle = nullptr;
    for (const auto& w : workers) {
      if (w->busy) continue;
      if (w->seg.active) {
        w->busy = true;
        return w.get();
      }
      if (!idle) idle = w.get();
    }
    if (active_only || !idle) return nullptr;
    idle->busy = true;
    return idle;
  }
  void release(Worker& w) {
    std::lock_guard<std::mutex> lock(worker_mu);
    w.busy = false;
  }

  // The records decoded by w into a Block sorted by shard (a counting sort on the shard of
  // each id's hash), added to `blocks` for the insertion phase. Sums the exact totals into w.
  template <class K>
  void scatter(Worker& w, const std::uint8_t* p, std::size_t n) {
    constexpr std::size_t kRec = sizeof(K) + 4;
    if (w.shard_of_size < n) {
      w.shard_of.reset(new std::uint8_t[n]);
      w.shard_of_size = n;
    }
    std::uint8_t* sh = w.shard_of.get();
    std::size_t count[Counters::kShards] = {};
    std::uint64_t sum_s = 0, sum_c = 0;
    for (std::size_t i = 0; i < n; ++i) {
      K key;
      std::uint16_t a, b;
      std::memcpy(&key, p + i * kRec, sizeof(K));
      std::memcpy(&a, p + i * kRec + sizeof(K), 2);
      std::memcpy(&b, p + i * kRec + sizeof(K) + 2, 2);
      sum_s += a;
      sum_c += b;
      const std::size_t k = shard_of(mix(key));
      sh[i] = static_cast<std::uint8_t>(k);
      ++count[k];
    }
    Block blk;
    blk.n = n;
    blk.data.reset(new std::uint8_t[n * kRec]);
    std::size_t at[Counters::kShards];
    for (std::size_t k = 0; k < Counters::kShards; ++k) {
      at[k] = blk.start[k];
      blk.start[k + 1] = blk.start[k] + count[k];
    }
    std::uint8_t* out = blk.data.get();
    for (std::size_t i = 0; i < n; ++i) std::memcpy(out + at[sh[i]]++ * kRec, p + i * kRec, kRec);
    w.shows += sum_s;
    w.clicks += sum_c;
    w.records += n;
    std::lock_guard<std::mutex> lock(block_mu);
    blocks.push_back(std::move(blk));
  }

  // A team member's decoding: continues w's segment or claims new ones, sorting each decoded
  // piece by shard, until the budget is spent or w finds no more work. true: budget spent.
  bool work_scatter(Worker& w) {
    for (;;) {
      if (!w.seg.active && !claim(w)) return false;
      if (!still_relevant(w.seg)) {
        w.seg.active = false;
        continue;
      }
      const std::uint8_t* data;
      std::size_t size;
      const int r = w.dec.next(&data, &size);
      if (r > 0) {
        const std::size_t n = size / (key_size + 4);
        if (key_size == 8)
          scatter<std::uint64_t>(w, data, n);
        else
          scatter<std::uint32_t>(w, data, n);
        if (spend(size)) return true;
      } else {
        if (r < 0) record_error(w.seg, w.dec.fault());
        w.seg.active = false;
      }
    }
  }

  // One task of the decoding phase: works with a free worker until the budget is spent; when
  // that worker runs out of work, continues the segments other workers hold (their tasks may
  // never run: a helper thread that has not started is not waited for).
  void decode_task() {
    Worker* w = acquire(false);
    while (w) {
      const bool spent = work_scatter(*w);
      release(*w);
      if (spent) return;
      w = acquire(true);
    }
  }

  bool all_done() {
    if (first_open.load() < files.size() && !any_error.load()) return false;
    for (const auto& w : workers)
      if (w->seg.active) return false;
    return true;
  }
};

CountJob::CountJob(std::size_t key_size, int n_threads) : impl_(new Impl(key_size, n_threads)) {
  for (int i = 0; i < impl_->n_threads; ++i)
    impl_->workers.emplace_back(new Worker(impl_->key_size));
}

CountJob::~CountJob() = default;

int CountJob::add_file(const char* path) noexcept {
  try {
    std::unique_ptr<JobFile> jf(new JobFile());
    jf->fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (jf->fd < 0) return errno;
    struct stat st;
    if (::fstat(jf->fd, &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    jf->splittable = S_ISREG(st.st_mode);
    if (jf->splittable) {
      jf->size = static_cast<std::uint64_t>(st.st_size);
      std::uint8_t head[4];
      ssize_t got;
      do {
        got = ::pread(jf->fd, head, sizeof head, 0);
      } while (got < 0 && errno == EINTR);
      if (got < 0) return errno;
      jf->comp = detect_compression(head, static_cast<std::size_t>(got));
      jf->expect_bytes = estimate_content(*jf);
    }
    impl_->files.push_back(std::move(jf));
    return 0;
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
}

bool CountJob::run(std::uint64_t budget) noexcept {
  Impl& s = *impl_;
  const std::int64_t cap = std::int64_t{1} << 62;
  const std::int64_t total_budget =
      budget > static_cast<std::uint64_t>(cap) ? cap : static_cast<std::int64_t>(budget);
  s.budget.store(total_budget);
  if (s.team == 0) {
    // Threads must pay for themselves: waking a parked thread costs milliseconds on a busy
    // machine (measured: 34 ms per call with two threads on a 2-core machine at load 8, for a
    // 40-record file). So one thread per piece of at least kPiece bytes, at most n_threads.
    std::uint64_t pieces = 0;
    for (const auto& f : s.files) pieces += f->splittable ? (f->size + kPiece - 1) / kPiece : 1;
    s.team = static_cast<int>(std::min<std::uint64_t>({std::max<std::uint64_t>(pieces, 1),
                                                       static_cast<std::uint64_t>(s.n_threads),
                                                       std::uint64_t{Counters::kShards}}));
    std::uint64_t bytes = 0;
    for (const auto& f : s.files) bytes += f->expect_bytes;
    s.total.expect_records(bytes / (s.key_size + 4));
  }
  const int n = s.team;
  std::atomic<bool> oom{false};
  if (n == 1) {
    try {
      s.work_alone(*s.workers[0]);
    } catch (const std::bad_alloc&) {
      oom.store(true);
    }
  } else {
    // Batches of two phases on the shared pool (threads.hpp), neither of which waits for a
    // helper that has not started: up to n tasks decode pieces and sort their records by shard
    // (each task works until the batch's budget is spent, so the caller alone finishes it if no
    // helper comes); then one task per shard inserts that shard's records of every piece into
    // `total` (tasks touch disjoint shards, so no locks and no merge). A batch's records wait
    // in memory between the phases: kBatch bounds them.
    const auto decode = [&](std::ptrdiff_t b, std::ptrdiff_t e) {
      for (std::ptrdiff_t i = b; i < e; ++i) {
        try {
          s.decode_task();
        } catch (const std::bad_alloc&) {
          oom.store(true);
        }
      }
    };
    const std::size_t rec = s.key_size + 4;
    const auto insert_shard = [&](std::ptrdiff_t b, std::ptrdiff_t e) {
      for (std::ptrdiff_t k = b; k < e; ++k) {
        const auto shard = static_cast<std::size_t>(k);
        std::uint64_t seen = s.inserted;
        try {
          for (const Block& blk : s.blocks) {
            s.total.add_records_owned(blk.data.get() + blk.start[shard] * rec,
                                      blk.start[shard + 1] - blk.start[shard], Counters::kShards,
                                      shard, false, seen);
            seen += blk.n;
          }
        } catch (const std::bad_alloc&) {
          oom.store(true);
        }
      }
    };
    for (std::int64_t left = total_budget; left > 0 && !oom.load();) {
      const std::int64_t batch = std::min(left, kBatch);
      s.budget.store(batch);
      hotloop::parallel_for(n, n, 1, decode);
      hotloop::parallel_for(static_cast<std::ptrdiff_t>(Counters::kShards), n, 1, insert_shard);
      for (const Block& blk : s.blocks) s.inserted += blk.n;
      s.blocks.clear();
      const std::int64_t unspent = s.budget.load();
      if (unspent > 0) break;  // the decoding tasks found no more work
      left -= batch - unspent;
    }
  }
  if (oom.load()) {
    RecordsFault f;
    f.kind = FaultKind::os;
    f.sys_errno = ENOMEM;
    s.record_error(Segment{0, 0, false}, f);
    return true;
  }
  return s.all_done();
}

bool CountJob::failed() const noexcept { return impl_->have_err; }
const RecordsFault& CountJob::error() const noexcept { return impl_->err; }
std::size_t CountJob::error_file() const noexcept { return impl_->err_file; }

int CountJob::finish(Counters* out) noexcept {
  Impl& s = *impl_;
  for (const auto& w : s.workers) {
    s.total.add_totals(w->shows, w->clicks, w->records);
    w->shows = w->clicks = w->records = 0;
  }
  *out = std::move(s.total);
  return 0;
}

}  // namespace hotloop
