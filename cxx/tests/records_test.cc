// The records decoders on byte buffers (raw, gzip from zlib, lz4 frames from liblz4; damaged at
// every byte), Counters against a map of exact totals, parse_key, and the file-level jobs.
#include "hotloop/records.hpp"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hotloop/threads.hpp"
#include "records_io.hpp"

namespace {

using hotloop::ByteStream;
using hotloop::Compression;
using hotloop::Counters;
using hotloop::FaultKind;
using Bytes = std::vector<std::uint8_t>;

struct Rec {
  std::uint64_t id;
  std::uint16_t s, c;
};

Bytes pack(const std::vector<Rec>& recs) {
  Bytes out(recs.size() * 12);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    std::memcpy(&out[i * 12], &recs[i].id, 8);
    std::memcpy(&out[i * 12 + 8], &recs[i].s, 2);
    std::memcpy(&out[i * 12 + 10], &recs[i].c, 2);
  }
  return out;
}

std::vector<Rec> sample(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Rec> v(n);
  for (auto& r : v) {
    r.id = rng() % 50 == 0 ? ~std::uint64_t{0} : rng() % (n / 2 + 1);
    r.s = static_cast<std::uint16_t>(rng() % 5 == 0 ? 65535 : rng() % 40);
    r.c = static_cast<std::uint16_t>(rng() % 3);
  }
  return v;
}

Bytes gzip_of(const Bytes& raw, int level = 6) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// One gzip member by zlib with optional header fields (FEXTRA, FNAME, FCOMMENT, FHCRC).
Bytes gzip_member_of(const Bytes& raw, int level, const char* name, const char* comment,
                     std::size_t extra, bool hcrc) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string name_s = name ? name : "", comment_s = comment ? comment : "";
  Bytes extra_b(extra, 0x5a);
  gz_header h{};
  h.name = name ? reinterpret_cast<Bytef*>(&name_s[0]) : Z_NULL;
  h.comment = comment ? reinterpret_cast<Bytef*>(&comment_s[0]) : Z_NULL;
  h.extra = extra ? extra_b.data() : Z_NULL;
  h.extra_len = static_cast<uInt>(extra);
  h.hcrc = hcrc;
  EXPECT_EQ(deflateSetHeader(&zs, &h), Z_OK);
  Bytes out(deflateBound(&zs, raw.size()) + 256 + extra + name_s.size() + comment_s.size());
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Bytes lz4_of(const Bytes& raw, bool checksum = true) {
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.contentChecksumFlag =
      checksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum;
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  Bytes out(LZ4F_compressFrameBound(raw.size(), &prefs));
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), raw.data(), raw.size(), &prefs);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

// Decodes data fully; returns false (and the fault) on error.
bool decode(const Bytes& data, std::size_t align, Bytes* out, hotloop::RecordsFault* fault) {
  ByteStream s(align);
  s.open_memory(data.data(), data.size());
  out->clear();
  std::uint8_t buf[4096];
  for (;;) {
    const std::ptrdiff_t r = s.read(buf, sizeof buf - sizeof buf % align);
    if (r < 0) {
      *fault = s.error();
      return false;
    }
    if (r == 0) return true;
    EXPECT_EQ(r % static_cast<std::ptrdiff_t>(align), 0);
    out->insert(out->end(), buf, buf + r);
  }
}

TEST(RecordsDetect, MagicNumbers) {
  const std::uint8_t gz[] = {0x1f, 0x8b}, lz[] = {0x04, 0x22, 0x4d, 0x18},
                     skip[] = {0x5b, 0x2a, 0x4d, 0x18}, raw[] = {0x1f, 0x8c, 0, 0};
  EXPECT_EQ(hotloop::detect_compression(gz, 2), Compression::gzip);
  EXPECT_EQ(hotloop::detect_compression(lz, 4), Compression::lz4);
  EXPECT_EQ(hotloop::detect_compression(skip, 4), Compression::lz4);
  EXPECT_EQ(hotloop::detect_compression(raw, 4), Compression::none);
  EXPECT_EQ(hotloop::detect_compression(gz, 1), Compression::none);
}

