// libFuzzer harness of the DeviceApps reader's gzip layer: the input is a whole file.
//
// Oracle: zlib, used independently. The reader may return a record only from bytes that zlib
// inflates from a gzip member it has checked to the end (CRC-32 and ISIZE), byte for byte; and
// when the reader reports a clean end, those checked members hold exactly the records it
// returned. Every DeviceApps record is also decoded.
//
// Member ranges: the same bytes are cut by scan_member_ranges_buffer() (at every byte and at
// about a third of the input), and the ranges are read in order, each by its own reader
// (open_buffer_range), up to the first error. The ranges must cover the input exactly, and
// their records must be the whole-file reader's first records, byte for byte; when no range
// fails, the whole-file reader ends cleanly with exactly those records. (The converse need not
// hold: a crafted file whose 'HL' members split records reads whole but fails in ranges.) A
// range with arbitrary ends, taken from the input's last bytes, must be read without a crash.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
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

using Records = std::vector<std::pair<std::uint16_t, std::string>>;

// Reads until the end or the first error, appending the records (type, payload) to *out.
// Returns the final status (end or error).
hotloop::ReadStatus drain(hotloop::DeviceAppsReader& reader, Records* out) {
  hotloop::RecordView rec;
  for (;;) {
    hotloop::ReadStatus s = reader.next(&rec, false);
    if (s == hotloop::ReadStatus::need_input) s = reader.next(&rec, true);
    if (s == hotloop::ReadStatus::waiting) std::abort();  // memory never stalls
    if (s != hotloop::ReadStatus::record) return s;
    out->emplace_back(rec.type, std::string(reinterpret_cast<const char*>(rec.data), rec.size));
    if (rec.type == hotloop::kDeviceAppsType) {
      hotloop::DeviceAppsMessage m;
      if (!reader.decode(rec, &m)) return hotloop::ReadStatus::error;
    }
  }
}

void check_ranges(const std::uint8_t* data, std::size_t size, const Records& whole,
                  bool whole_clean) {
  for (const std::uint64_t target : {std::uint64_t{1}, std::uint64_t{size / 3 + 1}}) {
    std::vector<hotloop::MemberRange> ranges;
    if (hotloop::scan_member_ranges_buffer(data, size, target, &ranges) != 0) std::abort();
    if (ranges.empty() || ranges.front().begin != 0 || ranges.back().end != size) std::abort();
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      if (ranges[i].begin > ranges[i].end) std::abort();
      if (i && ranges[i - 1].end != ranges[i].begin) std::abort();
    }
    Records got;
    bool clean = true;
    for (const hotloop::MemberRange& m : ranges) {
      hotloop::DeviceAppsReader reader;
      if (reader.open_buffer_range(data, size, m.begin, m.end, m.uncompressed_begin) != 0)
        std::abort();
      if (drain(reader, &got) != hotloop::ReadStatus::end) {
        clean = false;
        break;
      }
    }
    if (got.size() > whole.size()) std::abort();
    for (std::size_t i = 0; i < got.size(); ++i)
      if (got[i] != whole[i]) std::abort();
    if (clean && (!whole_clean || got.size() != whole.size())) std::abort();
  }
  if (size >= 4) {  // any range: no crash, and a clean read or an error
    const std::uint64_t a = (data[size - 4] | data[size - 3] << 8) % (size + 1);
    const std::uint64_t b = (data[size - 2] | data[size - 1] << 8) % (size + 1);
    hotloop::DeviceAppsReader reader;
    Records any;
    if (reader.open_buffer_range(data, size, std::min(a, b), std::max(a, b)) != 0) std::abort();
    drain(reader, &any);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> ref = checked_members(data, size);
  hotloop::DeviceAppsReader reader;
  if (reader.open_buffer(data, size) != 0) std::abort();
  hotloop::RecordView rec;
  std::uint64_t framed = 0;
  Records whole;
  bool whole_clean = false;
  for (;;) {
    hotloop::ReadStatus s = reader.next(&rec, false);
    if (s == hotloop::ReadStatus::need_input) s = reader.next(&rec, true);
    if (s == hotloop::ReadStatus::waiting) std::abort();  // memory never stalls
    if (s == hotloop::ReadStatus::end) {
      if (framed != ref.size()) std::abort();  // a clean end: every checked byte was framed
      whole_clean = true;
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
    whole.emplace_back(rec.type, std::string(reinterpret_cast<const char*>(rec.data), rec.size));
    if (rec.type == hotloop::kDeviceAppsType) {
      hotloop::DeviceAppsMessage m;
      if (!reader.decode(rec, &m)) break;
    }
  }
  check_ranges(data, size, whole, whole_clean);
  return 0;
}
