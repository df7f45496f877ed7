// CountsWriter: records packed into kBlockSize blocks; each block written raw, as one hinted gzip
// member (libdeflate), or as one hinted lz4 frame (liblz4), in the calling thread.
#include <libdeflate.h>
#include <lz4frame.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "deviceapps_gzip.hpp"
#include "hotloop/records.hpp"
#include "records_io.hpp"
#include "records_stream.hpp"

namespace hotloop {

struct CountsWriter::Impl {
  std::size_t key_size;
  std::size_t rec;
  Compression comp;
  int level;
  records_detail::AtomicFile file;
  std::unique_ptr<std::uint8_t[]> block, packed;
  std::size_t fill = 0, packed_cap = 0;
  libdeflate_compressor* deflate = nullptr;
  bool open = false;

  Impl(std::size_t ks, Compression c, int lv)
      : key_size(ks == 4 ? 4 : 8), rec(key_size + 4), comp(c) {
    if (c == Compression::gzip)
      level = lv < 0 ? 6 : std::min(lv, 12);
    else
      level = lv < 0 ? 0 : std::min(lv, 12);
  }
  ~Impl() {
    if (deflate) libdeflate_free_compressor(deflate);
  }

  // Writes the block buffer (fill bytes) as one block. Returns 0 or errno.
  int emit(bool last) {
    using namespace gzip_member;
    if (comp == Compression::none) {
      const int e = file.write(block.get(), fill);
      fill = 0;
      return e;
    }
    std::uint8_t* out = packed.get();
    std::size_t total;
    if (comp == Compression::gzip) {
      const std::size_t n = libdeflate_deflate_compress(
          deflate, block.get(), fill, out + kHeaderSize, packed_cap - kHeaderSize - kTrailerSize);
      if (n == 0) return ENOBUFS;  // cannot happen: packed holds the bound
      total = kHeaderSize + n + kTrailerSize;
      std::memcpy(out, kHeaderPrefix, sizeof kHeaderPrefix);
      if (last) out[kSi2At] = kSi2Last;
      put_u32(static_cast<std::uint32_t>(total), out + 16);
      put_u32(static_cast<std::uint32_t>(fill), out + 20);
      put_u32(libdeflate_crc32(0, block.get(), fill), out + kHeaderSize + n);
      put_u32(static_cast<std::uint32_t>(fill), out + kHeaderSize + n + 4);
    } else {
      LZ4F_preferences_t prefs;
      std::memset(&prefs, 0, sizeof prefs);
      prefs.frameInfo.blockSizeID = LZ4F_max1MB;
      prefs.frameInfo.blockMode = LZ4F_blockIndependent;
      prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
      prefs.frameInfo.contentSize = fill;
      prefs.compressionLevel = level;
      constexpr std::size_t h = records_detail::kLz4HintSize;
      const std::size_t n = LZ4F_compressFrame(out + h, packed_cap - h, block.get(), fill, &prefs);
      if (LZ4F_isError(n)) return ENOBUFS;
      records_detail::put_le32(kLz4HintMagic, out);
      records_detail::put_le32(12, out + 4);
      out[8] = 'H';
      out[9] = last ? 'E' : 'L';
      out[10] = out[11] = 0;
      records_detail::put_le32(static_cast<std::uint32_t>(n), out + 12);
      records_detail::put_le32(static_cast<std::uint32_t>(fill), out + 16);
      total = h + n;
    }
    fill = 0;
    return file.write(out, total);
  }
};

CountsWriter::CountsWriter(std::size_t key_size, Compression compression, int level)
    : impl_(new Impl(key_size, compression, level)) {}

CountsWriter::~CountsWriter() { abort(); }

int CountsWriter::open(const char* path) noexcept {
  Impl& s = *impl_;
  if (s.open) return EBUSY;
  s.block.reset(new (std::nothrow) std::uint8_t[kBlockSize]);
  if (!s.block) return ENOMEM;
  if (s.comp == Compression::gzip) {
    s.deflate = libdeflate_alloc_compressor(s.level);
    if (!s.deflate) return ENOMEM;
    s.packed_cap = gzip_member::kHeaderSize +
                   libdeflate_deflate_compress_bound(s.deflate, kBlockSize) +
                   gzip_member::kTrailerSize;
  } else if (s.comp == Compression::lz4) {
    LZ4F_preferences_t prefs;
    std::memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max1MB;
    prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs.frameInfo.contentSize = kBlockSize;
    s.packed_cap = records_detail::kLz4HintSize + LZ4F_compressFrameBound(kBlockSize, &prefs);
  }
  if (s.packed_cap) {
    s.packed.reset(new (std::nothrow) std::uint8_t[s.packed_cap]);
    if (!s.packed) return ENOMEM;
  }
  const int err = s.file.open(path);
  if (!err) s.open = true;
  return err;
}

int CountsWriter::write(const std::uint64_t* ids, const std::uint16_t* shows,
                        const std::uint16_t* clicks, std::size_t n) noexcept {
  Impl& s = *impl_;
  if (!s.open) return EBADF;
  const std::size_t per_block = kBlockSize / s.rec;
  for (std::size_t i = 0; i < n;) {
    if (s.fill == per_block * s.rec) {
      if (const int e = s.emit(false)) return e;
    }
    const std::size_t room = per_block - s.fill / s.rec;
    const std::size_t m = std::min(room, n - i);
    std::uint8_t* p = s.block.get() + s.fill;
    // Little-endian layout: the project targets little-endian machines (x86-64, arm64).
    if (s.key_size == 8) {
      for (std::size_t k = 0; k < m; ++k, p += 12) {
        std::memcpy(p, &ids[i + k], 8);
        std::memcpy(p + 8, &shows[i + k], 2);
        std::memcpy(p + 10, &clicks[i + k], 2);
      }
    } else {
      for (std::size_t k = 0; k < m; ++k, p += 8) {
        const std::uint32_t id = static_cast<std::uint32_t>(ids[i + k]);
        std::memcpy(p, &id, 4);
        std::memcpy(p + 4, &shows[i + k], 2);
        std::memcpy(p + 6, &clicks[i + k], 2);
      }
    }
    s.fill += m * s.rec;
    i += m;
  }
  return 0;
}

int CountsWriter::commit() noexcept {
  Impl& s = *impl_;
  if (!s.open) return EBADF;
  int err = s.emit(true);
  if (!err) err = s.file.commit();
  s.open = false;
  if (err) s.file.abort();
  return err;
}

void CountsWriter::abort() noexcept {
  impl_->file.abort();
  impl_->open = false;
}

std::uint64_t CountsWriter::bytes_written() const noexcept { return impl_->file.written(); }

}  // namespace hotloop
