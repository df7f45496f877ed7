// Tests of hotloop/deviceapps.hpp: the message codec against bytes of the official protobuf
// serializer, the writer and reader through real files, and damaged input of every kind (run
// under ASan/UBSan too, where a read outside a buffer fails the test).
#include "hotloop/deviceapps.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace {

using hotloop::AddStatus;
using hotloop::DecodeError;
using hotloop::DeviceAppsMessage;
using hotloop::DeviceAppsReader;
using hotloop::DeviceAppsWriter;
using hotloop::ReadErrorKind;
using hotloop::ReadStatus;
using hotloop::RecordView;
using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

const std::uint8_t* u8(const char* s) { return reinterpret_cast<const std::uint8_t*>(s); }

// An owning record, with a view as a DeviceAppsMessage.
struct Record {
  bool has_device = false, has_id = false, has_type = false, has_lat = false, has_lon = false;
  std::string id, type;
  std::vector<std::uint32_t> apps;
  double lat = 0.0, lon = 0.0;

  DeviceAppsMessage view() const {
    DeviceAppsMessage m;
    m.has_device = has_device;
    m.has_id = has_id;
    m.has_type = has_type;
    m.has_lat = has_lat;
    m.has_lon = has_lon;
    m.id = u8(id.data());
    m.id_size = id.size();
    m.type = u8(type.data());
    m.type_size = type.size();
    m.apps = apps.data();
    m.n_apps = apps.size();
    m.lat = lat;
    m.lon = lon;
    return m;
  }

  static Record from(const DeviceAppsMessage& m) {
    Record r;
    r.has_device = m.has_device;
    r.has_id = m.has_id;
    r.has_type = m.has_type;
    r.has_lat = m.has_lat;
    r.has_lon = m.has_lon;
    if (m.has_id) r.id.assign(reinterpret_cast<const char*>(m.id), m.id_size);
    if (m.has_type) r.type.assign(reinterpret_cast<const char*>(m.type), m.type_size);
    r.apps.assign(m.apps, m.apps + m.n_apps);
    r.lat = m.has_lat ? m.lat : 0.0;
    r.lon = m.has_lon ? m.lon : 0.0;
    return r;
  }

  bool operator==(const Record& o) const {
    return has_device == o.has_device && has_id == o.has_id && has_type == o.has_type &&
           has_lat == o.has_lat && has_lon == o.has_lon && id == o.id && type == o.type &&
           apps == o.apps && std::memcmp(&lat, &o.lat, 8) == 0 && std::memcmp(&lon, &o.lon, 8) == 0;
  }
};

Bytes encode(const Record& r) {
  const DeviceAppsMessage m = r.view();
  Bytes out(hotloop::encoded_size(m));
  const std::uint8_t* end = hotloop::encode(m, out.data());
  EXPECT_EQ(end, out.data() + out.size());
  return out;
}

bool decode(const Bytes& b, Record* r, DecodeError* e) {
  DeviceAppsMessage m;
  std::vector<std::uint32_t> apps(b.size() + 1);
  if (!hotloop::decode(b.data(), b.size(), &m, apps.data(), e)) return false;
  *r = Record::from(m);
  return true;
}

Record homework() {
  Record r;
  r.has_device = r.has_id = r.has_type = r.has_lat = r.has_lon = true;
  r.id = "e7e1a50c0ec2747ca56cd9e1558c0d7c";
  r.type = "idfa";
  r.lat = 67.7835424444;
  r.lon = -22.8044005471;
  r.apps = {1, 2, 3, 4};
  return r;
}

Record random_record(std::mt19937_64& rng) {
  Record r;
  auto coin = [&] { return (rng() & 1) != 0; };
  r.has_device = coin();
  if (r.has_device) {
    r.has_id = coin();
    r.has_type = coin();
    if (r.has_id) r.id = std::string(rng() % 40, static_cast<char>('a' + rng() % 26));
    if (r.has_type) r.type = std::string(rng() % 8, static_cast<char>(rng() % 256));
  }
  r.has_lat = coin();
  r.has_lon = coin();
  std::uniform_real_distribution<double> u(-180.0, 180.0);
  if (r.has_lat) r.lat = u(rng);
  if (r.has_lon) r.lon = coin() ? u(rng) : -0.0;
  const std::size_t n = rng() % 60;
  for (std::size_t i = 0; i < n; ++i) {
    const int width = static_cast<int>(rng() % 33);
    r.apps.push_back(static_cast<std::uint32_t>(rng() & ((std::uint64_t{1} << width) - 1)));
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Codec

TEST(DeviceAppsCodec, MatchesOfficialSerializer) {
  // Bytes from google.protobuf 7 (upb) SerializeToString() of the same messages.
  EXPECT_EQ(encode(homework()),
            from_hex("0a280a206537653161353063306563323734376361353663643965313535386330643763"
                     "120469646661100110021003100419756e358f25f2504021d3adba31edcd36c0"));
  Record r;
  r.has_device = true;
  r.apps = {0, 127, 128, 300, 4294967295u};
  EXPECT_EQ(encode(r), from_hex("0a001000107f10800110ac0210ffffffff0f"));
  EXPECT_EQ(encode(Record{}), Bytes{});
}

TEST(DeviceAppsCodec, RoundTripsRandomMessages) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const Record r = random_record(rng);
    Record back;
    DecodeError e;
    ASSERT_TRUE(decode(encode(r), &back, &e)) << e.what;
    EXPECT_TRUE(back == r) << "message " << i;
  }
}