TEST(RecordsStream, DecodesRawGzipLz4AndConcatenations) {
  const Bytes raw = pack(sample(5000, 1));
  const Bytes half1(raw.begin(), raw.begin() + 24000), half2(raw.begin() + 24000, raw.end());
  std::vector<Bytes> inputs = {raw, gzip_of(raw), lz4_of(raw), lz4_of(raw, false)};
  Bytes two = gzip_of(half1, 1);
  const Bytes g2 = gzip_of(half2, 9);
  two.insert(two.end(), g2.begin(), g2.end());
  inputs.push_back(two);
  Bytes lz2 = lz4_of(half1);
  const Bytes l2 = lz4_of(half2);
  lz2.insert(lz2.end(), l2.begin(), l2.end());
  inputs.push_back(lz2);
  for (const Bytes& in : inputs) {
    Bytes out;
    hotloop::RecordsFault f;
    ASSERT_TRUE(decode(in, 12, &out, &f)) << f.reason;
    EXPECT_EQ(out, raw);
  }
}

TEST(RecordsStream, TruncatedRecordAndBadChecksums) {
  Bytes raw = pack(sample(100, 2));
  raw.resize(raw.size() - 5);
  Bytes out;
  hotloop::RecordsFault f;
  EXPECT_FALSE(decode(raw, 12, &out, &f));
  EXPECT_EQ(f.kind, FaultKind::truncated);
  EXPECT_EQ(f.offset, 99u * 12);
  Bytes gz = gzip_of(pack(sample(100, 3)));
  gz[gz.size() - 8] ^= 1;  // CRC-32
  EXPECT_FALSE(decode(gz, 12, &out, &f));
  EXPECT_EQ(f.kind, FaultKind::gzip);
  Bytes lz = lz4_of(pack(sample(100, 3)));
  lz[lz.size() - 1] ^= 1;  // content checksum
  EXPECT_FALSE(decode(lz, 12, &out, &f));
  EXPECT_EQ(f.kind, FaultKind::lz4);
}

// Every single-byte change and every cut of a small stream: an error or the original bytes
// (a damaged magic number makes an uncompressed stream: then the damaged bytes themselves).
TEST(RecordsStream, DamagedAtEveryByte) {
  const Bytes raw = pack(sample(60, 4));
  for (const Bytes& good : {gzip_of(raw), lz4_of(raw)}) {
    for (std::size_t i = 0; i <= good.size(); ++i) {
      for (int variant = 0; variant < 3; ++variant) {
        Bytes d = good;
        if (variant == 2) {
          d.resize(i);
        } else if (i < d.size()) {
          d[i] ^= variant == 0 ? 0xFF : 0x01;
        } else {
          continue;
        }
        Bytes out;
        hotloop::RecordsFault f;
        if (!decode(d, 12, &out, &f)) continue;
        if (hotloop::detect_compression(d.data(), d.size()) == Compression::none)
          EXPECT_EQ(out, d);
        else
          EXPECT_EQ(out, raw) << "damage at byte " << i << " variant " << variant;
      }
    }
  }
}

