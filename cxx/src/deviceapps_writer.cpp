// DeviceAppsWriter: records framed into blocks, blocks compressed into independent gzip members by
// a pool of threads (libdeflate), members written in order to a temporary file that commit()
// renames over the target (a regular file or a new path), or in place to a device or a FIFO.
//
// Pipeline. There are K = 2 * n_threads block buffers, used round robin by sequence number: block
// s lives in slot s % K. The caller fills block `fill_seq_`; flush_block() hands it to the workers
// and moves on to the next slot, first writing out (in order) the blocks that are done, and waiting
// only when the next slot is still busy. So the caller's encoding overlaps the compression of up to
// K - 1 blocks, memory stays at K blocks, and members are written in the order of their records.
// The workers start with the first full block; until then (a file of one block) and with
// n_threads == 1, blocks are compressed in the caller's thread. Buffers are allocated when a slot
// is first used.
//
// Threads are std::thread rather than OpenMP: this is a producer/consumer pipeline fed by a caller
// that holds an interpreter lock between blocks, not a loop over known work.
#include <fcntl.h>
#include <libdeflate.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "deviceapps_gzip.hpp"
#include "hotloop/deviceapps.hpp"

namespace hotloop {
namespace {

constexpr int kMaxThreads = 64;  // more compression threads than this gain nothing
constexpr std::size_t kRecordMax = kRecordHeaderSize + kMaxMessageSize;

// Writes all n bytes of p to fd. Returns 0 or errno.
int write_all(int fd, const std::uint8_t* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

struct Compressor {
  libdeflate_compressor* c = nullptr;
  explicit Compressor(int level) noexcept : c(libdeflate_alloc_compressor(level)) {}
  ~Compressor() {
    if (c) libdeflate_free_compressor(c);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
};

std::string folder_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

struct DeviceAppsWriter::Impl {
  struct Block {
    // Allocated when the slot is first used, not zeroed: a small file touches one block.
    std::unique_ptr<std::uint8_t[]> in, out;
    std::size_t in_size = 0, out_size = 0;
    bool last = false;  // the final member: 'HE' subfield
    int err = 0;        // set by the compressor: ENOMEM
  };

  int level;
  int n_threads;
  std::size_t block_size;
  std::size_t in_cap = 0, out_cap = 0;  // of every block's buffers

  int fd = -1;
  bool committed = false;
  bool in_place = false;  // a device, FIFO or socket: written through, no temporary file
  std::string tmp_path, final_path;
  std::uint64_t n_records = 0, in_bytes = 0, out_bytes = 0;

  std::vector<Block> blocks;
  std::uint64_t fill_seq = 0;       // the block being filled
  std::uint64_t write_seq = 0;      // the next block to write to the file
  std::unique_ptr<Compressor> own;  // for blocks compressed in the caller's thread

  // Shared with the workers, under mu.
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  std::uint64_t submitted = 0;         // blocks [0, submitted) were handed over
  std::uint64_t taken = 0;             // blocks [0, taken) were taken by a worker
  std::vector<std::uint64_t> done_at;  // per slot: 1 + the sequence number last compressed
  bool stop = false;
  std::vector<std::thread> workers;

  Impl(int lv, int nt, std::size_t bs)
      : level(std::clamp(lv, 0, 12)),
        n_threads(std::clamp(nt, 1, kMaxThreads)),
        block_size(std::clamp<std::size_t>(bs, 1, kMaxBlockSize)) {}

  std::size_t n_slots() const noexcept { return blocks.size(); }
  Block& current() noexcept { return blocks[fill_seq % n_slots()]; }

  // Compresses block b into one gzip member. Only touches b.
  void compress(libdeflate_compressor* c, Block& b) const noexcept {
    using namespace gzip_member;
    std::uint8_t* out = b.out.get();
    const std::size_t room = out_cap - kHeaderSize - kTrailerSize;
    const std::size_t n =
        libdeflate_deflate_compress(c, b.in.get(), b.in_size, out + kHeaderSize, room);
    if (n == 0) {  // cannot happen: out holds the bound
      b.err = ENOBUFS;
      return;
    }
    const std::size_t total = kHeaderSize + n + kTrailerSize;
    std::memcpy(out, kHeaderPrefix, sizeof kHeaderPrefix);
    if (b.last) out[kSi2At] = kSi2Last;
    put_u32(static_cast<std::uint32_t>(total), out + 16);
    put_u32(static_cast<std::uint32_t>(b.in_size), out + 20);
    put_u32(libdeflate_crc32(0, b.in.get(), b.in_size), out + kHeaderSize + n);
    put_u32(static_cast<std::uint32_t>(b.in_size), out + kHeaderSize + n + 4);
    b.out_size = total;
    b.err = 0;
  }

  void worker_loop() noexcept {
    Compressor comp(level);
    for (;;) {
      std::uint64_t seq;
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return stop || taken < submitted; });
        if (stop) return;
        seq = taken++;
      }
      Block& b = blocks[seq % n_slots()];
      if (comp.c) {
        compress(comp.c, b);
      } else {
        b.err = ENOMEM;
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        done_at[seq % n_slots()] = seq + 1;
      }
      done_cv.notify_all();
    }
  }