TEST(DeviceAppsCodec, AcceptsPackedUnknownAndRepeatedFields) {
  Bytes b = encode(homework());
  const Bytes more = from_hex(
      "2805"          // field 5, a varint (unknown: skipped)
      "4b08015354"    // field 9 group holding field 1 = 1 and a field 10 group...
      "4c"            // ...closed: field 9 end group
      "1203019601"    // apps packed: 1, 150
      "0a0412027a7a"  // device again, type "zz": merged into the first
  );
  b.insert(b.end(), more.begin(), more.end());
  Record r;
  DecodeError e;
  ASSERT_TRUE(decode(b, &r, &e)) << e.what;
  Record want = homework();
  want.type = "zz";
  want.apps = {1, 2, 3, 4, 1, 150};
  EXPECT_TRUE(r == want);
}

TEST(DeviceAppsCodec, RejectsMalformedInput) {
  const struct {
    const char* hex;
    const char* what;
    std::size_t position;
  } cases[] = {
      {"10", "truncated varint", 1},
      {"10ffffffffffffffffffff", "varint longer than 10 bytes", 11},
      {"0001", "field number 0", 0},
      {"0a05", "length-delimited field runs past the end of the message", 1},
      {"1801", "lat has the wrong wire type (expected 1, a double)", 1},
      {"0801", "device has the wrong wire type (expected 2, a message)", 1},
      {"0a020801", "device.id has the wrong wire type (expected 2, bytes)", 3},
      {"1500000000", "apps has the wrong wire type (expected 0 or packed 2)", 1},
      {"190000", "truncated double", 1},
      {"2e", "invalid wire type 6 or 7", 1},
      {"2c", "end-group tag without a start-group tag", 1},
      {"2b34", "end-group tag does not match its start", 2},
      {"8080808080 01", "tag wider than 32 bits", 0},
  };
  for (const auto& c : cases) {
    std::string hex;
    for (const char* p = c.hex; *p; ++p)
      if (*p != ' ') hex += *p;
    Record r;
    DecodeError e;
    EXPECT_FALSE(decode(from_hex(hex), &r, &e)) << c.hex;
    ASSERT_NE(e.what, nullptr) << c.hex;
    EXPECT_STREQ(e.what, c.what) << c.hex;
    EXPECT_EQ(e.position, c.position) << c.hex;
  }
}

