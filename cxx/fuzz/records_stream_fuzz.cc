// libFuzzer harness of the counter-record decoders: the input is one control byte, then a whole
// counter file (raw, gzip or lz4 frame, as the file's first bytes say).
//
// Control byte: bit 0 picks the record size (12 or 8 bytes), bits 1-3 the size of the reads.
//
// Oracles, used independently of hotloop's decoder:
//  - the stream's bytes: the input itself when it is not compressed; zlib (gzip members, zero
//    padding between them) or liblz4's frame decoder (frames and skippable frames) otherwise.
//    ByteStream may only return a prefix of what the oracle decodes; when it reports a clean
//    end, the oracle must have decoded the whole input to exactly those bytes.
//  - the counts: a std::map of exact per-id totals over the bytes ByteStream returned, against
//    Counters fed in pieces, and against two half Counters merged.
//  - the file-level path: CountJob (the claims of hinted gzip members and lz4 frames, pread
//    ranges) on the same bytes in a memfd must succeed exactly when ByteStream does, with the
//    same counts.
#include <lz4frame.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "hotloop/records.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

struct Decoded {
  Bytes bytes;         // everything the oracle could decode, in order
  bool clean = false;  // the whole input is valid
};

Decoded gzip_oracle(const std::uint8_t* data, std::size_t size) {
  Decoded d;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) std::abort();
  std::size_t pos = 0;
  bool any = false;
  for (;;) {
    if (any)
      while (pos < size && data[pos] == 0) ++pos;
    if (pos >= size) {
      d.clean = any;
      break;
    }
    inflateReset(&zs);
    zs.next_in = const_cast<std::uint8_t*>(data + pos);
    zs.avail_in = static_cast<uInt>(size - pos);
    int r = Z_OK;
    while (r == Z_OK) {
      std::uint8_t buf[1 << 14];
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      r = inflate(&zs, Z_NO_FLUSH);
      d.bytes.insert(d.bytes.end(), buf, buf + (sizeof buf - zs.avail_out));
      if (r == Z_BUF_ERROR && zs.avail_out == 0) r = Z_OK;
    }
    if (r != Z_STREAM_END) break;
    pos = size - zs.avail_in;
    any = true;
  }
  inflateEnd(&zs);
  return d;
}

Decoded lz4_oracle(const std::uint8_t* data, std::size_t size) {
  Decoded d;
  LZ4F_dctx* dc = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dc, LZ4F_VERSION))) std::abort();
  std::size_t pos = 0;
  std::size_t hint = 1;
  while (pos < size) {
    std::uint8_t buf[1 << 14];
    std::size_t out = sizeof buf, in = size - pos;
    hint = LZ4F_decompress(dc, buf, &out, data + pos, &in, nullptr);
    if (LZ4F_isError(hint)) break;
    d.bytes.insert(d.bytes.end(), buf, buf + out);
    pos += in;
    if (in == 0 && out == 0) break;  // no progress (cannot happen with input left)
  }
  // Clean: every byte consumed and the last frame complete.
  d.clean = pos == size && !LZ4F_isError(hint) && hint == 0;
  // Output still buffered inside the context after the input ran out.
  if (!LZ4F_isError(hint)) {
    for (;;) {
      std::uint8_t buf[1 << 14];
      std::size_t out = sizeof buf, in = 0;
      const std::size_t h = LZ4F_decompress(dc, buf, &out, nullptr, &in, nullptr);
      if (LZ4F_isError(h) || out == 0) break;
      d.bytes.insert(d.bytes.end(), buf, buf + out);
    }
  }
  LZ4F_freeDecompressionContext(dc);
  return d;
}

struct Totals {
  std::uint64_t shows = 0, clicks = 0, records = 0;
  std::uint64_t shows_freq[hotloop::kFrequencyCount] = {};
  std::uint64_t clicks_freq[hotloop::kFrequencyCount] = {};
  std::uint64_t distinct = 0;
};

Totals reference_totals(const Bytes& b, std::size_t key_size) {
  const std::size_t rec = key_size + 4;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> per_id;
  Totals t;
  for (std::size_t i = 0; i + rec <= b.size(); i += rec) {
    std::uint64_t id = 0;
    std::memcpy(&id, &b[i], key_size);  // little-endian host
    std::uint16_t s, c;
    std::memcpy(&s, &b[i + key_size], 2);
    std::memcpy(&c, &b[i + key_size + 2], 2);
    per_id[id].first += s;
    per_id[id].second += c;
    t.shows += s;
    t.clicks += c;
    ++t.records;
  }
  for (const auto& kv : per_id) {
    const auto cap = [](std::uint64_t v) { return v < 32 ? v : 32; };
    ++t.shows_freq[cap(kv.second.first)];
    ++t.clicks_freq[cap(kv.second.second)];
  }
  t.distinct = per_id.size();
  return t;
}