  void stop_workers() noexcept {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
    }
    work_cv.notify_all();
    for (auto& t : workers)
      if (t.joinable()) t.join();
    workers.clear();
  }

  // Writes block seq (which must be done, or being compressed by a worker: then waits for it).
  int write_block(std::uint64_t seq) noexcept {
    Block& b = blocks[seq % n_slots()];
    if (!workers.empty()) {
      std::unique_lock<std::mutex> lock(mu);
      done_cv.wait(lock, [&] { return done_at[seq % n_slots()] == seq + 1; });
    }
    if (b.err) return b.err;
    const int err = write_all(fd, b.out.get(), b.out_size);
    if (err) return err;
    out_bytes += b.out_size;
    b.in_size = 0;
    b.out_size = 0;
    b.last = false;
    return 0;
  }

  // Gives the current slot its buffers if it has none yet. Returns 0 or ENOMEM.
  int prepare() noexcept {
    Block& b = current();
    if (b.in) return 0;
    b.in.reset(new (std::nothrow) std::uint8_t[in_cap]);
    b.out.reset(new (std::nothrow) std::uint8_t[out_cap]);
    return b.in && b.out ? 0 : ENOMEM;
  }

  // Starts the compression threads (on the first full block: a file of one block needs none).
  int start_workers() noexcept {
    try {
      for (int i = 0; i < n_threads; ++i) workers.emplace_back([this] { worker_loop(); });
    } catch (const std::system_error& e) {
      return e.code().value() ? e.code().value() : EAGAIN;
    } catch (const std::bad_alloc&) {
      return ENOMEM;
    }
    return 0;
  }

  // Hands the current block over and makes the next slot ready for filling (unless `last`).
  int submit(bool last) noexcept {
    if (workers.empty() && (n_threads == 1 || last)) {
      if (!own) {
        own.reset(new (std::nothrow) Compressor(level));
        if (!own || !own->c) return ENOMEM;
      }
      compress(own->c, current());
      const int err = write_block(fill_seq);
      ++fill_seq;
      ++write_seq;
      return err ? err : last ? 0 : prepare();
    }
    if (workers.empty()) {
      if (const int err = start_workers()) return err;
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      submitted = fill_seq + 1;
    }
    work_cv.notify_one();
    ++fill_seq;
    // Write what is done already, in order, without waiting...
    while (write_seq < fill_seq) {
      const std::size_t slot = write_seq % n_slots();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (done_at[slot] != write_seq + 1) break;
      }
      if (const int err = write_block(write_seq)) return err;
      ++write_seq;
    }
    // ...and wait only if the slot to fill next still holds an unwritten block.
    while (write_seq + n_slots() <= fill_seq) {
      if (const int err = write_block(write_seq)) return err;
      ++write_seq;
    }
    return last ? 0 : prepare();
  }

  int drain() noexcept {
    while (write_seq < fill_seq) {
      if (const int err = write_block(write_seq)) return err;
      ++write_seq;
    }
    return 0;
  }
};

DeviceAppsWriter::DeviceAppsWriter(int level, int n_threads, std::size_t block_size)
    : impl_(new Impl(level, n_threads, block_size)) {}

DeviceAppsWriter::~DeviceAppsWriter() { abort(); }

