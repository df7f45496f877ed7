// The gzip member layout shared by the DeviceApps writer and reader (private to cxx/src).
//
// RFC 1952: ID1 ID2 CM FLG MTIME(4) XFL OS, then, since FLG has FEXTRA, XLEN(2) and one subfield
// SI1 SI2 LEN(2) data; then the raw deflate data, CRC-32 and ISIZE (uncompressed size mod 2^32).
// Our subfield 'H','L' holds the member's total size and its uncompressed size (little-endian
// uint32 each); the last member a writer writes has 'H','E' instead, so that a reader can tell a
// file cut at a member boundary (a valid gzip stream, with fewer records) from a whole one.
// MTIME is 0 (no time stamp: equal input gives equal files) and OS 255 (unknown), as Python's
// gzip writes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hotloop {
namespace gzip_member {

constexpr std::size_t kHeaderSize = 24;
constexpr std::size_t kTrailerSize = 8;
constexpr std::uint8_t kFlagExtra = 0x04;

constexpr std::size_t kSi2At = 13;  // 'L', or 'E' in the last member
constexpr std::uint8_t kSi2Member = 'L';
constexpr std::uint8_t kSi2Last = 'E';

// The fixed part of our header (with SI2 = 'L'): everything but the two sizes at bytes 16..23.
constexpr std::uint8_t kHeaderPrefix[16] = {
    0x1f, 0x8b, 8, kFlagExtra, 0, 0, 0, 0,  // ID1 ID2 CM=deflate FLG MTIME
    0,    255,                              // XFL, OS
    12,   0,                                // XLEN
    'H',  'L',  8, 0,                       // SI1 SI2 LEN
};

// Whether the 16 bytes at h are our header's fixed part; *last tells 'E' from 'L'.
inline bool is_our_header(const std::uint8_t* h, bool* last) noexcept {
  for (std::size_t i = 0; i < sizeof kHeaderPrefix; ++i)
    if (i != kSi2At && h[i] != kHeaderPrefix[i]) return false;
  if (h[kSi2At] != kSi2Member && h[kSi2At] != kSi2Last) return false;
  *last = h[kSi2At] == kSi2Last;
  return true;
}

inline void put_u32(std::uint32_t v, std::uint8_t* p) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}

inline std::uint32_t get_u32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

}  // namespace gzip_member
}  // namespace hotloop
