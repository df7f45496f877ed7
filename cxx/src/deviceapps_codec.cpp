// DeviceApps protobuf encoding and decoding, and the record header.
//
// Wire format: https://protobuf.dev/programming-guides/encoding/ . A tag is the varint
// (field_number << 3 | wire_type); wire types 0 varint, 1 fixed64, 2 length-delimited,
// 3/4 start/end group (deprecated, still skipped by parsers), 5 fixed32.
#include <cstring>

#include "hotloop/deviceapps.hpp"

namespace hotloop {
namespace {

// Tags of the fields we write (field << 3 | wire type).
constexpr std::uint8_t kTagDevice = (1 << 3) | 2;
constexpr std::uint8_t kTagApps = (2 << 3) | 0;
constexpr std::uint8_t kTagLat = (3 << 3) | 1;
constexpr std::uint8_t kTagLon = (4 << 3) | 1;
constexpr std::uint8_t kTagDeviceId = (1 << 3) | 2;
constexpr std::uint8_t kTagDeviceType = (2 << 3) | 2;

enum WireType : std::uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

// Nesting limit for groups inside unknown fields (protobuf's own default recursion limit).
constexpr int kMaxGroupDepth = 100;

inline std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline std::uint8_t* put_varint(std::uint64_t v, std::uint8_t* p) noexcept {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

inline std::uint8_t* put_double(double v, std::uint8_t* p) noexcept {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  return p + 8;
}

inline double get_double(const std::uint8_t* p) noexcept {
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

std::size_t device_size(const DeviceAppsMessage& m) noexcept {
  std::size_t n = 0;
  if (m.has_id) n += 1 + varint_size(m.id_size) + m.id_size;
  if (m.has_type) n += 1 + varint_size(m.type_size) + m.type_size;
  return n;
}

// A bounds-checked cursor over the message bytes. Every read checks what is left, so no input can
// make it read outside [begin, end).
class Cursor {
 public:
  Cursor(const std::uint8_t* begin, const std::uint8_t* end) noexcept
      : begin_(begin), p_(begin), end_(end) {}

  bool done() const noexcept { return p_ >= end_; }
  std::size_t position() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  const std::uint8_t* here() const noexcept { return p_; }

  // Varints have at most 10 bytes; bits past 64 are dropped, as protobuf's parsers do.
  bool varint(std::uint64_t* v, DecodeError* e) noexcept {
    std::uint64_t r = 0;
    for (int i = 0; i < 10; ++i) {
      if (p_ >= end_) return fail(e, "truncated varint");
      const std::uint8_t b = *p_++;
      r |= static_cast<std::uint64_t>(b & 0x7F) << (7 * i);
      if (b < 0x80) {
        *v = r;
        return true;
      }
    }
    return fail(e, "varint longer than 10 bytes");
  }

  // A length prefix followed by that many bytes: [*data, *data + *size).
  bool bytes(const std::uint8_t** data, std::size_t* size, DecodeError* e) noexcept {
    std::uint64_t n;
    const std::uint8_t* start = p_;
    if (!varint(&n, e)) return false;
    if (n > static_cast<std::uint64_t>(end_ - p_)) {
      p_ = start;
      return fail(e, "length-delimited field runs past the end of the message");
    }
    *data = p_;
    *size = static_cast<std::size_t>(n);
    p_ += n;
    return true;
  }

  bool skip(std::size_t n, DecodeError* e, const char* what) noexcept {
    if (n > static_cast<std::size_t>(end_ - p_)) return fail(e, what);
    p_ += n;
    return true;
  }

  // A tag: field number >= 1 in 29 bits, wire type in 3.
  bool tag(std::uint32_t* field, std::uint32_t* wire, DecodeError* e) noexcept {
    const std::uint8_t* start = p_;
    std::uint64_t t;
    if (!varint(&t, e)) return false;
    if (t > 0xFFFFFFFFu || (t >> 3) == 0) {
      p_ = start;
      return fail(e, (t >> 3) == 0 ? "field number 0" : "tag wider than 32 bits");
    }
    *field = static_cast<std::uint32_t>(t >> 3);
    *wire = static_cast<std::uint32_t>(t & 7);
    return true;
  }

  // Skips the value of an unknown field whose tag was just read.
  bool skip_value(std::uint32_t field, std::uint32_t wire, DecodeError* e) noexcept {
    std::uint64_t v;
    const std::uint8_t* d;
    std::size_t n;
    switch (wire) {
      case kVarint:
        return varint(&v, e);
      case kFixed64:
        return skip(8, e, "truncated fixed64 field");
      case kLengthDelimited:
        return bytes(&d, &n, e);
      case kFixed32:
        return skip(4, e, "truncated fixed32 field");
      case kStartGroup:
        return skip_group(field, e);
      case kEndGroup:
        return fail(e, "end-group tag without a start-group tag");
      default:
        return fail(e, "invalid wire type 6 or 7");
    }
  }

  // A run of unpacked `apps` values of one or two bytes (tag byte 0x10), the common case, read
  // without the general tag dispatch. Stops at anything else, which the general path handles.
  void apps_run(std::uint32_t* buf, std::size_t* n) noexcept {
    while (end_ - p_ >= 2 && p_[0] == kTagApps) {
      const std::uint32_t b1 = p_[1];
      if (b1 < 0x80) {
        buf[(*n)++] = b1;
        p_ += 2;
      } else if (end_ - p_ >= 3 && p_[2] < 0x80) {
        buf[(*n)++] = (b1 & 0x7F) | static_cast<std::uint32_t>(p_[2]) << 7;
        p_ += 3;
      } else {
        break;
      }
    }
  }

  bool fail(DecodeError* e, const char* what) const noexcept {
    e->what = what;
    e->position = position();
    return false;
  }

 private:
  // Skips a group's fields up to the end-group tag of the same field number, iteratively.
  bool skip_group(std::uint32_t field, DecodeError* e) noexcept {
    std::uint32_t open[kMaxGroupDepth];
    int depth = 0;
    open[depth++] = field;
    while (depth > 0) {
      if (p_ >= end_) return fail(e, "truncated group");
      std::uint32_t f, w;
      if (!tag(&f, &w, e)) return false;
      if (w == kStartGroup) {
        if (depth == kMaxGroupDepth) return fail(e, "groups nested too deeply");
        open[depth++] = f;
      } else if (w == kEndGroup) {
        if (open[depth - 1] != f) return fail(e, "end-group tag does not match its start");
        --depth;
      } else if (!skip_value(f, w, e)) {
        return false;
      }
    }
    return true;
  }

  const std::uint8_t* begin_;
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// The Device sub-message, merged into *out (fields seen again replace the earlier ones).
bool decode_device(const std::uint8_t* data, std::size_t size, std::size_t base,
                   DeviceAppsMessage* out, DecodeError* e) noexcept {
  Cursor c(data, data + size);
  while (!c.done()) {
    std::uint32_t field, wire;
    bool ok;
    if (!c.tag(&field, &wire, e)) {
      ok = false;
    } else if (field == 1 || field == 2) {
      if (wire != kLengthDelimited) {
        ok = c.fail(e, field == 1 ? "device.id has the wrong wire type (expected 2, bytes)"
                                  : "device.type has the wrong wire type (expected 2, bytes)");
      } else if (field == 1) {
        ok = c.bytes(&out->id, &out->id_size, e);
        out->has_id = true;
      } else {
        ok = c.bytes(&out->type, &out->type_size, e);
        out->has_type = true;
      }
    } else {
      ok = c.skip_value(field, wire, e);
    }
    if (!ok) {
      e->position += base;
      return false;
    }
  }
  return true;
}

}  // namespace

std::size_t encoded_size(const DeviceAppsMessage& m) noexcept {
  std::size_t n = 0;
  if (m.has_device) {
    const std::size_t d = device_size(m);
    n += 1 + varint_size(d) + d;
  }
  for (std::size_t i = 0; i < m.n_apps; ++i) n += 1 + varint_size(m.apps[i]);
  if (m.has_lat) n += 9;
  if (m.has_lon) n += 9;
  return n;
}

std::uint8_t* encode(const DeviceAppsMessage& m, std::uint8_t* p) noexcept {
  if (m.has_device) {
    *p++ = kTagDevice;
    p = put_varint(device_size(m), p);
    if (m.has_id) {
      *p++ = kTagDeviceId;
      p = put_varint(m.id_size, p);
      if (m.id_size) std::memcpy(p, m.id, m.id_size);
      p += m.id_size;
    }
    if (m.has_type) {
      *p++ = kTagDeviceType;
      p = put_varint(m.type_size, p);
      if (m.type_size) std::memcpy(p, m.type, m.type_size);
      p += m.type_size;
    }
  }
  for (std::size_t i = 0; i < m.n_apps; ++i) {
    const std::uint32_t v = m.apps[i];
    *p++ = kTagApps;
    if (v < 0x80) {
      *p++ = static_cast<std::uint8_t>(v);
    } else {
      p = put_varint(v, p);
    }
  }
  if (m.has_lat) {
    *p++ = kTagLat;
    p = put_double(m.lat, p);
  }
  if (m.has_lon) {
    *p++ = kTagLon;
    p = put_double(m.lon, p);
  }
  return p;
}

bool decode(const std::uint8_t* data, std::size_t size, DeviceAppsMessage* out,
            std::uint32_t* apps_buf, DecodeError* e) noexcept {
  *out = DeviceAppsMessage{};
  out->apps = apps_buf;
  std::size_t n_apps = 0;
  Cursor c(data, data + size);
  while (!c.done()) {
    c.apps_run(apps_buf, &n_apps);
    if (c.done()) break;
    std::uint32_t field, wire;
    if (!c.tag(&field, &wire, e)) return false;
    switch (field) {
      case 1: {  // device
        if (wire != kLengthDelimited)
          return c.fail(e, "device has the wrong wire type (expected 2, a message)");
        const std::uint8_t* d;
        std::size_t n;
        if (!c.bytes(&d, &n, e)) return false;
        out->has_device = true;
        if (!decode_device(d, n, static_cast<std::size_t>(d - data), out, e)) return false;
        break;
      }
      case 2: {  // apps: unpacked (what proto2 writes) or packed (parsers must accept both)
        std::uint64_t v;
        if (wire == kVarint) {
          if (!c.varint(&v, e)) return false;
          apps_buf[n_apps++] = static_cast<std::uint32_t>(v);
        } else if (wire == kLengthDelimited) {
          const std::uint8_t* d;
          std::size_t n;
          if (!c.bytes(&d, &n, e)) return false;
          Cursor packed(d, d + n);
          while (!packed.done()) {
            if (!packed.varint(&v, e)) {
              e->position += static_cast<std::size_t>(d - data);
              return false;
            }
            apps_buf[n_apps++] = static_cast<std::uint32_t>(v);
          }
        } else {
          return c.fail(e, "apps has the wrong wire type (expected 0 or packed 2)");
        }
        break;
      }
      case 3:
      case 4: {  // lat, lon
        if (wire != kFixed64)
          return c.fail(e, field == 3 ? "lat has the wrong wire type (expected 1, a double)"
                                      : "lon has the wrong wire type (expected 1, a double)");
        const std::uint8_t* p = c.here();
        if (!c.skip(8, e, "truncated double")) return false;
        if (field == 3) {
          out->lat = get_double(p);
          out->has_lat = true;
        } else {
          out->lon = get_double(p);
          out->has_lon = true;
        }
        break;
      }
      default:
        if (!c.skip_value(field, wire, e)) return false;
    }
  }
  out->n_apps = n_apps;
  return true;
}

void write_record_header(std::uint16_t type, std::uint16_t size, std::uint8_t* out) noexcept {
  out[0] = out[1] = out[2] = out[3] = 0xFF;
  out[4] = static_cast<std::uint8_t>(type);
  out[5] = static_cast<std::uint8_t>(type >> 8);
  out[6] = static_cast<std::uint8_t>(size);
  out[7] = static_cast<std::uint8_t>(size >> 8);
}

}  // namespace hotloop
