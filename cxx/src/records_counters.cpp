// Counters (per-id saturated totals in sharded open-addressing tables) and CountJob (files
// decoded and counted by a team of threads).
//
// Tables. An id's 64-bit hash (the splitmix64 finalizer: ids are often sequential or share low
// bits) picks one of kShards tables by its top bits and a slot by its low bits; collisions probe
// linearly. A slot is {key, shows + 1, clicks} with the totals saturated at kFrequencyCap, so 16
// bytes (8 with 4-byte keys), four (eight) to a cache line; shows + 1 == 0 marks an empty slot,
// so every key value (0 and 2^64 - 1 included) can be stored. Tables grow by doubling past 70%.
// Records are inserted in groups of 16 whose slots are prefetched first: with millions of ids
// the tables live in DRAM and each insert would otherwise wait for one miss.
//
// Shards also split the work of a team of threads without locks: member t of a team of T owns
// the ids of shards t, t + T, ... A CountJob member decodes a claimed block, inserts the ids it
// owns, and publishes a copy of the block; the others insert the ids they own from it. Every id
// lives in exactly one member's tables, so the team's results join by moving tables (no merge:
// merging per-thread tables cost a third of a two-thread count of 5M records).
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "deviceapps_gzip.hpp"
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

template <class K>
struct Slot {
  K key;
  std::uint8_t s1;  // saturated shows + 1; 0: empty slot
  std::uint8_t c;   // saturated clicks
};

inline std::uint8_t sat_add(std::uint32_t a, std::uint32_t b) noexcept {
  const std::uint32_t s = a + b;
  return static_cast<std::uint8_t>(s < kFrequencyCap ? s : kFrequencyCap);
}

// Slot arrays come from zeroed_array (records_io.hpp): huge pages from 2 MiB on. Growing the
// tables costs mostly page faults otherwise (measured: 63 ns per record with 4 KiB pages for 1M
// records, 0.9M distinct ids, in a KVM guest).
template <class K>
struct Table {
  std::unique_ptr<Slot<K>[], records_detail::ZeroedMemory> slots;
  std::size_t mask = 0;  // capacity - 1 (capacity 0 before the first insert)
  std::size_t size = 0;

  std::size_t capacity() const noexcept { return slots ? mask + 1 : 0; }

  void grow(std::size_t at_least = 0) {
    std::size_t cap = capacity() ? 2 * capacity() : 16;
    while (cap < at_least) cap *= 2;
    auto fresh = records_detail::zeroed_array<Slot<K>>(cap);
    const std::size_t m = cap - 1;
    for (std::size_t i = 0, n = capacity(); i < n; ++i) {
      const Slot<K>& e = slots[i];
      if (!e.s1) continue;
      std::size_t j = static_cast<std::size_t>(mix(e.key)) & m;
      while (fresh[j].s1) j = (j + 1) & m;
      fresh[j] = e;
    }
    slots = std::move(fresh);
    mask = m;
  }

  const Slot<K>* probe_address(std::uint64_t h) const noexcept {
    return slots ? &slots[static_cast<std::size_t>(h) & mask] : nullptr;
  }