TEST(DeviceAppsCodec, EveryPrefixAndBitFlipIsSafe) {
  // Decoding any corruption of a valid message either succeeds or fails cleanly, inside the
  // buffer (ASan checks the "inside").
  std::mt19937_64 rng(11);
  for (int k = 0; k < 50; ++k) {
    const Bytes full = encode(random_record(rng));
    for (std::size_t n = 0; n <= full.size(); ++n) {
      Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      Record r;
      DecodeError e;
      if (!decode(prefix, &r, &e)) {
        EXPECT_LE(e.position, n);
      }
    }
    for (std::size_t i = 0; i < full.size() * 8; ++i) {
      Bytes b = full;
      b[i / 8] ^= static_cast<std::uint8_t>(1u << (i % 8));
      Record r;
      DecodeError e;
      if (!decode(b, &r, &e)) {
        EXPECT_LE(e.position, b.size());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hotloop-deviceapps-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  int n_files() const {
    int n = 0;
    std::FILE* p = ::popen(("ls -A '" + path_ + "' | wc -l").c_str(), "r");
    if (p && std::fscanf(p, "%d", &n) != 1) n = -1;
    if (p) ::pclose(p);
    return n;
  }

 private:
  std::string path_;
};

Bytes slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void spit(const std::string& path, const Bytes& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_file(const std::string& path, const std::vector<Record>& recs, int n_threads,
                std::size_t block_size, int level = 6) {
  DeviceAppsWriter w(level, n_threads, block_size);
  ASSERT_EQ(w.open(path.c_str()), 0);
  for (const Record& r : recs) {
    const AddStatus s = w.add(r.view());
    ASSERT_TRUE(s == AddStatus::ok || s == AddStatus::block_full);
    if (s == AddStatus::block_full) {
      ASSERT_EQ(w.flush_block(), 0);
    }
  }
  ASSERT_EQ(w.commit(), 0);
  EXPECT_EQ(w.records(), recs.size());
  EXPECT_EQ(static_cast<std::size_t>(w.bytes_written()), slurp(path).size());
}

// Every DeviceApps record of a file until the end or the first error.
struct ReadResult {
  std::vector<Record> records;
  ReadStatus status = ReadStatus::end;
  ReadErrorKind kind = ReadErrorKind::none;
  std::string message;
  std::uint64_t record_index = 0, offset = 0;
};

ReadResult read_all(DeviceAppsReader& r) {
  ReadResult out;
  RecordView rec;
  for (;;) {
    ReadStatus s = r.next(&rec, false);
    if (s == ReadStatus::need_input) s = r.next(&rec, true);
    while (s == ReadStatus::waiting) s = r.next(&rec, true);
    EXPECT_NE(s, ReadStatus::need_input);
    if (s == ReadStatus::record) {
      if (rec.type != hotloop::kDeviceAppsType) continue;
      DeviceAppsMessage m;
      if (r.decode(rec, &m)) {
        out.records.push_back(Record::from(m));
        continue;
      }
      s = ReadStatus::error;
    }
    out.status = s;
    if (s == ReadStatus::error) {
      out.kind = r.error().kind;
      out.message = r.error().message;
      out.record_index = r.error().record_index;
      out.offset = r.error().offset;
      EXPECT_EQ(r.next(&rec, true), ReadStatus::error);  // sticky
    }
    return out;
  }
}

ReadResult read_file(const std::string& path) {
  DeviceAppsReader r;
  EXPECT_EQ(r.open(path.c_str()), 0);
  return read_all(r);
}

// The same, from memory (open_buffer); member_limit 0: the default.
ReadResult read_buffer(const Bytes& b, std::size_t member_limit = 0) {
  DeviceAppsReader r;
  if (member_limit) r.set_member_limit(member_limit);
  EXPECT_EQ(r.open_buffer(b.data(), b.size()), 0);
  EXPECT_EQ(r.open_buffer(b.data(), b.size()), EBUSY);
  return read_all(r);
}

// One gzip member made by zlib (no size subfield).
Bytes zlib_gzip(const Bytes& raw) {
  Bytes gz(raw.size() + raw.size() / 100 + 1024);
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = const_cast<std::uint8_t*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = gz.data();
  zs.avail_out = static_cast<uInt>(gz.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  return gz;
}

// The uncompressed bytes of a gzip file (every member), by zlib.
Bytes gunzip(const Bytes& gz) {
  Bytes out;
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 31), Z_OK);
  std::size_t pos = 0;
  while (pos < gz.size()) {
    std::uint8_t buf[4096];
    zs.next_in = const_cast<std::uint8_t*>(gz.data() + pos);
    zs.avail_in = static_cast<uInt>(gz.size() - pos);
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    const int r = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof buf - zs.avail_out));
    pos = gz.size() - zs.avail_in;
    if (r == Z_STREAM_END) {
      inflateReset(&zs);
    } else if (r != Z_OK) {
      ADD_FAILURE() << "zlib: " << r;
      break;
    }
  }
  inflateEnd(&zs);
  return out;
}

std::vector<Record> random_records(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Record> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back(random_record(rng));
  return v;
}

TEST(DeviceAppsFile, RoundTripAndSameFileForAnyThreadCount) {
  TempDir dir;
  const auto recs = random_records(3000, 1);
  for (std::size_t block : {std::size_t{1}, std::size_t{1000}, hotloop::kDefaultBlockSize}) {
    write_file(dir.file("a"), recs, 1, block);
    write_file(dir.file("b"), recs, 4, block);
    EXPECT_EQ(slurp(dir.file("a")), slurp(dir.file("b"))) << block;
    const ReadResult got = read_file(dir.file("b"));
    EXPECT_EQ(got.status, ReadStatus::end) << got.message;
    ASSERT_EQ(got.records.size(), recs.size());
    for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_TRUE(got.records[i] == recs[i]) << i;
  }
  EXPECT_EQ(dir.n_files(), 2);  // no temporary file left
}

TEST(DeviceAppsFile, EmptyStreamIsOneEmptyMember) {
  TempDir dir;
  write_file(dir.file("e"), {}, 2, 100);
  const Bytes b = slurp(dir.file("e"));
  EXPECT_LE(b.size(), 24u + 5u + 8u);  // header, an empty final block, trailer
  EXPECT_EQ(b[13], 'E');               // the writer's last member
  EXPECT_EQ(read_file(dir.file("e")).status, ReadStatus::end);
}

TEST(DeviceAppsFile, WriterRefusesWhatItCannotWrite) {
  TempDir dir;
  DeviceAppsWriter w(6, 1, 1 << 20);
  Record r;
  EXPECT_EQ(w.add(r.view()), AddStatus::bad_state);  // not open
  EXPECT_EQ(w.open(dir.file("no/such/dir").c_str()), ENOENT);
  EXPECT_EQ(DeviceAppsWriter(6, 1, 10).open(dir.file("").c_str()), EISDIR);
  ASSERT_EQ(w.open(dir.file("w").c_str()), 0);
  r.has_device = r.has_id = true;
  r.id.assign(65528, 'x');
  EXPECT_EQ(w.add(r.view()), AddStatus::too_long);
  r.id.pop_back();
  EXPECT_EQ(w.add(r.view()), AddStatus::ok);
  w.abort();
  EXPECT_EQ(dir.n_files(), 0);
}

TEST(DeviceAppsFile, ReaderSkipsOtherTypesAndReadsZlibMembers) {
  TempDir dir;
  // our members with mixed types...
  {
    DeviceAppsWriter w(6, 2, 50);
    ASSERT_EQ(w.open(dir.file("m").c_str()), 0);
    const Bytes msg = encode(homework());
    for (int i = 0; i < 100; ++i) {
      AddStatus s = i % 3 ? w.add(homework().view()) : w.add_raw(7, u8("skip me"), 7);
      if (s == AddStatus::block_full) {
        ASSERT_EQ(w.flush_block(), 0);
      }
    }
    ASSERT_EQ(w.commit(), 0);
  }
  ReadResult got = read_file(dir.file("m"));
  EXPECT_EQ(got.status, ReadStatus::end);
  EXPECT_EQ(got.records.size(), 66u);
  // ...then a member written by zlib's gzip (no size subfield), appended.
  Bytes raw(8 + encode(homework()).size());
  hotloop::write_record_header(1, static_cast<std::uint16_t>(raw.size() - 8), raw.data());
  const Bytes msg = encode(homework());
  std::copy(msg.begin(), msg.end(), raw.begin() + 8);
  Bytes gz(1024);
  z_stream zs{};
  ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = gz.data();
  zs.avail_out = static_cast<uInt>(gz.size());
  ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  gz.resize(zs.total_out);
  deflateEnd(&zs);
  Bytes both = slurp(dir.file("m"));
  both.insert(both.end(), gz.begin(), gz.end());
  spit(dir.file("m"), both);
  got = read_file(dir.file("m"));
  EXPECT_EQ(got.status, ReadStatus::end) << got.message;
  EXPECT_EQ(got.records.size(), 67u);
}

TEST(DeviceAppsFile, MissingFile) {
  TempDir dir;
  DeviceAppsReader r;
  EXPECT_EQ(r.open(dir.file("missing").c_str()), ENOENT);
  DeviceAppsReader d;
  EXPECT_EQ(d.open(dir.file("").c_str()), EISDIR);
}

TEST(DeviceAppsFile, EveryTruncationIsReportedAfterTheRecordsBeforeIt) {
  TempDir dir;
  const auto recs = random_records(60, 3);
  write_file(dir.file("t"), recs, 1, 700);
  const Bytes full = slurp(dir.file("t"));
  std::size_t last_count = 0;
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    spit(dir.file("c"), Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut)));
    const ReadResult got = read_file(dir.file("c"));
    if (cut == 0) {
      EXPECT_EQ(got.status, ReadStatus::end);  // an empty file holds no records
      continue;
    }
    ASSERT_EQ(got.status, ReadStatus::error) << cut;
    EXPECT_EQ(got.kind, ReadErrorKind::gzip) << cut << ": " << got.message;
    EXPECT_NE(got.message.find("truncated gzip stream"), std::string::npos) << got.message;
    EXPECT_EQ(got.record_index, got.records.size());
    EXPECT_GE(got.records.size(), last_count);  // more input never gives fewer records
    last_count = got.records.size();
    for (std::size_t i = 0; i < got.records.size(); ++i) ASSERT_TRUE(got.records[i] == recs[i]);
  }
  EXPECT_GT(last_count, 40u);
}