// Members of other writers go through ISA-L's streaming inflater: hundreds of members of every
// header shape (name, comment, extra field, header CRC), zero padding between some, in a stream
// longer than the decoder's input buffer, so that members, headers and trailers straddle its
// refills; then damage in each part of a member.
TEST(RecordsStream, ForeignGzipMembers) {
  std::mt19937_64 rng(21);
  const Bytes raw = pack(sample(80000, 8));  // 960 KB, 500 KB compressed
  Bytes file;
  std::vector<std::size_t> member_at;
  for (std::size_t at = 0; at < raw.size();) {
    const std::size_t n = std::min<std::size_t>(raw.size() - at, 1 + rng() % 6000);
    const Bytes part(raw.begin() + at, raw.begin() + at + n);
    const int shape = static_cast<int>(rng() % 16);
    const std::string name(rng() % 300, 'n'), comment(rng() % 40, 'c');
    const Bytes m = gzip_member_of(
        part, static_cast<int>(rng() % 10), shape & 1 ? name.c_str() : nullptr,
        shape & 2 ? comment.c_str() : nullptr, shape & 4 ? rng() % 200 : 0, shape & 8);
    member_at.push_back(file.size());
    file.insert(file.end(), m.begin(), m.end());
    if (rng() % 7 == 0) file.insert(file.end(), rng() % 20, 0);
    at += n;
  }
  ASSERT_GT(file.size(), std::size_t{300} << 10);
  Bytes out;
  hotloop::RecordsFault f;
  ASSERT_TRUE(decode(file, 12, &out, &f)) << f.reason;
  EXPECT_EQ(out, raw);

  // A small file of three members with every header field: each change of a byte and each cut
  // is an error or gives back the records (a cut between members: those before it).
  const Bytes small = pack(sample(30, 9));
  Bytes three;
  std::vector<std::size_t> ends;
  for (int k = 0; k < 3; ++k) {
    const Bytes part(small.begin() + k * 120, small.begin() + (k + 1) * 120);
    const Bytes m = gzip_member_of(part, 6, "name", "comment", 5, true);
    three.insert(three.end(), m.begin(), m.end());
    ends.push_back(three.size());
  }
  for (std::size_t i = 0; i <= three.size(); ++i) {
    for (int variant = 0; variant < 3; ++variant) {
      Bytes d = three;
      if (variant == 2)
        d.resize(i);
      else if (i < d.size())
        d[i] ^= variant == 0 ? 0xFF : 0x01;
      else
        continue;
      if (hotloop::detect_compression(d.data(), d.size()) != Compression::gzip) continue;
      const bool ok = decode(d, 12, &out, &f);
      if (variant == 2) {
        const auto cut = std::find(ends.begin(), ends.end(), i);
        EXPECT_EQ(ok, cut != ends.end()) << "cut at " << i;
        if (ok) {
          EXPECT_EQ(out, Bytes(small.begin(), small.begin() + (cut - ends.begin() + 1) * 120));
        } else {
          EXPECT_EQ(f.kind, FaultKind::gzip) << f.reason;
        }
      } else if (ok) {
        EXPECT_EQ(out, small) << "damage at byte " << i;  // e.g. the MTIME or OS byte
      } else {
        EXPECT_TRUE(f.kind == FaultKind::gzip || f.kind == FaultKind::truncated) << f.reason;
      }
    }
  }
  // The reasons, by part of the member.
  Bytes bad = three;
  bad[ends[0] - 8] ^= 1;  // the first member's CRC-32
  EXPECT_FALSE(decode(bad, 12, &out, &f));
  EXPECT_NE(f.reason.find("CRC-32 or length"), std::string::npos) << f.reason;
  EXPECT_EQ(f.file_offset, 0u);
  bad = three;
  bad[ends[0] + 3] |= 0x80;  // a reserved flag in the second member's header
  EXPECT_FALSE(decode(bad, 12, &out, &f));
  EXPECT_NE(f.reason.find("unknown header flags"), std::string::npos) << f.reason;
  EXPECT_EQ(f.file_offset, ends[0]);
  bad = three;
  bad[ends[1] + 10 + 2 + 5 + 5 + 8] ^= 1;  // the third member's header CRC (after the comment)
  EXPECT_FALSE(decode(bad, 12, &out, &f));
  EXPECT_NE(f.reason.find("header crc"), std::string::npos) << f.reason;
  bad.assign(three.begin(), three.begin() + static_cast<std::ptrdiff_t>(ends[0] - 3));
  EXPECT_FALSE(decode(bad, 12, &out, &f));
  EXPECT_NE(f.reason.find("truncated gzip stream"), std::string::npos) << f.reason;
}

TEST(RecordsCounters, MatchExactTotalsAndMergeExactly) {
  const auto recs = sample(20000, 5);
  std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> exact;
  std::uint64_t shows = 0, clicks = 0;
  for (const auto& r : recs) {
    exact[r.id].first += r.s;
    exact[r.id].second += r.c;
    shows += r.s;
    clicks += r.c;
  }
  std::vector<std::uint64_t> sf(33), cf(33);
  for (const auto& [id, t] : exact) {
    ++sf[std::min<std::uint64_t>(t.first, 32)];
    ++cf[std::min<std::uint64_t>(t.second, 32)];
  }
  const Bytes raw = pack(recs);
  Counters whole(8);
  whole.add_records(raw.data(), recs.size());
  // Three parts with overlapping ids, merged.
  Counters a(8), b(8), c(8);
  a.add_records(raw.data(), 7000);
  b.add_records(raw.data() + 7000 * 12, 6000);
  c.add_records(raw.data() + 13000 * 12, recs.size() - 13000);
  a.merge(b);
  a.merge(c);
  for (const Counters* x : {&whole, &a}) {
    EXPECT_EQ(x->shows_all(), shows);
    EXPECT_EQ(x->clicks_all(), clicks);
    EXPECT_EQ(x->records(), recs.size());
    EXPECT_EQ(x->distinct(), exact.size());
    std::vector<std::uint64_t> gs(33), gc(33);
    x->frequencies(gs.data(), gc.data());
    EXPECT_EQ(gs, sf);
    EXPECT_EQ(gc, cf);
  }
}

