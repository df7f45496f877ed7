// libFuzzer harness of the DeviceApps reader's gzip layer: the input is a whole file.
//
// Oracle: zlib, used independently. The reader may return a record only from bytes that zlib
// inflates from a gzip member it has checked to the end (CRC-32 and ISIZE), byte for byte; and
// when the reader reports a clean end, those checked members hold exactly the records it
// returned. Every DeviceApps record is also decoded.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hotloop/deviceapps.hpp"

namespace {

// The uncompressed bytes of the members that zlib reads whole from data, in order: stops at the
// first damaged member, or at the first byte after a member that is neither zero padding nor
// the start of another member.
std::vector<std::uint8_t> checked_members(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> out, member;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) std::abort();
  std::size_t pos = 0;
  bool any = false;
  for (;;) {
    if (any)
      while (pos < size && data[pos] == 0) ++pos;
    if (pos >= size) break;
    inflateReset(&zs);
    member.clear();
    zs.next_in = const_cast<std::uint8_t*>(data + pos);
    zs.avail_in = static_cast<uInt>(size - pos);
    int r = Z_OK;
    while (r == Z_OK) {
      std::uint8_t buf[1 << 14];
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      r = inflate(&zs, Z_NO_FLUSH);
      member.insert(member.end(), buf, buf + (sizeof buf - zs.avail_out));
      if (r == Z_BUF_ERROR && zs.avail_out == 0) r = Z_OK;
    }
    if (r != Z_STREAM_END) break;
    out.insert(out.end(), member.begin(), member.end());
    pos = size - zs.avail_in;
    any = true;
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> ref = checked_members(data, size);
  hotloop::DeviceAppsReader reader;
  if (reader.open_buffer(data, size) != 0) std::abort();
  hotloop::RecordView rec;
  std::uint64_t framed = 0;
  for (;;) {
    hotloop::ReadStatus s = reader.next(&rec, false);
    if (s == hotloop::ReadStatus::need_input) s = reader.next(&rec, true);
    if (s == hotloop::ReadStatus::waiting) std::abort();  // memory never stalls
    if (s == hotloop::ReadStatus::end) {
      if (framed != ref.size()) std::abort();  // a clean end: every checked byte was framed
      break;
    }
    if (s == hotloop::ReadStatus::error) {
      if (reader.error().kind == hotloop::ReadErrorKind::none) std::abort();
      if (reader.error().record_index != reader.records_read()) std::abort();
      break;
    }
    // A record: only from checked bytes, unchanged, in order.
    if (rec.offset != framed) std::abort();
    const std::uint64_t end = rec.offset + hotloop::kRecordHeaderSize + rec.size;
    if (end > ref.size()) std::abort();
    if (std::memcmp(rec.data, ref.data() + rec.offset + hotloop::kRecordHeaderSize, rec.size))
      std::abort();
    framed = end;
    if (rec.type == hotloop::kDeviceAppsType) {
      hotloop::DeviceAppsMessage m;
      if (!reader.decode(rec, &m)) break;
    }
  }
  return 0;
}
