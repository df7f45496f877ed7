// Output files and memory for the records family (private to cxx/src; records_io.cpp).
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

namespace hotloop {
namespace records_detail {

// Mappings of whole 2 MiB huge pages, for the big hash tables. A table freed is not unmapped
// but kept for the next table of about its size (the same job's or a later call's): marked
// MADV_FREE, so the kernel may take its pages back whenever it needs memory, and otherwise
// they stay the process's, already faulted in. Zeroing a kept 80 MB table costs about 2 ms;
// faulting in fresh huge pages costs 7 ms on a quiet machine and 50-230 ms in a VM whose
// freed memory went back to its host (measured here: get_counters on 5M records, one thread,
// spent a fifth of its time in the kernel zeroing pages). At most kRetainedBytes are kept, and
// none longer than kRetainedSeconds after it was freed (checked whenever a mapping is taken
// or freed); release_retained_pages() unmaps them all.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kRetainedBytes = std::size_t{256} << 20;
constexpr int kRetainedSeconds = 10;
// A kept mapping of at least `size` bytes (a multiple of kHugePage) and at most twice that, the
// smallest there is; its size in *got. nullptr when there is none.
void* take_retained_pages(std::size_t size, std::size_t* got) noexcept;
// Keeps (or unmaps) the mapping of `size` bytes at p, made by zeroed_array.
void give_retained_pages(void* p, std::size_t size) noexcept;
void release_retained_pages() noexcept;

// A zeroed array of n T (T trivially constructible), aligned to 64 bytes. From 1 MiB on it is
// mapped directly in whole 2 MiB huge pages (transparent huge pages): random probes into big
// hash tables otherwise pay a page fault per 4 KiB while growing and a TLB miss per probe. A
// table of 1 to 2 MiB so takes a whole huge page: one fault instead of 256 to 512 (measured,
// get_counters on 5M records, 4.5M distinct ids, one thread: each shard's table passes through
// 1 MiB while growing, and the whole count took 4-5% less time with the threshold at 1 MiB than
// at 2 MiB). Such mappings are reused (see take_retained_pages).
struct ZeroedMemory {
  std::size_t bytes = 0;  // 0: from aligned_alloc; else the size of the mapping
  void operator()(void* p) const noexcept {
    if (bytes)
      give_retained_pages(p, bytes);
    else
      std::free(p);
  }
};

template <class T>
std::unique_ptr<T[], ZeroedMemory> zeroed_array(std::size_t n) {
  const std::size_t bytes = n * sizeof(T);
  if (bytes < kHugePage / 2) {
    // Cache-line aligned (hash tables keep one bucket per line); free() releases it.
    const std::size_t size = (std::max<std::size_t>(bytes, 1) + 63) & ~std::size_t{63};
    void* p = std::aligned_alloc(64, size);
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, size);
    return std::unique_ptr<T[], ZeroedMemory>(static_cast<T*>(p), ZeroedMemory{0});
  }
  const std::size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  std::size_t got = 0;
  if (void* kept = take_retained_pages(size, &got)) {
    std::memset(kept, 0, bytes);  // what lies past `bytes` is never read
    return std::unique_ptr<T[], ZeroedMemory>(static_cast<T*>(kept), ZeroedMemory{got});
  }
  // Whole huge pages at a huge-page boundary: the kernel maps huge pages only over aligned
  // 2 MiB ranges, so a table that starts elsewhere keeps 4 KiB pages at both ends (mmap aligns
  // only lengths that are multiples of 2 MiB, and only on recent kernels). Reserve one huge
  // page more, then give back the ends. Fresh pages come zeroed: nothing is written twice.
  void* raw =
      ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + kHugePage - 1) & ~std::uintptr_t{kHugePage - 1};
  if (aligned > start) ::munmap(raw, aligned - start);
  ::munmap(reinterpret_cast<void*>(aligned + size), kHugePage - (aligned - start));
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);
#endif
  return std::unique_ptr<T[], ZeroedMemory>(static_cast<T*>(p), ZeroedMemory{size});
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