TEST(RecordsCounters, KeySize4AndExtremeKeys) {
  Counters k4(4);
  const std::uint8_t recs[16] = {0xff, 0xff, 0xff, 0xff, 40, 0, 1, 0,   // id 2^32-1
                                 0,    0,    0,    0,    0,  0, 0, 0};  // id 0, zero counts
  k4.add_records(recs, 2);
  std::vector<std::uint64_t> sf(33), cf(33);
  k4.frequencies(sf.data(), cf.data());
  EXPECT_EQ(sf[32], 1u);
  EXPECT_EQ(sf[0], 1u);
  EXPECT_EQ(cf[1], 1u);
  EXPECT_EQ(cf[0], 1u);
  Counters k8(8);
  const Bytes raw = pack({{0, 0, 0}, {~std::uint64_t{0}, 1, 1}, {0, 65535, 0}});
  k8.add_records(raw.data(), 3);
  EXPECT_EQ(k8.distinct(), 2u);
  EXPECT_EQ(k8.shows_all(), 65536u);
}

// Many ids in both key sizes against an exact map: full buckets that overflow into the next,
// tables that grow, and ids that agree with others in one 32-bit half (a slot matches only
// where both halves do), or whose key value is 0 (a used slot, not an empty one).
TEST(RecordsCounters, ManyIdsBothKeySizesAgainstAMap) {
  for (const std::size_t key_size : {std::size_t{4}, std::size_t{8}}) {
    std::mt19937_64 rng(key_size);
    const std::size_t n = 300000, rec = key_size + 4;
    Bytes raw(n * rec);
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> exact;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t id;
      switch (rng() % 4) {
        case 0:
          id = rng() % 1000;  // repeated often, 0 included
          break;
        case 1:
          id = (rng() % 64) << 32 | 7;  // the same low half
          break;
        case 2:
          id = std::uint64_t{7} << 32 | (rng() % 64);  // the same high half
          break;
        default:
          id = rng();
      }
      if (key_size == 4) id = static_cast<std::uint32_t>(id ^ (id >> 32));
      const auto sh = static_cast<std::uint16_t>(rng() % 7),
                 cl = static_cast<std::uint16_t>(rng() % 2);
      std::memcpy(&raw[i * rec], &id, key_size);
      std::memcpy(&raw[i * rec + key_size], &sh, 2);
      std::memcpy(&raw[i * rec + key_size + 2], &cl, 2);
      exact[id].first += sh;
      exact[id].second += cl;
    }
    std::vector<std::uint64_t> sf(33), cf(33);
    for (const auto& [id, t] : exact) {
      ++sf[std::min<std::uint64_t>(t.first, 32)];
      ++cf[std::min<std::uint64_t>(t.second, 32)];
    }
    Counters got(key_size);
    for (std::size_t i = 0; i < n; i += 4096)
      got.add_records(raw.data() + i * rec, std::min<std::size_t>(4096, n - i));
    EXPECT_EQ(got.distinct(), exact.size()) << key_size;
    std::vector<std::uint64_t> gs(33), gc(33);
    got.frequencies(gs.data(), gc.data());
    EXPECT_EQ(gs, sf) << key_size;
    EXPECT_EQ(gc, cf) << key_size;
    std::vector<std::uint64_t> ids(got.distinct());
    std::vector<std::uint8_t> s(ids.size()), c(ids.size());
    got.export_state(ids.data(), s.data(), c.data());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto it = exact.find(ids[i]);
      ASSERT_NE(it, exact.end()) << ids[i];
      EXPECT_EQ(s[i], std::min<std::uint64_t>(it->second.first, 32)) << ids[i];
      EXPECT_EQ(c[i], std::min<std::uint64_t>(it->second.second, 32)) << ids[i];
    }
  }
}