TEST(DeviceAppsFile, CorruptBytesNeverCrash) {
  TempDir dir;
  const auto recs = random_records(40, 5);
  write_file(dir.file("t"), recs, 1, 500);
  const Bytes full = slurp(dir.file("t"));
  std::mt19937_64 rng(9);
  for (int k = 0; k < 400; ++k) {
    Bytes b = full;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < n; ++j) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
    spit(dir.file("c"), b);
    const ReadResult got = read_file(dir.file("c"));
    if (got.status == ReadStatus::error) {
      EXPECT_NE(got.kind, ReadErrorKind::none);
      EXPECT_FALSE(got.message.empty());
      EXPECT_GE(got.record_index, got.records.size());
    }
  }
}

TEST(DeviceAppsFile, FramingErrors) {
  TempDir dir;
  // Records framed by hand, compressed by the writer's raw path: a good record, then damage.
  const Bytes msg = encode(homework());
  auto framed = [&](std::uint32_t magic, std::size_t keep) {
    Bytes b(8 + msg.size());
    hotloop::write_record_header(1, static_cast<std::uint16_t>(msg.size()), b.data());
    std::memcpy(b.data(), &magic, 4);
    std::copy(msg.begin(), msg.end(), b.begin() + 8);
    b.resize(keep);
    return b;
  };
  const struct {
    std::uint32_t magic;
    std::size_t keep;
    const char* expect;
  } cases[] = {
      {0xFFFFFFFEu, 8 + msg.size(), "bad record magic 0xFFFFFFFE (expected 0xFFFFFFFF)"},
      {0xFFFFFFFFu, 5, "truncated record header: the stream ends 5 bytes into it (a header has 8)"},
      {0xFFFFFFFFu, 8 + 3,
       "truncated message: the header announces 68 bytes, the stream ends "
       "after 3"},
  };
  ASSERT_EQ(msg.size(), 68u);
  for (const auto& c : cases) {
    const Bytes good = framed(0xFFFFFFFFu, 8 + msg.size()), bad = framed(c.magic, c.keep);
    Bytes raw = good;
    raw.insert(raw.end(), bad.begin(), bad.end());
    Bytes gz(4096);
    z_stream zs{};
    ASSERT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = raw.data();
    zs.avail_in = static_cast<uInt>(raw.size());
    zs.next_out = gz.data();
    zs.avail_out = static_cast<uInt>(gz.size());
    ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
    gz.resize(zs.total_out);
    deflateEnd(&zs);
    spit(dir.file("f"), gz);
    const ReadResult got = read_file(dir.file("f"));
    EXPECT_EQ(got.status, ReadStatus::error);
    EXPECT_EQ(got.kind, ReadErrorKind::framing);
    EXPECT_EQ(got.message, c.expect);
    EXPECT_EQ(got.records.size(), 1u);
    EXPECT_EQ(got.record_index, 1u);
    EXPECT_EQ(got.offset, good.size());
  }
}