int DeviceAppsWriter::open(const char* path) noexcept {
  Impl& s = *impl_;
  if (s.fd >= 0 || s.committed) return EBUSY;
  try {
    s.final_path = path;
    if (s.final_path.empty()) return ENOENT;
    struct stat st;
    if (::lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
      // Followed, as open() follows it: the link stays and the file it names is written.
      std::unique_ptr<char, decltype(&std::free)> real(::realpath(path, nullptr), &std::free);
      if (!real) return errno;  // ENOENT for a dangling link
      s.final_path = real.get();
      if (::stat(real.get(), &st) != 0) return errno;
    } else if (::stat(path, &st) != 0) {
      st.st_mode = S_IFREG;  // a new path (or one we may not look at: open() will say)
    }
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (!S_ISREG(st.st_mode)) {
      // A device, FIFO or socket: replacing it by a regular file would be wrong (think of
      // /dev/null as root), so it is opened and written as open() would do it.
      s.fd = ::open(s.final_path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (s.fd < 0) return errno;
      s.in_place = true;
    }
    const std::string folder = folder_of(s.final_path);
    const auto slash = s.final_path.rfind('/');
    const std::string base =
        slash == std::string::npos ? s.final_path : s.final_path.substr(slash + 1);
    if (base.empty()) return EISDIR;  // "folder/"
    // O_EXCL: never clobbers anything (the name, from the process id, a counter and the clock,
    // only needs to be unlikely to exist); mode 0666 less the umask, as open() gives any new file.
    static std::atomic<unsigned long> counter{0};
    for (int attempt = 0; !s.in_place; ++attempt) {
      const unsigned long tag =
          counter.fetch_add(1) * 1000003ul ^
          static_cast<unsigned long>(std::chrono::steady_clock::now().time_since_epoch().count());
      s.tmp_path = folder + "/." + base.substr(0, 200) + "." + std::to_string(::getpid()) + "." +
                   std::to_string(tag) + ".tmp";
      s.fd = ::open(s.tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (s.fd >= 0) break;
      if (errno != EEXIST || attempt == 100) return errno;
    }
    s.in_cap = s.block_size + kRecordMax;
    s.out_cap = gzip_member::kHeaderSize + libdeflate_deflate_compress_bound(nullptr, s.in_cap) +
                gzip_member::kTrailerSize;
    const int n_slots = s.n_threads == 1 ? 1 : 2 * s.n_threads;
    s.blocks.resize(static_cast<std::size_t>(n_slots));
    s.done_at.assign(s.blocks.size(), 0);
    if (s.prepare() != 0) {
      abort();
      return ENOMEM;
    }
  } catch (const std::bad_alloc&) {
    abort();
    return ENOMEM;
  }
  return 0;
}

AddStatus DeviceAppsWriter::add(const DeviceAppsMessage& m) noexcept {
  Impl& s = *impl_;
  if (s.fd < 0 || s.current().in_size >= s.block_size) return AddStatus::bad_state;
  const std::size_t size = encoded_size(m);
  if (size > kMaxMessageSize) return AddStatus::too_long;
  Impl::Block& b = s.current();
  std::uint8_t* p = b.in.get() + b.in_size;
  write_record_header(kDeviceAppsType, static_cast<std::uint16_t>(size), p);
  encode(m, p + kRecordHeaderSize);
  b.in_size += kRecordHeaderSize + size;
  s.in_bytes += kRecordHeaderSize + size;
  ++s.n_records;
  return b.in_size >= s.block_size ? AddStatus::block_full : AddStatus::ok;
}

AddStatus DeviceAppsWriter::add_raw(std::uint16_t type, const std::uint8_t* payload,
                                    std::size_t size) noexcept {
  Impl& s = *impl_;
  if (s.fd < 0 || s.current().in_size >= s.block_size) return AddStatus::bad_state;
  if (size > kMaxMessageSize) return AddStatus::too_long;
  Impl::Block& b = s.current();
  std::uint8_t* p = b.in.get() + b.in_size;
  write_record_header(type, static_cast<std::uint16_t>(size), p);
  if (size) std::memcpy(p + kRecordHeaderSize, payload, size);
  b.in_size += kRecordHeaderSize + size;
  s.in_bytes += kRecordHeaderSize + size;
  ++s.n_records;
  return b.in_size >= s.block_size ? AddStatus::block_full : AddStatus::ok;
}

int DeviceAppsWriter::flush_block() noexcept {
  Impl& s = *impl_;
  if (s.fd < 0) return EBADF;
  if (s.current().in_size == 0) return 0;
  return s.submit(false);
}

int DeviceAppsWriter::commit() noexcept {
  Impl& s = *impl_;
  if (s.fd < 0) return EBADF;
  int err = 0;
  // The last block, marked as such: an empty member when the records filled the blocks exactly
  // (or there were none: the file is still valid gzip).
  s.current().last = true;
  err = s.submit(true);
  if (!err) err = s.drain();
  s.stop_workers();
  if (!err && ::close(s.fd) != 0) err = errno;
  s.fd = -1;
  if (!err && !s.in_place && ::rename(s.tmp_path.c_str(), s.final_path.c_str()) != 0) err = errno;
  if (err) {
    abort();
    return err;
  }
  s.committed = true;
  s.blocks.clear();
  s.blocks.shrink_to_fit();
  return 0;
}

void DeviceAppsWriter::abort() noexcept {
  Impl& s = *impl_;
  s.stop_workers();
  if (s.fd >= 0) {
    ::close(s.fd);
    s.fd = -1;
  }
  if (!s.committed && !s.tmp_path.empty()) {
    ::unlink(s.tmp_path.c_str());
    s.tmp_path.clear();
  }
}

std::uint64_t DeviceAppsWriter::records() const noexcept { return impl_->n_records; }
std::uint64_t DeviceAppsWriter::uncompressed_bytes() const noexcept { return impl_->in_bytes; }
std::uint64_t DeviceAppsWriter::bytes_written() const noexcept { return impl_->out_bytes; }
int DeviceAppsWriter::n_threads() const noexcept { return impl_->n_threads; }

}  // namespace hotloop