// Big tables are kept when freed and handed out again for the next of about their size: what
// comes back must be zeroed whatever was written into it, and a fork's child can still take
// and free them.
TEST(RecordsMemory, RetainedPagesComeBackZeroed) {
  namespace rd = hotloop::records_detail;
  hotloop::release_pages();
  void* first;
  {
    auto a = rd::zeroed_array<std::uint64_t>(3 << 17);  // 3 MiB: a 4 MiB mapping
    first = a.get();
    for (std::size_t i = 0; i < (3u << 17); ++i) a[i] = ~i;
  }
  {
    auto b = rd::zeroed_array<std::uint64_t>(5 << 16);  // 2.5 MiB: the kept 4 MiB one
    EXPECT_EQ(static_cast<void*>(b.get()), first);
    for (std::size_t i = 0; i < (5u << 16); ++i) ASSERT_EQ(b[i], 0u) << i;
    for (std::size_t i = 0; i < (5u << 16); ++i) b[i] = i + 1;
  }
  {
    auto c = rd::zeroed_array<std::uint64_t>(1 << 16);  // 512 KiB: from the heap, not kept ones
    EXPECT_NE(static_cast<void*>(c.get()), first);
    auto d = rd::zeroed_array<std::uint64_t>(1 << 20);  // 8 MiB: more than the kept mapping
    EXPECT_NE(static_cast<void*>(d.get()), first);
    for (std::size_t i = 0; i < (1u << 20); i += 4096) ASSERT_EQ(d[i], 0u) << i;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    auto e = rd::zeroed_array<std::uint64_t>(3 << 17);
    bool zero = true;
    for (std::size_t i = 0; i < (3u << 17); ++i) zero &= e[i] == 0;
    e.reset();
    hotloop::release_pages();
    _exit(zero ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  hotloop::release_pages();
  auto f = rd::zeroed_array<std::uint64_t>(3 << 17);
  for (std::size_t i = 0; i < (3u << 17); i += 512) ASSERT_EQ(f[i], 0u) << i;
}

TEST(RecordsKeys, ParseKey) {
  auto parse = [](const char* s, bool key64, std::uint64_t* k) {
    return hotloop::parse_key(reinterpret_cast<const std::uint8_t*>(s), std::strlen(s), key64, k);
  };
  std::uint64_t k = 0;
  EXPECT_EQ(parse("007", false, &k), nullptr);
  EXPECT_EQ(k, 7u);
  EXPECT_EQ(parse("4294967295\r", false, &k), nullptr);
  EXPECT_EQ(k, 4294967295u);
  EXPECT_NE(parse("4294967296", false, &k), nullptr);
  EXPECT_EQ(parse("18446744073709551615", true, &k), nullptr);
  EXPECT_EQ(k, ~std::uint64_t{0});
  EXPECT_NE(parse("18446744073709551616", true, &k), nullptr);
  EXPECT_NE(parse("", true, &k), nullptr);
  EXPECT_NE(parse("\r", true, &k), nullptr);
  EXPECT_NE(parse("1 ", true, &k), nullptr);
  EXPECT_NE(parse("-1", true, &k), nullptr);
  EXPECT_NE(parse("1a", true, &k), nullptr);
}

std::string temp_name(const char* stem) {
  return std::string(::testing::TempDir()) + "/records_test_" + std::to_string(::getpid()) + "_" +
         stem;
}

TEST(RecordsJobs, WriterThenCountJobWithAnyThreadCount) {
  const auto recs = sample(200000, 6);  // four blocks
  std::vector<std::uint64_t> ids;
  std::vector<std::uint16_t> s, c;
  for (const auto& r : recs) {
    ids.push_back(r.id);
    s.push_back(r.s);
    c.push_back(r.c);
  }
  for (Compression comp : {Compression::none, Compression::gzip, Compression::lz4}) {
    const std::string path = temp_name("counts");
    hotloop::CountsWriter w(8, comp, -1);
    ASSERT_EQ(w.open(path.c_str()), 0);
    ASSERT_EQ(w.write(ids.data(), s.data(), c.data(), ids.size()), 0);
    ASSERT_EQ(w.commit(), 0);
    std::vector<std::uint64_t> first;
    for (int threads : {1, 2, 3}) {
      hotloop::CountJob job(8, threads);
      ASSERT_EQ(job.add_file(path.c_str()), 0);
      while (!job.run(1 << 20)) {
      }
      ASSERT_FALSE(job.failed()) << job.error().reason;
      Counters out(8);
      ASSERT_EQ(job.finish(&out), 0);
      EXPECT_EQ(out.records(), recs.size());
      std::vector<std::uint64_t> f(66);
      out.frequencies(f.data(), f.data() + 33);
      if (first.empty()) first = f;
      EXPECT_EQ(f, first);
    }
    std::remove(path.c_str());
  }
}

// Every id and its saturated totals, sorted: the whole state of a Counters.
std::vector<std::uint64_t> state_of(const Counters& c) {
  const std::size_t n = c.distinct();
  std::vector<std::uint64_t> ids(n);
  std::vector<std::uint8_t> s(n), k(n);
  if (n) c.export_state(ids.data(), s.data(), k.data());
  std::vector<std::pair<std::uint64_t, unsigned>> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = {ids[i], s[i] * 64u + k[i]};
  std::sort(v.begin(), v.end());
  std::vector<std::uint64_t> out;
  for (const auto& [id, t] : v) {
    out.push_back(id);
    out.push_back(t);
  }
  out.push_back(c.shows_all());
  out.push_back(c.clicks_all());
  out.push_back(c.records());
  return out;
}

// Threads come from the shared pool, which never waits for a helper that has not started: with
// its helpers held back (as when their CPUs are taken by other processes), a job asking for
// four threads still finishes, on the calling thread alone, with the same result.
TEST(RecordsJobs, CountJobFinishesWithoutHelpersAndAgreesAcrossFiles) {
  const auto recs = sample(150000, 7);
  std::vector<std::uint64_t> ids;
  std::vector<std::uint16_t> s, c;
  for (const auto& r : recs) {
    ids.push_back(r.id);
    s.push_back(r.s);
    c.push_back(r.c);
  }
  std::vector<std::string> paths;
  const std::size_t half = recs.size() / 2;
  for (Compression comp : {Compression::gzip, Compression::lz4, Compression::none}) {
    paths.push_back(temp_name(("multi" + std::to_string(paths.size())).c_str()));
    hotloop::CountsWriter w(8, comp, -1);
    ASSERT_EQ(w.open(paths.back().c_str()), 0);
    const std::size_t from = comp == Compression::lz4 ? half : 0;
    const std::size_t n = comp == Compression::gzip ? half : recs.size() - from;
    ASSERT_EQ(w.write(ids.data() + from, s.data() + from, c.data() + from, n), 0);
    ASSERT_EQ(w.commit(), 0);
  }
  auto count = [&](int threads, std::uint64_t budget) {
    hotloop::CountJob job(8, threads);
    for (const auto& p : paths) EXPECT_EQ(job.add_file(p.c_str()), 0);
    while (!job.run(budget)) {
    }
    EXPECT_FALSE(job.failed()) << job.error().reason;
    Counters out(8);
    EXPECT_EQ(job.finish(&out), 0);
    return state_of(out);
  };
  const auto want = count(1, 1 << 30);
  EXPECT_EQ(count(2, 1 << 30), want);
  EXPECT_EQ(count(4, 1 << 18), want);
  auto& pool = hotloop::detail::Pool::global();
  pool.set_gate_for_testing(false);
  EXPECT_EQ(count(4, 1 << 30), want);
  EXPECT_EQ(count(3, 1 << 18), want);
  pool.set_gate_for_testing(true);
  for (const auto& p : paths) std::remove(p.c_str());
}

TEST(RecordsJobs, NegativeJob) {
  const std::string all = temp_name("all"), in = temp_name("in"), out = temp_name("out");
  std::ofstream(all) << "id\r\n5\r\n007\r\n5\r\n8";
  std::ofstream(in) << "key\n7\n9\n";
  hotloop::NegativeJob job(true, false);
  int which = -1;
  ASSERT_EQ(job.open(all.c_str(), in.c_str(), out.c_str(), &which), 0);
  while (!job.run(3)) {
  }
  ASSERT_FALSE(job.failed()) << job.error().reason;
  ASSERT_EQ(job.commit(), 0);
  EXPECT_EQ(job.written(), 3u);
  std::ifstream f(out);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "id\n5\n5\n8\n");
  for (const auto& p : {all, in, out}) std::remove(p.c_str());
}

// The key files' reference: lines split on '\n', parse_key on each (itself checked against a
// digit loop by the keys fuzzer), a std::set.
struct NegativeResult {
  bool failed = false;
  int file = -1;
  std::uint64_t line = 0;
  std::string text;
  std::uint64_t written = 0;
};

NegativeResult reference_negative(const std::string& all, const std::string& in, bool header,
                                  bool key64) {
  NegativeResult r;
  auto lines = [](const std::string& t) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i < t.size(); ++i)
      if (t[i] == '\n') {
        out.push_back(t.substr(start, i - start));
        start = i + 1;
      }
    if (start < t.size()) out.push_back(t.substr(start));
    return out;
  };
  auto keys = [&](const std::string& t, int file, std::vector<std::uint64_t>* ks,
                  std::string* head) {
    const auto ls = lines(t);
    for (std::size_t i = 0; i < ls.size(); ++i) {
      if (header && i == 0) {
        *head = ls[0];
        if (!head->empty() && head->back() == '\r') head->pop_back();
        *head += '\n';
        continue;
      }
      std::uint64_t k;
      if (hotloop::parse_key(reinterpret_cast<const std::uint8_t*>(ls[i].data()), ls[i].size(),
                             key64, &k)) {
        r.failed = true;
        r.file = file;
        r.line = i + 1;
        return false;
      }
      ks->push_back(k);
    }
    return true;
  };
  std::vector<std::uint64_t> ka, ki;
  std::string ha, hi;
  if (!keys(in, 1, &ki, &hi) || !keys(all, 0, &ka, &ha)) return r;
  const std::set<std::uint64_t> drop(ki.begin(), ki.end());
  r.text = ha;
  for (std::uint64_t k : ka)
    if (!drop.count(k)) {
      r.text += std::to_string(k) + "\n";
      ++r.written;
    }
  return r;
}