void expect_equal(const Totals& want, const hotloop::Counters& c) {
  if (c.shows_all() != want.shows || c.clicks_all() != want.clicks || c.records() != want.records ||
      c.distinct() != want.distinct)
    std::abort();
  std::uint64_t sf[hotloop::kFrequencyCount], cf[hotloop::kFrequencyCount];
  c.frequencies(sf, cf);
  if (std::memcmp(sf, want.shows_freq, sizeof sf) || std::memcmp(cf, want.clicks_freq, sizeof cf))
    std::abort();
}

// A memfd holding the input, named by a /proc path CountJob can open.
struct MemFile {
  int fd = -1;
  char path[64] = {};
  MemFile() {
    fd = ::memfd_create("records_fuzz", 0);
    if (fd < 0) std::abort();
    std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  void set(const std::uint8_t* data, std::size_t size) {
    if (::ftruncate(fd, 0) != 0) std::abort();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t w = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      if (w <= 0) std::abort();
      done += static_cast<std::size_t>(w);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* input, std::size_t input_size) {
  if (input_size == 0) return 0;
  const std::size_t key_size = (input[0] & 1) ? 4 : 8;
  const std::size_t rec = key_size + 4;
  static const std::size_t kReads[8] = {1, 2, 3, 7, 64, 1000, 3000, 6000};
  const std::size_t read_records = kReads[(input[0] >> 1) & 7];
  const std::uint8_t* data = input + 1;
  const std::size_t size = input_size - 1;

  // The oracle.
  const hotloop::Compression comp = hotloop::detect_compression(data, size);
  Decoded ref;
  if (comp == hotloop::Compression::gzip)
    ref = gzip_oracle(data, size);
  else if (comp == hotloop::Compression::lz4)
    ref = lz4_oracle(data, size);
  else
    ref = Decoded{Bytes(data, data + size), true};

  // ByteStream.
  hotloop::ByteStream bs(rec);
  bs.open_memory(data, size);
  Bytes got;
  Bytes buf(read_records * rec);
  bool clean = false;
  for (;;) {
    const std::ptrdiff_t r = bs.read(buf.data(), buf.size());
    if (r == 0) {
      clean = true;
      break;
    }
    if (r < 0) {
      if (bs.error().ok()) std::abort();                        // an error needs a reason
      if (bs.read(buf.data(), buf.size()) != -1) std::abort();  // and stays
      break;
    }
    if (static_cast<std::size_t>(r) > buf.size() || r % static_cast<std::ptrdiff_t>(rec))
      std::abort();
    got.insert(got.end(), buf.begin(), buf.begin() + r);
  }
  if (bs.decoded() != got.size()) std::abort();
  if (bs.compression() != comp && size >= 4) std::abort();
  // Only what the oracle decodes, in order; all of it (a valid input) on a clean end.
  if (got.size() > ref.bytes.size() ||
      (!got.empty() && std::memcmp(got.data(), ref.bytes.data(), got.size())))
    std::abort();
  if (clean && (!ref.clean || got.size() != ref.bytes.size())) std::abort();
  // An uncompressed input is fine exactly when it is whole records.
  if (comp == hotloop::Compression::none) {
    if (clean != (size % rec == 0)) std::abort();
    if (!clean && bs.error().kind != hotloop::FaultKind::truncated) std::abort();
  }

  // Counting what was returned.
  const Totals want = reference_totals(got, key_size);
  const std::size_t n = got.size() / rec;
  hotloop::Counters all(key_size), a(key_size), b(key_size);
  for (std::size_t i = 0; i < n; i += read_records)
    all.add_records(got.data() + i * rec, std::min(read_records, n - i));
  expect_equal(want, all);
  a.add_records(got.data(), n / 2);
  b.add_records(got.data() + n / 2 * rec, n - n / 2);
  a.merge(b);
  expect_equal(want, a);

  // The file-level path on the same bytes.
  static MemFile mem;
  mem.set(data, size);
  hotloop::CountJob job(key_size, 2);
  if (job.add_file(mem.path) != 0) std::abort();
  while (!job.run(std::uint64_t{1} << 16)) {
  }
  if (job.failed() != !clean) std::abort();
  if (clean) {
    hotloop::Counters out(key_size);
    if (job.finish(&out) != 0) std::abort();
    expect_equal(want, out);
  } else if (job.error().ok()) {
    std::abort();
  }
  return 0;
}