// No record of a damaged gzip member is ever returned: for every single-bit flip of a small
// file (our members, several of them, and one zlib member), the records read are a prefix of
// the true ones, and all of them unless an error is reported.
TEST(DeviceAppsFile, NoBitFlipYieldsAWrongRecord) {
  TempDir dir;
  const auto recs = random_records(12, 11);
  write_file(dir.file("t"), recs, 1, 300);
  const Bytes ours = slurp(dir.file("t"));
  const Bytes foreign = zlib_gzip(gunzip(ours));
  for (const Bytes* file : {&ours, &foreign}) {
    std::size_t errors = 0, whole = 0;
    for (std::size_t bit = 0; bit < file->size() * 8; ++bit) {
      Bytes b = *file;
      b[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      const ReadResult got = read_buffer(b);
      ASSERT_LE(got.records.size(), recs.size()) << bit;
      for (std::size_t i = 0; i < got.records.size(); ++i)
        ASSERT_TRUE(got.records[i] == recs[i]) << "bit " << bit << ": wrong record " << i;
      if (got.status == ReadStatus::error) {
        ++errors;
      } else {
        ASSERT_EQ(got.records.size(), recs.size()) << bit;
        ++whole;
      }
    }
    EXPECT_GT(errors, 2 * whole);
  }
}

TEST(DeviceAppsFile, BufferReadsAsTheFile) {
  TempDir dir;
  const auto recs = random_records(500, 12);
  write_file(dir.file("t"), recs, 2, 2000);
  const ReadResult got = read_buffer(slurp(dir.file("t")));
  EXPECT_EQ(got.status, ReadStatus::end) << got.message;
  ASSERT_EQ(got.records.size(), recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_TRUE(got.records[i] == recs[i]) << i;
  EXPECT_EQ(read_buffer(Bytes{}).status, ReadStatus::end);  // empty: no records
}

// A member bigger than the limit is streamed: its records come before its CRC is checked.
TEST(DeviceAppsFile, MemberLimit) {
  TempDir dir;
  const auto recs = random_records(8000, 13);
  write_file(dir.file("t"), recs, 1, hotloop::kMaxBlockSize);
  const Bytes raw = gunzip(slurp(dir.file("t")));
  ASSERT_GT(raw.size(), std::size_t{600} << 10);
  Bytes damaged = zlib_gzip(raw);
  damaged[damaged.size() - 8] ^= 1;  // the CRC
  ReadResult got = read_buffer(damaged);
  EXPECT_EQ(got.status, ReadStatus::error);
  EXPECT_NE(got.message.find("incorrect data check"), std::string::npos) << got.message;
  EXPECT_EQ(got.records.size(), 0u);
  got = read_buffer(damaged, 100000);
  EXPECT_EQ(got.status, ReadStatus::error);
  EXPECT_GT(got.records.size(), 0u);
  for (std::size_t i = 0; i < got.records.size(); ++i) ASSERT_TRUE(got.records[i] == recs[i]);
  // whole files read the same under any limit
  for (std::size_t limit : {std::size_t{1}, std::size_t{70000}, hotloop::kMaxMemberLimit}) {
    for (const Bytes& file : {slurp(dir.file("t")), zlib_gzip(raw)}) {
      got = read_buffer(file, limit);
      EXPECT_EQ(got.status, ReadStatus::end) << limit << got.message;
      EXPECT_EQ(got.records.size(), recs.size()) << limit;
    }
  }
}

// A FIFO is written in place (never replaced by a regular file); so is a character device.
TEST(DeviceAppsFile, WriterWritesFifosAndDevicesInPlace) {
  TempDir dir;
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Bytes got;
  std::thread reader([&] { got = slurp(fifo); });
  const auto recs = random_records(50, 14);
  {
    DeviceAppsWriter w(6, 2, 500);
    EXPECT_EQ(w.open(fifo.c_str()), 0);  // waits for the reader thread
    for (const Record& r : recs)
      if (w.add(r.view()) == AddStatus::block_full) {
        EXPECT_EQ(w.flush_block(), 0);
      }
    EXPECT_EQ(w.commit(), 0);
  }
  reader.join();
  struct stat st;
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(dir.n_files(), 1);  // no temporary file
  const ReadResult back = read_buffer(got);
  EXPECT_EQ(back.status, ReadStatus::end) << back.message;
  EXPECT_EQ(back.records.size(), recs.size());
  // proven on the FIFO first: a device is not renamed over
  if (::stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode)) {
    DeviceAppsWriter w(1, 1, 100);
    ASSERT_EQ(w.open("/dev/null"), 0);
    ASSERT_EQ(w.commit(), 0);
    ASSERT_EQ(::lstat("/dev/null", &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
  }
}

TEST(DeviceAppsFile, WriterFollowsSymlinks) {
  TempDir dir;
  const std::string target = dir.file("target"), link = dir.file("link");
  spit(target, Bytes{1, 2, 3});
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  const auto recs = random_records(20, 15);
  DeviceAppsWriter w(6, 1, 100);
  ASSERT_EQ(w.open(link.c_str()), 0);
  for (const Record& r : recs)
    if (w.add(r.view()) == AddStatus::block_full) {
      ASSERT_EQ(w.flush_block(), 0);
    }
  ASSERT_EQ(w.commit(), 0);
  struct stat st;
  ASSERT_EQ(::lstat(link.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(read_file(target).records.size(), recs.size());
  EXPECT_EQ(dir.n_files(), 2);
  ASSERT_EQ(::symlink(dir.file("nowhere").c_str(), dir.file("dangling").c_str()), 0);
  EXPECT_EQ(DeviceAppsWriter(6, 1, 100).open(dir.file("dangling").c_str()), ENOENT);
  EXPECT_EQ(dir.n_files(), 3);
}

// A stalled FIFO: next() comes back with `waiting` (so a caller can check for signals), and
// reads on once input arrives.
TEST(DeviceAppsFile, StalledFifoReturnsWaiting) {
  TempDir dir;
  const auto recs = random_records(30, 16);
  write_file(dir.file("t"), recs, 1, 400);
  const Bytes full = slurp(dir.file("t"));
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const int wfd = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);  // a writer: the open won't block
  ASSERT_GE(wfd, 0);
  ASSERT_EQ(::write(wfd, full.data(), 30), 30);
  DeviceAppsReader r;
  ASSERT_EQ(r.open(fifo.c_str()), 0);
  RecordView rec;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(r.next(&rec, false), ReadStatus::need_input);
  EXPECT_EQ(r.next(&rec, true), ReadStatus::waiting);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(r.next(&rec, true), ReadStatus::waiting);
  const std::size_t rest = full.size() - 30;
  ASSERT_EQ(::write(wfd, full.data() + 30, rest), static_cast<ssize_t>(rest));
  ::close(wfd);
  const ReadResult got = read_all(r);
  EXPECT_EQ(got.status, ReadStatus::end) << got.message;
  ASSERT_EQ(got.records.size(), recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) EXPECT_TRUE(got.records[i] == recs[i]) << i;
}

// ---------------------------------------------------------------------------------------------
// Member ranges

using hotloop::MemberRange;

std::vector<MemberRange> scan_file(const std::string& path, std::uint64_t target) {
  std::vector<MemberRange> v(3);  // replaced, not appended to
  EXPECT_EQ(hotloop::scan_member_ranges(path.c_str(), target, &v), 0);
  std::vector<MemberRange> w;
  const Bytes b = slurp(path);
  EXPECT_EQ(hotloop::scan_member_ranges_buffer(b.data(), b.size(), target, &w), 0);
  EXPECT_EQ(v.size(), w.size());
  for (std::size_t i = 0; i < std::min(v.size(), w.size()); ++i) {
    EXPECT_EQ(v[i].begin, w[i].begin);
    EXPECT_EQ(v[i].end, w[i].end);
    EXPECT_EQ(v[i].uncompressed_begin, w[i].uncompressed_begin);
  }
  return v;
}

void expect_cover(const std::vector<MemberRange>& v, std::uint64_t size) {
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.front().begin, 0u);
  EXPECT_EQ(v.back().end, size);
  for (std::size_t i = 1; i < v.size(); ++i) EXPECT_EQ(v[i - 1].end, v[i].begin);
}

// The records of the ranges, read in order, each from its own reader, until the first error.
ReadResult read_ranges(const std::string& path, const std::vector<MemberRange>& v) {
  ReadResult all;
  for (const MemberRange& m : v) {
    DeviceAppsReader r;
    EXPECT_EQ(r.open_range(path.c_str(), m.begin, m.end, m.uncompressed_begin), 0);
    EXPECT_EQ(r.open_range(path.c_str(), m.begin, m.end), EBUSY);
    ReadResult one = read_all(r);
    all.records.insert(all.records.end(), one.records.begin(), one.records.end());
    if (one.status != ReadStatus::end) {
      one.records = std::move(all.records);
      return one;
    }
  }
  return all;
}

// File offsets of our members, from their size fields.
std::vector<std::uint64_t> member_starts(const Bytes& b) {
  std::vector<std::uint64_t> v;
  std::size_t pos = 0;
  while (pos + 24 <= b.size()) {
    v.push_back(pos);
    pos += static_cast<std::size_t>(b[pos + 16]) | b[pos + 17] << 8 | b[pos + 18] << 16 |
           static_cast<std::size_t>(b[pos + 19]) << 24;
  }
  EXPECT_EQ(pos, b.size());
  return v;
}

TEST(DeviceAppsRanges, RangesCoverTheFileAndReadAsIt) {
  TempDir dir;
  const auto recs = random_records(2000, 21);
  write_file(dir.file("t"), recs, 2, 700);
  const Bytes b = slurp(dir.file("t"));
  const auto starts = member_starts(b);
  ASSERT_GT(starts.size(), 20u);
  for (std::uint64_t target : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1000},
                               std::uint64_t{b.size() / 4}, std::uint64_t{1} << 40}) {
    const auto v = scan_file(dir.file("t"), target);
    expect_cover(v, b.size());
    if (target <= 1) {
      EXPECT_EQ(v.size(), starts.size());  // one per member
    }
    if (target > b.size()) {
      EXPECT_EQ(v.size(), 1u);
    }
    for (const MemberRange& m : v) {
      EXPECT_TRUE(std::find(starts.begin(), starts.end(), m.begin) != starts.end());
      if (&m != &v.back()) {
        EXPECT_GE(m.end - m.begin, std::max<std::uint64_t>(target, 1));
      }
      // uncompressed_begin: the uncompressed size of everything before the range
      EXPECT_EQ(m.uncompressed_begin, gunzip(Bytes(b.begin(), b.begin() + m.begin)).size());
    }
    const ReadResult got = read_ranges(dir.file("t"), v);
    EXPECT_EQ(got.status, ReadStatus::end) << got.message;
    ASSERT_EQ(got.records.size(), recs.size());
    for (std::size_t i = 0; i < recs.size(); ++i) ASSERT_TRUE(got.records[i] == recs[i]) << i;
  }
}

TEST(DeviceAppsRanges, ForeignMembersEndTheScan) {
  TempDir dir;
  const auto recs = random_records(300, 22);
  write_file(dir.file("t"), recs, 1, 500);
  const Bytes b = slurp(dir.file("t"));
  const auto starts = member_starts(b);
  const Bytes raw = gunzip(b);
  // another writer's file, one member and two: one range
  Bytes two = zlib_gzip(Bytes(raw.begin(), raw.begin() + 0));
  const Bytes whole = zlib_gzip(raw);
  two.insert(two.end(), whole.begin(), whole.end());
  for (const Bytes& foreign : {whole, two}) {
    spit(dir.file("f"), foreign);
    const auto v = scan_file(dir.file("f"), 1);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].end, foreign.size());
    EXPECT_EQ(read_ranges(dir.file("f"), v).records.size(), recs.size());
  }
  // our members, then zero padding, then a foreign member: the rest is one range
  Bytes mixed(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(starts[5]));
  mixed.insert(mixed.end(), 3, 0);
  const Bytes tail =
      zlib_gzip(gunzip(Bytes(b.begin() + static_cast<std::ptrdiff_t>(starts[5]), b.end())));
  mixed.insert(mixed.end(), tail.begin(), tail.end());
  spit(dir.file("m"), mixed);
  const auto v = scan_file(dir.file("m"), 1);
  ASSERT_EQ(v.size(), 5u);  // the rest joins the range of the last member of ours
  EXPECT_EQ(v[4].begin, starts[4]);
  const ReadResult got = read_ranges(dir.file("m"), v);
  EXPECT_EQ(got.status, ReadStatus::end) << got.message;
  EXPECT_EQ(got.records.size(), recs.size());
}