  // Adds saturated totals s, c (<= kFrequencyCap) to key's slot.
  void add(K key, std::uint64_t h, std::uint32_t s, std::uint32_t c) {
    if ((size + 1) * 10 > capacity() * 7) grow();
    std::size_t i = static_cast<std::size_t>(h) & mask;
    for (;;) {
      Slot<K>& e = slots[i];
      if (!e.s1) {
        e.key = key;
        e.s1 = static_cast<std::uint8_t>(s + 1);
        e.c = static_cast<std::uint8_t>(c);
        ++size;
        return;
      }
      if (e.key == key) {
        e.s1 = static_cast<std::uint8_t>(sat_add(e.s1 - 1u, s) + 1);
        e.c = sat_add(e.c, c);
        return;
      }
      i = (i + 1) & mask;
    }
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
  void add_records(const std::uint8_t* p, std::size_t n, std::size_t team, std::size_t member,
                   std::uint64_t* shows, std::uint64_t* clicks) {
    // The owned shards as a bit mask (a division per record would cost 10% of the time).
    std::uint32_t owned = 0;
    for (std::size_t k = member; k < Counters::kShards; k += team) owned |= std::uint32_t{1} << k;
    constexpr std::size_t kRec = sizeof(K) + 4;
    constexpr std::size_t kAhead = 16;  // a power of two
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
      shards[k].add(key, h, cap_count(s), cap_count(c));
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
      for (std::size_t i = 0, n = t.capacity(); i < n; ++i) {
        const Slot<K>& e = t.slots[i];
        if (e.s1) shards[k].add(e.key, mix(e.key), e.s1 - 1u, e.c);
      }
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
  explicit Impl(std::size_t ks) : key_size(ks == 4 ? 4 : 8) {}

  template <class F>
  void each_slot(F&& f) const {
    for (const auto& t : s64.shards)
      for (std::size_t i = 0, n = t.capacity(); i < n; ++i)
        if (t.slots[i].s1) f(t.slots[i].key, t.slots[i].s1 - 1u, t.slots[i].c);
    for (const auto& t : s32.shards)
      for (std::size_t i = 0, n = t.capacity(); i < n; ++i)
        if (t.slots[i].s1) f(t.slots[i].key, t.slots[i].s1 - 1u, t.slots[i].c);
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
    s.s64.add_records(recs, n, 1, 0, &s.shows, &s.clicks);
  else
    s.s32.add_records(recs, n, 1, 0, &s.shows, &s.clicks);
  s.records += n;
}

void Counters::add_records_owned(const std::uint8_t* recs, std::size_t n, std::size_t team,
                                 std::size_t member, bool totals) {
  Impl& s = *impl_;
  std::uint64_t sh = 0, cl = 0;
  if (s.key_size == 8)
    s.s64.add_records(recs, n, team, member, &sh, &cl);
  else
    s.s32.add_records(recs, n, team, member, &sh, &cl);
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
  impl_->each_slot([&](std::uint64_t, unsigned s, unsigned c) {
    ++shows_freq[s];
    ++clicks_freq[c];
  });
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
  std::mutex mu;  // guards what follows
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

struct Worker {
  Decoder dec;
  Counters counts;
  Segment seg;
  std::uint64_t next_task = 0;  // sequence number of the next task to look at
  explicit Worker(std::size_t key_size) : dec(key_size + 4), counts(key_size) {}
};

// Decoded records published by one team member for the others: each inserts the ids of its own
// shards, and the last one frees the copy.
struct Task {
  std::unique_ptr<std::uint8_t[]> data;
  std::size_t n = 0;
  std::size_t producer = 0;     // inserted its ids when it decoded the block
  std::atomic<int> pending{0};  // members that have not seen it yet
};

constexpr std::uint64_t kRawSlice = kBlockSize;
// Compressed bytes of work that justify one more thread (about 1-3 ms of decoding).
constexpr std::uint64_t kPiece = std::uint64_t{1} << 20;

}  // namespace

struct CountJob::Impl {
  std::size_t key_size;
  int n_threads;
  int team = 0;  // threads used, chosen at the first run()
  std::vector<std::unique_ptr<JobFile>> files;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<std::size_t> first_open{0};  // files before it are claimed entirely
  std::atomic<std::int64_t> budget{0};
  std::atomic<bool> any_error{false};
  // Tasks (team > 1): tasks[i] has sequence number task_base + i; a fully processed task at the
  // front is dropped. Guarded by task_mu, as is `producing`.
  std::mutex task_mu;
  std::deque<std::shared_ptr<Task>> tasks;
  std::uint64_t task_base = 0;
  int producing = 0;
  std::atomic<int> active_segments{0};  // members holding a claimed segment
  std::mutex err_mu;
  RecordsFault err;
  std::size_t err_file = 0;
  std::uint64_t err_begin = 0;
  bool have_err = false;

  Impl(std::size_t ks, int nt) : key_size(ks == 4 ? 4 : 8), n_threads(std::max(nt, 1)) {}

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
        w.counts.add_records(data, size / (key_size + 4));
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

  // The next published task that member `me` has not processed yet, or null.
  std::shared_ptr<Task> next_task(Worker& w) {
    std::lock_guard<std::mutex> lock(task_mu);
    while (!tasks.empty() && tasks.front()->pending.load() == 0) {
      tasks.pop_front();
      ++task_base;
    }
    if (w.next_task < task_base) w.next_task = task_base;
    const std::uint64_t i = w.next_task - task_base;
    if (i >= tasks.size()) return nullptr;
    ++w.next_task;
    return tasks[static_cast<std::size_t>(i)];
  }

  // One member's share of a run() with a team: decodes claimed blocks, inserts the ids of its
  // own shards, publishes each block for the others, and inserts their blocks' ids of its
  // shards. No merge at the end: every id lives in exactly one member's tables.
  void work_team(Worker& w, std::size_t me, std::size_t team) {
    const std::size_t rec = key_size + 4;
    const std::size_t limit = 4 * team;  // published tasks in flight (memory bound)
    bool spent = false;
    for (;;) {
      bool did = false;
      while (auto t = next_task(w)) {
        if (t->producer != me) w.counts.add_records_owned(t->data.get(), t->n, team, me, false);
        t->pending.fetch_sub(1);
        did = true;
      }
      std::size_t in_flight;
      {
        std::lock_guard<std::mutex> lock(task_mu);
        in_flight = tasks.size();
        if (spent || budget.load() <= 0) {
          // Stop producing; leave once this member has seen every task published so far.
          if (w.next_task >= task_base + tasks.size()) return;
          continue;
        }
        if (in_flight < limit) ++producing;
      }
      if (in_flight >= limit) {
        if (!did) std::this_thread::yield();  // the others are behind
        continue;
      }
      bool produced = false;
      bool have = w.seg.active;
      if (!have && claim(w)) {
        have = true;
        active_segments.fetch_add(1);
      }
      if (have) {
        if (!still_relevant(w.seg)) {
          end_segment(w);
        } else {
          const std::uint8_t* data;
          std::size_t size;
          const int r = w.dec.next(&data, &size);
          if (r > 0) {
            auto t = std::make_shared<Task>();
            t->n = size / rec;
            t->data.reset(new std::uint8_t[size]);
            std::memcpy(t->data.get(), data, size);
            t->producer = me;
            t->pending.store(static_cast<int>(team));
            w.counts.add_records_owned(data, t->n, team, me, true);
            {
              std::lock_guard<std::mutex> lock(task_mu);
              tasks.push_back(std::move(t));
            }
            spent = spend(size);
          } else {
            if (r < 0) record_error(w.seg, w.dec.fault());
            end_segment(w);
          }
          produced = true;
        }
      }
      std::lock_guard<std::mutex> lock(task_mu);
      --producing;
      // Leave only when nobody can publish another task: no claim left for us, nobody decoding
      // or holding a segment, and every task seen (the others may be waiting for us to see it).
      if (!produced && !have && producing == 0 && active_segments.load() == 0 &&
          w.next_task >= task_base + tasks.size())
        return;
    }
  }

  void end_segment(Worker& w) {
    w.seg.active = false;
    active_segments.fetch_sub(1);
  }

  bool all_done() {
    if (first_open.load() < files.size() && !any_error.load()) return false;
    for (const auto& w : workers)
      if (w->seg.active) return false;
    std::lock_guard<std::mutex> lock(task_mu);
    for (const auto& t : tasks)
      if (t->pending.load() > 0) return false;
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
  s.budget.store(budget > static_cast<std::uint64_t>(cap) ? cap
                                                          : static_cast<std::int64_t>(budget));
  if (s.team == 0) {
    // Threads must pay for themselves: waking a parked thread costs milliseconds on a busy
    // machine (measured: 34 ms per call with two threads on a 2-core machine at load 8, for a
    // 40-record file). So one thread per piece of at least kPiece bytes, at most n_threads.
    std::uint64_t pieces = 0;
    for (const auto& f : s.files) pieces += f->splittable ? (f->size + kPiece - 1) / kPiece : 1;
    s.team = static_cast<int>(std::min<std::uint64_t>({std::max<std::uint64_t>(pieces, 1),
                                                       static_cast<std::uint64_t>(s.n_threads),
                                                       std::uint64_t{Counters::kShards}}));
  }
  const int n = s.team;
  std::atomic<bool> oom{false};
  auto body = [&](int tid, int team) {
    try {
      // A team smaller than asked for (OpenMP may give fewer threads) still drives every
      // worker, so that segments held by the missing ones are finished.
      if (n == 1) {
        s.work_alone(*s.workers[0]);
        return;
      }
      for (int k = tid; k < n; k += team)
        s.work_team(*s.workers[static_cast<std::size_t>(k)], static_cast<std::size_t>(k),
                    static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
      oom.store(true);
    }
  };
#ifdef _OPENMP
  if (n > 1) {
#pragma omp parallel num_threads(n)
    body(omp_get_thread_num(), omp_get_num_threads());
  } else {
    body(0, 1);
  }
#else
  body(0, 1);
#endif
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
  try {
    Counters& first = s.workers[0]->counts;
    const int n = s.team > 0 ? s.team : 1;  // only workers 0..team-1 were used
    for (int t = 1; t < n; ++t) {
      Counters& c = s.workers[static_cast<std::size_t>(t)]->counts;
      first.take_shards(c, static_cast<std::size_t>(n), static_cast<std::size_t>(t));
      first.add_totals(c.shows_all(), c.clicks_all(), c.records());
    }
    *out = std::move(first);
    return 0;
  } catch (const std::bad_alloc&) {
    return ENOMEM;
  }
}

}  // namespace hotloop