NegativeResult run_negative(const std::string& all, const std::string& in, bool header, bool key64,
                            int threads, std::size_t chunk) {
  const std::string pa = temp_name("neg_all"), pi = temp_name("neg_in"), po = temp_name("neg_out");
  std::ofstream(pa, std::ios::binary) << all;
  std::ofstream(pi, std::ios::binary) << in;
  std::remove(po.c_str());
  hotloop::NegativeJob job(header, key64, threads, chunk);
  int which = -1;
  NegativeResult r;
  EXPECT_EQ(job.open(pa.c_str(), pi.c_str(), po.c_str(), &which), 0);
  while (!job.run(chunk ? 3 * chunk : 1 << 20)) {
  }
  if (job.failed()) {
    r.failed = true;
    r.file = job.error_file();
    r.line = job.error().line;
    EXPECT_EQ(job.error().kind, FaultKind::key) << job.error().reason;
    EXPECT_NE(job.error().reason.find("line " + std::to_string(r.line)), std::string::npos)
        << job.error().reason;
    job.abort();
    EXPECT_NE(::access(po.c_str(), F_OK), 0);
  } else {
    EXPECT_EQ(job.commit(), 0);
    std::ifstream f(po, std::ios::binary);
    r.text.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    r.written = job.written();
  }
  for (const auto& p : {pa, pi, po}) std::remove(p.c_str());
  return r;
}