TEST(DeviceAppsRanges, TruncationAndDamageFailAsTheWholeFile) {
  TempDir dir;
  const auto recs = random_records(400, 23);
  write_file(dir.file("t"), recs, 1, 600);
  const Bytes b = slurp(dir.file("t"));
  const auto starts = member_starts(b);
  const std::uint64_t mid = starts[starts.size() / 2];
  // cut between members, inside a header, inside deflate data, inside the last member
  for (std::uint64_t cut : {mid, mid + 10, mid + 40, std::uint64_t{b.size() - 3}}) {
    spit(dir.file("c"), Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut)));
    const ReadResult whole = read_file(dir.file("c"));
    ASSERT_EQ(whole.status, ReadStatus::error);
    for (std::uint64_t target : {1, 3000, 1 << 30}) {
      const ReadResult got = read_ranges(dir.file("c"), scan_file(dir.file("c"), target));
      ASSERT_EQ(got.status, ReadStatus::error) << cut << " " << target;
      EXPECT_EQ(got.kind, whole.kind) << got.message;
      EXPECT_EQ(got.records.size(), whole.records.size());
      EXPECT_EQ(got.offset, whole.offset);
    }
  }
  // a flipped byte in a member: its range fails without a record of it; the others read
  Bytes d = b;
  d[mid + 50] ^= 0x20;
  spit(dir.file("d"), d);
  const auto v = scan_file(dir.file("d"), 1);
  std::size_t n = 0, failed = 0;
  for (const MemberRange& m : v) {
    DeviceAppsReader r;
    ASSERT_EQ(r.open_range(dir.file("d").c_str(), m.begin, m.end, m.uncompressed_begin), 0);
    const ReadResult got = read_all(r);
    if (got.status == ReadStatus::error) {
      ++failed;
      EXPECT_EQ(m.begin, mid);
      EXPECT_TRUE(got.records.empty());
      EXPECT_EQ(r.error().file_offset, mid);
    } else if (failed == 0) {  // the ranges before the damaged one: the file's records
      for (std::size_t i = 0; i < got.records.size(); ++i)
        EXPECT_TRUE(got.records[i] == recs[n + i]);
      n += got.records.size();
    }
  }
  EXPECT_EQ(failed, 1u);
}

