// Output files and memory for the records family (private to cxx/src).
//
// AtomicFile: an output file that appears atomically: written under a temporary name in
// the target's folder, renamed over the target by commit(), removed by abort() or the destructor.
// The target must be a regular file or not exist (EISDIR for a folder, EINVAL for anything else:
// renaming over a FIFO or a device node would replace the node itself). A symbolic link is
// replaced by the new file, not followed: callers that want to write through links resolve them
// first. An existing target's permission bits are kept.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "hotloop/pages.hpp"

namespace hotloop {
namespace records_detail {

// A zeroed array of n T (T trivially constructible), aligned to 64 bytes. From 1 MiB on it comes
// from take_pages (pages.hpp): whole 2 MiB huge pages, reused when a table of about its size was
// freed before (then zeroed here; fresh pages come zeroed). Random probes into big hash tables
// otherwise pay a page fault per 4 KiB while growing and a TLB miss per probe. A table of 1 to
// 2 MiB so takes a whole huge page: one fault instead of 256 to 512 (measured, get_counters on 5M
// records, 4.5M distinct ids, one thread: each shard's table passes through 1 MiB while
// growing, and the whole count took 4-5% less time with the threshold at 1 MiB than at 2 MiB).
// With reuse as well, that count took 231 ms instead of 252 when called between polars' runs of
// the same job (this VM, where fresh pages are slow).
struct ZeroedMemory {
  std::size_t bytes = 0;  // 0: from aligned_alloc; else the size of the pages
  void operator()(void* p) const noexcept {
    if (bytes)
      give_pages(p, bytes);
    else
      std::free(p);
  }
};

template <class T>
std::unique_ptr<T[], ZeroedMemory> zeroed_array(std::size_t n) {
  const std::size_t bytes = n * sizeof(T);
  if (bytes < kPageSize2M / 2) {
    // Cache-line aligned (hash tables keep one bucket per line); free() releases it.
    const std::size_t size = (std::max<std::size_t>(bytes, 1) + 63) & ~std::size_t{63};
    void* p = std::aligned_alloc(64, size);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, size);
    return std::unique_ptr<T[], ZeroedMemory>(static_cast<T*>(p), ZeroedMemory{0});
  }
  std::size_t mapped = 0;
  void* p = take_pages(bytes, &mapped);
  if (!p) throw std::bad_alloc();
  // What lies past `bytes` is never read. Fresh pages are zero already, but telling them from
  // reused ones would cost as much as this memset on fresh pages, which faults them in once.
  std::memset(p, 0, bytes);
  return std::unique_ptr<T[], ZeroedMemory>(static_cast<T*>(p), ZeroedMemory{mapped});
}

class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile() { abort(); }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Returns 0 or an errno value.
  int open(const char* path) noexcept {
    try {
      final_ = path;
      if (final_.empty()) return ENOENT;
      struct stat st;
      bool keep_mode = false;
      mode_t mode = 0;
      if (::lstat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return EISDIR;
        if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return EINVAL;
        if (S_ISREG(st.st_mode)) {
          keep_mode = true;
          mode = st.st_mode & 07777;
        }
      }
      const auto slash = final_.rfind('/');
      const std::string folder = slash == std::string::npos ? "."
                                 : slash == 0               ? "/"
                                                            : final_.substr(0, slash);
      const std::string base = slash == std::string::npos ? final_ : final_.substr(slash + 1);
      if (base.empty()) return EISDIR;  // "folder/"
      // O_EXCL never clobbers anything; the name (process id, a counter, the clock) only needs to
      // be unlikely to exist. Mode 0666 less the umask, as for any new file.
      static std::atomic<unsigned long> counter{0};
      for (int attempt = 0;; ++attempt) {
        const unsigned long tag =
            counter.fetch_add(1) * 1000003ul ^
            static_cast<unsigned long>(std::chrono::steady_clock::now().time_since_epoch().count());
        tmp_ = folder + "/." + base.substr(0, 200) + "." + std::to_string(::getpid()) + "." +
               std::to_string(tag) + ".tmp";
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ >= 0) break;
        if (errno != EEXIST || attempt == 100) {
          const int e = errno;
          tmp_.clear();
          return e;
        }
      }
      if (keep_mode && ::fchmod(fd_, mode) != 0) {
        const int e = errno;
        abort();
        return e;
      }
      return 0;
    } catch (...) {
      abort();
      return ENOMEM;
    }
  }

  // Writes all n bytes at p. Returns 0 or errno.
  int write(const std::uint8_t* p, std::size_t n) noexcept {
    if (fd_ < 0) return EBADF;
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      p += w;
      n -= static_cast<std::size_t>(w);
      written_ += static_cast<std::uint64_t>(w);
    }
    return 0;
  }

  int commit() noexcept {
    if (fd_ < 0) return EBADF;
    int err = ::close(fd_) != 0 ? errno : 0;
    fd_ = -1;
    if (!err && ::rename(tmp_.c_str(), final_.c_str()) != 0) err = errno;
    if (err) {
      abort();
      return err;
    }
    tmp_.clear();
    return 0;
  }

  void abort() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
    tmp_.clear();
  }

  std::uint64_t written() const noexcept { return written_; }

 private:
  int fd_ = -1;
  std::string tmp_, final_;
  std::uint64_t written_ = 0;
};

}  // namespace records_detail
}  // namespace hotloop