// Keys of every length (1-22 digits, leading zeros, the ends of the 32- and 64-bit ranges) in
// files cut into chunks of a few bytes up to the default, parsed by 1-3 threads (the pool's
// gate closed too: the caller alone), with and without a header, '\n' or "\r\n", with and
// without a last line end, and with one bad line at varied places.
TEST(RecordsJobs, NegativeJobChunksAndThreadsAgree) {
  std::mt19937_64 rng(11);
  const char* specials[] = {"0",
                            "00",
                            "0007",
                            "4294967295",
                            "4294967296",
                            "18446744073709551615",
                            "018446744073709551615",
                            "00000000000000000000000000042",
                            "9999999999999999999",
                            "10000000000000000000",
                            "12345678",
                            "123456789",
                            "1234567890123456",
                            "12345678901234567"};
  auto key_text = [&](bool key64) {
    if (rng() % 8 == 0) return std::string(specials[rng() % (sizeof specials / sizeof *specials)]);
    const std::uint64_t v = key64 ? rng() >> (rng() % 64) : (rng() >> 32) >> (rng() % 32);
    return std::string(rng() % 10 == 0 ? "0" : "") + std::to_string(v);
  };
  const std::string bad_lines[] = {"",
                                   "x",
                                   "1 ",
                                   "-1",
                                   "18446744073709551616",
                                   "99999999999999999999999",
                                   "12\r3",
                                   std::string(40, '7')};
  auto& pool = hotloop::detail::Pool::global();
  int failures = 0;
  for (int round = 0; round < 24; ++round) {
    const bool header = round % 2, key64 = round % 3 != 0, crlf = round % 4 == 1,
               last_nl = round % 5 != 2;
    const std::string nl = crlf ? "\r\n" : "\n";
    std::vector<std::string> all_keys, in_keys;
    const std::size_t n = round < 4 ? round : 50 + rng() % 3000;
    for (std::size_t i = 0; i < n; ++i) all_keys.push_back(key_text(key64));
    for (std::size_t i = 0; i < n; ++i)
      in_keys.push_back(rng() % 2 ? all_keys[rng() % n] : key_text(key64));
    if (round % 6 == 5 && n) all_keys[rng() % n] = bad_lines[rng() % 8];
    if (round % 6 == 3 && n) in_keys[rng() % n] = bad_lines[rng() % 8];
    auto text = [&](const std::vector<std::string>& ks) {
      std::string t = header ? "id" + nl : "";
      for (const auto& k : ks) t += k + nl;
      if (!last_nl && !t.empty()) t.resize(t.size() - nl.size());
      return t;
    };
    const std::string all = text(all_keys), in = text(in_keys);
    const NegativeResult want = reference_negative(all, in, header, key64);
    failures += want.failed;
    for (int threads : {1, 2, 3})
      for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{0}})
        for (bool gate : {true, false}) {
          if (!gate && threads == 1) continue;
          pool.set_gate_for_testing(gate);
          const NegativeResult got = run_negative(all, in, header, key64, threads, chunk);
          pool.set_gate_for_testing(true);
          const std::string where = "round " + std::to_string(round) + ", " +
                                    std::to_string(threads) + " threads, chunk " +
                                    std::to_string(chunk);
          ASSERT_EQ(got.failed, want.failed) << where;
          EXPECT_EQ(got.file, want.file) << where;
          EXPECT_EQ(got.line, want.line) << where;
          EXPECT_EQ(got.text, want.text) << where;
          EXPECT_EQ(got.written, want.written) << where;
        }
  }
  EXPECT_GE(failures, 4);
  EXPECT_GT(pool.helpers_started(), 0);
}

// A line longer than 1 MiB is an error wherever it is; one of exactly 1 MiB is not (it is not
// a key either: 1 MiB of digits does not fit in 64 bits).
TEST(RecordsJobs, NegativeJobLongLines) {
  const std::string mib(std::size_t{1} << 20, '1');
  for (std::size_t chunk : {std::size_t{100}, std::size_t{0}}) {
    NegativeResult r = run_negative("id\n1\n" + mib + "1\n2\n", "id\n", true, true, 2, chunk);
    EXPECT_TRUE(r.failed);
    EXPECT_EQ(r.line, 3u);
    r = run_negative("id\n1\n2\n" + mib + "1", "id\n", true, true, 1, chunk);
    EXPECT_TRUE(r.failed);
    EXPECT_EQ(r.line, 4u);
    r = run_negative("1\n", "0\n" + mib, false, true, 1, chunk);
    EXPECT_TRUE(r.failed);
    EXPECT_EQ(r.file, 1);
    EXPECT_EQ(r.line, 2u);
  }
}

}  // namespace
