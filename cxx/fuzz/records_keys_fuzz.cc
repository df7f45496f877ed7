// libFuzzer harness of the key-file reader: parse_key on every line, and NegativeJob (line
// splitting across decoder chunks, the header, the set, the output) on two files.
//
// Input: one control byte, then the all-file, a 0xFF byte, and the in-file (without a 0xFF the
// in-file is empty). Control byte: bit 0 has_header, bit 1 key64, bit 2 gzip the all-file, bit 3
// gzip the in-file (with zlib, so that lines also cross the gzip decoder's chunks), bit 4 two
// threads, bits 5-6 the job's chunk size (the default, 1, 7 or 64 bytes: lines cross chunks).
//
// Oracle: a plain line splitter and digit loop written here. Lines end at '\n' (the last one
// may lack it) and lose one trailing '\r'; a key is one or more ASCII digits whose value fits in
// 64 bits (32 without key64). NegativeJob must fail exactly when the oracle finds a bad line
// (the in-file is read first), naming its file and line; otherwise it must write the header line
// and the all-file's keys that are not in the in-file, in order, in plain decimal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "hotloop/records.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;

enum class Why { ok, not_number, over64, over32 };

Why reference_parse(const std::uint8_t* p, std::size_t n, bool key64, std::uint64_t* key) {
  if (n > 0 && p[n - 1] == '\r') --n;
  if (n == 0) return Why::not_number;
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] < '0' || p[i] > '9') return Why::not_number;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, p[i] - '0', &v))
      return Why::over64;
  }
  if (!key64 && v > 0xFFFFFFFFull) return Why::over32;
  *key = v;
  return Why::ok;
}

Why classify(const char* reason) {
  if (!reason) return Why::ok;
  if (std::strstr(reason, "64 bits")) return Why::over64;
  if (std::strstr(reason, "32 bits")) return Why::over32;
  return Why::not_number;
}

std::vector<std::string> lines_of(const Bytes& b) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < b.size(); ++i)
    if (b[i] == '\n') {
      out.emplace_back(b.begin() + start, b.begin() + i);
      start = i + 1;
    }
  if (start < b.size()) out.emplace_back(b.begin() + start, b.end());
  return out;
}

Bytes gzip_of(const Bytes& raw) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  Bytes out(deflateBound(&zs, raw.size()) + 64);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// The oracle's verdict on one file: the keys, or the first bad line (1-based) and why.
struct Parsed {
  std::vector<std::uint64_t> keys;
  std::string header;
  bool has_header_line = false;
  std::uint64_t bad_line = 0;
  Why why = Why::ok;
};

Parsed parse_file(const Bytes& b, bool has_header, bool key64) {
  Parsed r;
  const auto lines = lines_of(b);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(lines[i].data());
    const std::size_t n = lines[i].size();
    if (has_header && i == 0) {
      r.header = lines[i];
      if (!r.header.empty() && r.header.back() == '\r') r.header.pop_back();
      r.has_header_line = true;
      continue;
    }
    std::uint64_t k = 0;
    const Why w = reference_parse(p, n, key64, &k);
    // parse_key itself, on a copy that ends exactly where the line does (ASan sees overreads).
    std::vector<std::uint8_t> copy(p, p + n);
    std::uint64_t k2 = ~std::uint64_t{0};
    const Why w2 = classify(hotloop::parse_key(copy.data(), n, key64, &k2));
    if (w != w2 || (w == Why::ok && k != k2)) std::abort();
    if (w != Why::ok) {
      r.bad_line = i + 1;
      r.why = w;
      return r;
    }
    r.keys.push_back(k);
  }
  return r;
}

std::string dir;

void write_file(const std::string& path, const Bytes& b) {
  ::unlink(path.c_str());  // a new file, not a truncated one
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (!b.empty() && std::fwrite(b.data(), 1, b.size(), f) != b.size()) std::abort();
  std::fclose(f);
}

Bytes read_file(const std::string& path) {
  Bytes out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  std::uint8_t buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* input, std::size_t size) {
  if (size == 0) return 0;
  if (dir.empty()) {
    // tmpfs when there is one: rewriting a file on ext4 flushes it to disk at close (its
    // replace-by-truncate heuristic), which made each run wait milliseconds.
    const bool shm = ::access("/dev/shm", W_OK) == 0;
    char tmpl[64];
    std::snprintf(tmpl, sizeof tmpl, "%s/records_keys_fuzz.XXXXXX", shm ? "/dev/shm" : "/tmp");
    if (!::mkdtemp(tmpl)) std::abort();
    dir = tmpl;
    std::atexit([] {
      for (const char* name : {"/all", "/in", "/out"}) ::unlink((dir + name).c_str());
      ::rmdir(dir.c_str());
    });
  }
  const bool has_header = input[0] & 1, key64 = input[0] & 2;
  const std::uint8_t* body = input + 1;
  const std::uint8_t* end = input + size;
  const auto* sep = static_cast<const std::uint8_t*>(std::memchr(body, 0xFF, end - body));
  const Bytes all(body, sep ? sep : end);
  const Bytes in = sep ? Bytes(sep + 1, end) : Bytes();

  const Parsed in_ref = parse_file(in, has_header, key64);
  const Parsed all_ref = parse_file(all, has_header, key64);

  const std::string all_path = dir + "/all", in_path = dir + "/in", out_path = dir + "/out";
  const bool gz_all = input[0] & 4, gz_in = input[0] & 8;
  // An input that looks compressed is read as such: the oracle would not know that.
  if (!gz_all && hotloop::detect_compression(all.data(), all.size()) != hotloop::Compression::none)
    return 0;
  if (!gz_in && hotloop::detect_compression(in.data(), in.size()) != hotloop::Compression::none)
    return 0;
  write_file(all_path, gz_all ? gzip_of(all) : all);
  write_file(in_path, gz_in ? gzip_of(in) : in);
  ::unlink(out_path.c_str());

  constexpr std::size_t kChunks[4] = {0, 1, 7, 64};
  hotloop::NegativeJob job(has_header, key64, input[0] & 16 ? 2 : 1, kChunks[input[0] >> 5 & 3]);
  int which = -1;
  if (job.open(all_path.c_str(), in_path.c_str(), out_path.c_str(), &which) != 0) std::abort();
  while (!job.run(64)) {
  }
  const bool want_fail = in_ref.bad_line || all_ref.bad_line;
  if (job.failed() != want_fail) std::abort();
  if (want_fail) {
    const hotloop::RecordsFault& e = job.error();
    const Parsed& bad = in_ref.bad_line ? in_ref : all_ref;
    if (job.error_file() != (in_ref.bad_line ? 1 : 0)) std::abort();
    if (e.kind != hotloop::FaultKind::key || e.line != bad.bad_line) std::abort();
    job.abort();
    if (::access(out_path.c_str(), F_OK) == 0) std::abort();  // no partial output
    return 0;
  }
  if (job.commit() != 0) std::abort();
  const std::set<std::uint64_t> drop(in_ref.keys.begin(), in_ref.keys.end());
  std::string want;
  if (all_ref.has_header_line) want += all_ref.header + "\n";
  std::uint64_t n = 0;
  for (std::uint64_t k : all_ref.keys)
    if (!drop.count(k)) {
      want += std::to_string(k) + "\n";
      ++n;
    }
  const Bytes got = read_file(out_path);
  if (job.written() != n || std::string(got.begin(), got.end()) != want) std::abort();
  return 0;
}
