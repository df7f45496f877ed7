// libFuzzer harness of the DeviceApps record framing: the input (after its first byte) is the
// uncompressed stream, wrapped here into one or two gzip members (split where the first byte
// says, so that records cross member boundaries), and read back by the reader.
//
// Oracle: a twin of the framing written from the format's description. The reader returns
// exactly the records the twin finds, and ends cleanly exactly when the twin consumes the
// stream; otherwise it reports a framing error at the twin's first bad record.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hotloop/deviceapps.hpp"

namespace {

void append_member(const std::uint8_t* p, std::size_t n, std::vector<std::uint8_t>* out) {
  z_stream zs{};
  if (deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  const std::size_t start = out->size();
  out->resize(start + deflateBound(&zs, static_cast<uLong>(n)) + 32);
  zs.next_in = const_cast<std::uint8_t*>(p);
  zs.avail_in = static_cast<uInt>(n);
  zs.next_out = out->data() + start;
  zs.avail_out = static_cast<uInt>(out->size() - start);
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out->resize(start + zs.total_out);
  deflateEnd(&zs);
}

std::uint32_t le32(const std::uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t split = data[0] * (size - 1) / 255;
  const std::uint8_t* stream = data + 1;
  const std::size_t n = size - 1;
  std::vector<std::uint8_t> gz;
  append_member(stream, split, &gz);
  if (split < n) append_member(stream + split, n - split, &gz);

  // The twin: records while whole ones remain.
  struct Rec {
    std::size_t offset;
    std::uint16_t type, size;
  };
  std::vector<Rec> twin;
  std::size_t pos = 0;
  while (n - pos >= 8 && le32(stream + pos) == 0xFFFFFFFFu) {
    const std::uint16_t type = static_cast<std::uint16_t>(stream[pos + 4] | stream[pos + 5] << 8);
    const std::uint16_t len = static_cast<std::uint16_t>(stream[pos + 6] | stream[pos + 7] << 8);
    if (n - pos - 8 < len) break;
    twin.push_back({pos, type, len});
    pos += 8 + len;
  }
  const bool whole = pos == n;

  hotloop::DeviceAppsReader reader;
  if (reader.open_buffer(gz.data(), gz.size()) != 0) std::abort();
  hotloop::RecordView rec;
  for (std::size_t i = 0;; ++i) {
    hotloop::ReadStatus s = reader.next(&rec, false);
    if (s == hotloop::ReadStatus::need_input) s = reader.next(&rec, true);
    if (s == hotloop::ReadStatus::record) {
      if (i >= twin.size()) std::abort();
      const Rec& t = twin[i];
      if (rec.offset != t.offset || rec.type != t.type || rec.size != t.size || rec.index != i ||
          std::memcmp(rec.data, stream + t.offset + 8, t.size))
        std::abort();
      continue;
    }
    if (i != twin.size()) std::abort();
    if (s == hotloop::ReadStatus::end) {
      if (!whole) std::abort();
    } else if (s == hotloop::ReadStatus::error) {
      const hotloop::ReadError& e = reader.error();
      if (whole || e.kind != hotloop::ReadErrorKind::framing || e.record_index != i ||
          e.offset != pos)
        std::abort();
    } else {
      std::abort();
    }
    break;
  }
  return 0;
}