TEST(DeviceAppsRanges, EdgeCases) {
  TempDir dir;
  std::vector<MemberRange> v;
  EXPECT_EQ(hotloop::scan_member_ranges(dir.file("missing").c_str(), 1, &v), ENOENT);
  EXPECT_EQ(hotloop::scan_member_ranges(dir.file("").c_str(), 1, &v), EISDIR);
  DeviceAppsReader r0;
  EXPECT_EQ(r0.open_range(dir.file("missing").c_str(), 0, 1), ENOENT);
  spit(dir.file("e"), Bytes{});
  v = scan_file(dir.file("e"), 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].end, 0u);
  EXPECT_EQ(read_ranges(dir.file("e"), v).status, ReadStatus::end);
  DeviceAppsReader r1;
  EXPECT_EQ(r1.open_range(dir.file("e").c_str(), 2, 1), EINVAL);
  const Bytes small = {1, 2, 3};
  DeviceAppsReader r2;
  EXPECT_EQ(r2.open_buffer_range(small.data(), small.size(), 0, 4), EINVAL);
  // sizes that cannot be: zero, smaller than a header and trailer, past the end; each ends the
  // scan there, and the reader of the last range reports what the whole-file reader does
  const auto recs = random_records(50, 24);
  write_file(dir.file("t"), recs, 1, 200);
  const Bytes b = slurp(dir.file("t"));
  const auto starts = member_starts(b);
  for (std::uint32_t bad : {0u, 1u, 31u, 0xFFFFFFFFu, static_cast<std::uint32_t>(b.size())}) {
    Bytes d = b;
    const std::size_t at = starts[2] + 16;
    for (int i = 0; i < 4; ++i) d[at + i] = static_cast<std::uint8_t>(bad >> (8 * i));
    spit(dir.file("d"), d);
    const auto w = scan_file(dir.file("d"), 1);
    expect_cover(w, d.size());
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[1].begin, starts[1]);
    const ReadResult whole = read_file(dir.file("d"));
    const ReadResult got = read_ranges(dir.file("d"), w);
    EXPECT_EQ(got.status, whole.status) << bad;
    EXPECT_EQ(got.records.size(), whole.records.size()) << bad;
  }
  // a range that does not start at a member
  DeviceAppsReader r3;
  ASSERT_EQ(r3.open_range(dir.file("t").c_str(), 5, b.size()), 0);
  const ReadResult got = read_all(r3);
  EXPECT_EQ(got.status, ReadStatus::error);
  EXPECT_NE(got.message.find("file byte 5"), std::string::npos) << got.message;
  // a FIFO is refused, not waited on
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
  EXPECT_EQ(hotloop::scan_member_ranges(dir.file("fifo").c_str(), 1, &v), ESPIPE);
  DeviceAppsReader r4;
  EXPECT_EQ(r4.open_range(dir.file("fifo").c_str(), 0, 10), ESPIPE);
}

}  // namespace
