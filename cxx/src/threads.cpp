#include "hotloop/threads.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>
#include <system_error>

#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <signal.h>
#define HOTLOOP_HAVE_PTHREAD 1
#else
#define HOTLOOP_HAVE_PTHREAD 0
#endif

namespace hotloop {

const char* simd_level() noexcept {
#if HOTLOOP_HAVE_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "baseline";
}

namespace detail {
namespace {

// How long an idle helper spins (watching its mailbox) before it parks in the kernel. A spinning
// helper can start a new call's work at once; a parked one needs a futex wake (measured: the
// caller pays ~5 us; threads_benchmark's ParallelForEmptyAfterSleep/2 vs ParallelForEmpty/2, 0.4
// us) and then the scheduler (WakeLatency: 0.1 ms spinning, 0.3 ms parked on the busy VM,
// milliseconds when the helper's virtual CPU is idle-parked or busy). Back-to-back calls therefore
// want a spin at least as long as the gap between them; intermittent calls pay the spin as burnt
// CPU after every call, and on a loaded machine the spin takes CPU from other processes. libgomp
// spins for milliseconds (the ~4-5 ms of CPU burnt per 50 ms gap measured with hotloop's OpenMP
// kernels); 50 us covers the Python overhead between two calls (a few us) and costs 0.1% of a core
// at 20 calls/s.
constexpr std::int64_t kHelperSpinNs = 50'000;

// How long the caller, having run out of chunks, spins for the chunks that running helpers have
// claimed before it sleeps on a futex. A claimed chunk is at most one grain of work (threads.hpp's
// kTargetChunkNanoseconds, 50 us), so in the common case it is done within that time; sleeping
// earlier would add a wake-up (the helper's system call + the caller's rescheduling) to every
// call. After this the helper has most likely been preempted, and the caller yields its CPU, which
// may be the one the helper needs.
constexpr std::int64_t kCallerSpinNs = 100'000;

// Backing off on a busy machine. When another process keeps a CPU busy, a helper that claimed a
// chunk can lose its CPU for a scheduler time slice (milliseconds), and the caller, which must
// wait for that chunk, loses far more than the helper saved (measured: XOR over 16 MiB, 95th
// percentile 3.8x the serial time). Each call compares its time with its serial estimate; one that
// took more than kLossFactor times as long is a loss, a second loss in a row is a strike, and the
// next kBackoffCalls << (strikes - 1) calls (at most kMaxStrikes doublings) run serially, waking
// nobody. A call that paid off takes a strike back. One loss alone is not enough: a chunk can be
// slow for reasons a serial run shares (its first touches of fresh memory: a hash table of tens of
// MB took 40 ms instead of 2-5 in one in a few calls of records.targets_negative on this VM), and
// one strike made the rest of that run serial; a busy CPU slows the next call as well. On an idle
// machine parallel calls pay off and nothing changes; under load the parallel probes become rare
// enough (< 2% of calls after a few strikes) to stay out of the 95th percentile.
constexpr double kLossFactor = 1.25;
constexpr int kBackoffCalls = 32;
constexpr int kMaxStrikes = 6;

// The hard cap of a pool's threads (caller included), whatever the machine reports.
constexpr int kMaxPoolThreads = 256;

// How often a caller asleep on its helpers wakes to poll an Interrupt (Ctrl-C).
constexpr std::int64_t kInterruptPollNs = 20'000'000;

HOTLOOP_INLINE void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins until done() or until `ns` nanoseconds have passed; returns done()'s last answer. Every
// 64 rounds (~1-3 us of pause) it reads the clock (a vDSO call) and yields the CPU: the thread we
// wait for may be runnable on this very CPU (a woken helper often lands on its waker's CPU), and a
// pure spin would keep it off until the scheduler's tick. Measured: with a pure pause spin, calls
// with a freshly woken helper took 0.20 ms instead of the serial 0.15 ms (XOR over 1 MiB).
template <class Done>
bool spin_until(std::int64_t ns, Done done) noexcept {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() - start > std::chrono::nanoseconds(ns)) return done();
    std::this_thread::yield();
  }
}

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Sleep while *word == expected / wake the sleepers of *word. Linux futexes (private to the
// process); elsewhere a 100 us poll, correct but slower to wake.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
#if defined(__linux__)
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
#else
  if (word.load() == expected) std::this_thread::sleep_for(std::chrono::microseconds(100));
#endif
}

// futex_wait for at most `ns` nanoseconds.
void futex_wait_for(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                    std::int64_t ns) noexcept {
#if defined(__linux__)
  timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected,
          &timeout, nullptr, 0);
#else
  if (word.load() == expected) std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
#endif
}

void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
#else
  (void)word;
#endif
}

int usable_cpus() noexcept {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Job::finished and Slot::state values.
constexpr std::uint32_t kRunning = 0, kCallerAsleep = 1, kFinished = 2;
constexpr std::uint32_t kAwake = 0, kParked = 1;

}  // namespace

// One call's work, shared by the caller and the helpers it woke. On the heap and reference
// counted: a helper that wakes after the caller returned still reads next_chunk (and finds
// nothing left), so the job outlives the call until the last helper lets go of it. fn and ctx are
// used only for claimed chunks, and every chunk is claimed before the caller can return.
struct Pool::Job {
  TaskFn fn = nullptr;
  void* ctx = nullptr;
  std::ptrdiff_t n_tasks = 0, grain = 1, n_chunks = 0;
  std::atomic<int> refs{1};
  std::atomic<std::uint32_t> finished{kRunning};  // futex word of a caller waiting for helpers
  alignas(64) std::atomic<std::ptrdiff_t> next_chunk{0};
  alignas(64) std::atomic<std::ptrdiff_t> done_chunks{0};
};

// One helper thread. mailbox == nullptr: idle (spinning or parked), free for any caller to take
// with one compare-exchange. state is the futex word the helper parks on.
struct Pool::Slot {
  alignas(64) std::atomic<Job*> mailbox{nullptr};
  std::atomic<std::uint32_t> state{kAwake};
  std::thread thread;
};

namespace {

Pool::Job* stop_job() noexcept {
  static Pool::Job stop;  // its address tells a helper to exit
  return &stop;
}

// Every chunk in order on the calling thread: the same fn calls as a parallel run makes.
void run_serial(std::ptrdiff_t n_tasks, TaskFn fn, void* ctx, std::ptrdiff_t grain) noexcept {
  grain = std::max<std::ptrdiff_t>(grain, 1);
  for (std::ptrdiff_t begin = 0; begin < n_tasks;) {
    const std::ptrdiff_t end = begin + std::min(grain, n_tasks - begin);
    fn(ctx, begin, end);
    begin = end;
  }
}

void release(Pool::Job* job, int refs) noexcept {
  if (job->refs.fetch_sub(refs, std::memory_order_acq_rel) == refs) delete job;
}

void run_chunk(const Pool::Job& job, std::ptrdiff_t c) noexcept {
  const std::ptrdiff_t begin = c * job.grain;  // < n_tasks: no overflow
  job.fn(job.ctx, begin, begin + std::min(job.grain, job.n_tasks - begin));
}

// Claims and runs chunks until none is left; the thread that completes the last chunk marks the
// job finished and wakes the caller if it sleeps.
std::ptrdiff_t work(Pool::Job& job) noexcept {
  std::ptrdiff_t done = 0;
  for (;;) {
    const std::ptrdiff_t c = job.next_chunk.fetch_add(1, std::memory_order_relaxed);
    if (c >= job.n_chunks) break;
    run_chunk(job, c);
    ++done;
  }
  if (done > 0 &&
      job.done_chunks.fetch_add(done, std::memory_order_acq_rel) + done == job.n_chunks) {
    if (job.finished.exchange(kFinished, std::memory_order_acq_rel) == kCallerAsleep) {
      futex_wake_one(job.finished);
    }
  }
  return done;
}

// Gives `job` to an idle helper; false if the helper is busy (with another call or a late
// wake-up from an earlier one).
bool post(Pool::Slot& slot, Pool::Job* job) noexcept {
  Pool::Job* idle = nullptr;
  if (!slot.mailbox.compare_exchange_strong(idle, job, std::memory_order_seq_cst,
                                            std::memory_order_relaxed)) {
    return false;
  }
  // Paired with the helper's store of kParked then load of its mailbox (all seq_cst): either it
  // sees the job, or we see kParked and wake it.
  if (slot.state.exchange(kAwake, std::memory_order_seq_cst) == kParked) {
    futex_wake_one(slot.state);
  }
  return true;
}

std::atomic<Pool*> g_pool{nullptr};
Pool* g_orphans = nullptr;

// In a forked child only the forking thread exists: the parent's helpers are gone, and the old
// pool's mutex may be held by a thread that does not exist. The child gets a fresh pool on its
// next call; the old one is kept reachable (so leak checkers stay quiet) and never touched.
void forget_pool_in_child() noexcept {
  Pool* old = g_pool.load(std::memory_order_relaxed);
  if (old == nullptr) return;
  old->next_orphan_ = g_orphans;
  g_orphans = old;
  g_pool.store(nullptr, std::memory_order_relaxed);
}

}  // namespace

Pool::Pool(int max_threads, bool back_off)
    : n_slots_(std::clamp(max_threads, 1, kMaxPoolThreads) - 1),
      back_off_(back_off),
      slots_(n_slots_ > 0 ? new Slot[static_cast<std::size_t>(n_slots_)] : nullptr) {}

Pool::~Pool() {
  const int started = n_started_.load(std::memory_order_acquire);
  for (int i = 0; i < started; ++i) {
    Slot& slot = slots_[static_cast<std::size_t>(i)];
    // A helper that woke late for an earlier call may still hold its job for a moment.
    while (!post(slot, stop_job())) std::this_thread::yield();
  }
  for (int i = 0; i < started; ++i) slots_[static_cast<std::size_t>(i)].thread.join();
}

Pool& Pool::global() noexcept {
  Pool* pool = g_pool.load(std::memory_order_acquire);
  if (pool != nullptr) return *pool;
#if HOTLOOP_HAVE_PTHREAD
  static const int registered = pthread_atfork(nullptr, nullptr, forget_pool_in_child);
  (void)registered;
#endif
  // Never destroyed: helpers park until the process exits. `new` may throw std::bad_alloc here,
  // which ends the process (noexcept); it is ~100 bytes per CPU, once.
  Pool* fresh = new Pool(usable_cpus());
  if (!g_pool.compare_exchange_strong(pool, fresh, std::memory_order_acq_rel)) {
    delete fresh;  // another thread made it first; no helper was started in ours
    return *pool;
  }
  return *fresh;
}

int Pool::start_helpers(int wanted, Job* job) noexcept {
  std::unique_lock<std::mutex> lock(start_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || start_failed_) return 0;  // another caller is starting threads
  int started = n_started_.load(std::memory_order_relaxed);
  int posted = 0;
  while (posted < wanted && started < n_slots_) {
    Slot& slot = slots_[static_cast<std::size_t>(started)];
    slot.mailbox.store(job, std::memory_order_relaxed);  // the thread's start orders it
    try {
      slot.thread = std::thread([this, &slot] { helper_main(slot); });
    } catch (const std::system_error&) {
      // Out of threads (ulimit, memory): run with those we have, and stop trying.
      slot.mailbox.store(nullptr, std::memory_order_relaxed);
      start_failed_ = true;
      break;
    }
    ++started;
    ++posted;
    n_started_.store(started, std::memory_order_release);
  }
  return posted;
}

Pool::Job* Pool::wait_for_job(Slot& slot) noexcept {
  Job* job = nullptr;
  if (spin_until(kHelperSpinNs, [&] {
        job = slot.mailbox.load(std::memory_order_acquire);
        return job != nullptr;
      })) {
    return job;
  }
  for (;;) {
    slot.state.store(kParked, std::memory_order_seq_cst);
    job = slot.mailbox.load(std::memory_order_seq_cst);
    if (job != nullptr) {
      slot.state.store(kAwake, std::memory_order_relaxed);
      return job;
    }
    futex_wait(slot.state, kParked);  // returns at once if a caller already set kAwake
  }
}

void Pool::helper_main(Slot& slot) noexcept {
#if HOTLOOP_HAVE_PTHREAD
  // Signals go to the application's own threads (Python handles them in the main thread).
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
#endif
  for (;;) {
    Job* job = wait_for_job(slot);
    if (job == stop_job()) return;
    while (!gate_open_.load(std::memory_order_acquire)) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    work(*job);
    release(job, 1);
    slot.mailbox.store(nullptr, std::memory_order_release);  // idle again
  }
}

void Pool::run(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx, std::ptrdiff_t grain,
               Interrupt* interrupt) noexcept {
  if (n_tasks <= 0) return;
  grain = std::max<std::ptrdiff_t>(grain, 1);
  const std::ptrdiff_t n_chunks = (n_tasks - 1) / grain + 1;
  // No helper for a single chunk: there is nothing to share, and a wake-up costs the caller a
  // system call. The grain advice in threads.hpp makes one chunk outweigh that cost.
  const int wanted = static_cast<int>(
      std::min<std::ptrdiff_t>({std::max(max_threads, 1) - 1, n_slots_, n_chunks - 1}));
  const bool backing_off = backoff_calls_.load(std::memory_order_relaxed) > 0;
  if (backing_off) backoff_calls_.fetch_sub(1, std::memory_order_relaxed);
  Job* job = wanted > 0 && !backing_off ? new (std::nothrow) Job : nullptr;
  if (job == nullptr) {
    run_serial(n_tasks, fn, ctx, grain);
    return;
  }
  job->fn = fn;
  job->ctx = ctx;
  job->n_tasks = n_tasks;
  job->grain = grain;
  job->n_chunks = n_chunks;
  job->refs.store(1 + wanted, std::memory_order_relaxed);  // the unused ones are given back

  const std::int64_t t_start = now_ns();
  int posted = 0;
  const int started = n_started_.load(std::memory_order_acquire);
  for (int i = 0; i < started && posted < wanted; ++i) {
    if (post(slots_[static_cast<std::size_t>(i)], job)) ++posted;
  }
  // A call that starts helpers waits for thread creation: not a verdict on the machine's load.
  const bool starting = posted < wanted && started < n_slots_;
  if (starting) posted += start_helpers(wanted - posted, job);
  if (posted < wanted) release(job, wanted - posted);  // never the last reference: ours remains

  const std::int64_t t_work = now_ns();
  const std::ptrdiff_t own_chunks = work(*job);
  const std::int64_t t_own_done = now_ns();
  if (job->finished.load(std::memory_order_acquire) != kFinished && !spin_until(kCallerSpinNs, [&] {
        return job->finished.load(std::memory_order_acquire) == kFinished;
      })) {
    std::uint32_t running = kRunning;
    if (job->finished.compare_exchange_strong(running, kCallerAsleep, std::memory_order_acq_rel)) {
      while (job->finished.load(std::memory_order_acquire) != kFinished) {
        if (interrupt == nullptr) {
          futex_wait(job->finished, kCallerAsleep);
        } else {
          // A helper's chunk may be long (an escape-time pixel at a huge maxiter): keep polling,
          // so that the caller's check (Ctrl-C) can tell the helper's kernel to stop.
          futex_wait_for(job->finished, kCallerAsleep, kInterruptPollNs);
          interrupt->poll();
        }
      }
    }
  }
  release(job, 1);
  if (back_off_ && own_chunks > 0 && !starting) {
    // This call against what it would have cost serially (the caller's own time per chunk times
    // all chunks; memory-bound kernels overestimate it a little, sharing the bandwidth).
    const double serial_estimate = static_cast<double>(t_own_done - t_work) /
                                   static_cast<double>(own_chunks) * static_cast<double>(n_chunks);
    judge(static_cast<double>(now_ns() - t_start) > kLossFactor * serial_estimate);
  }
}

void Pool::judge(bool lost) noexcept {
  int strikes = strikes_.load(std::memory_order_relaxed);
  if (!lost) {
    suspect_.store(false, std::memory_order_relaxed);
    if (strikes > 0) strikes_.compare_exchange_strong(strikes, strikes - 1);
    return;
  }
  // It stays suspect after the strike: the first parallel call after the serial ones, if it loses
  // too, strikes at once.
  if (!suspect_.exchange(true, std::memory_order_relaxed)) return;
  strikes = std::min(strikes + 1, kMaxStrikes);
  strikes_.store(strikes, std::memory_order_relaxed);
  backoff_calls_.store(kBackoffCalls << (strikes - 1), std::memory_order_relaxed);
}

}  // namespace detail

int max_pool_threads() noexcept { return detail::Pool::global().max_threads(); }

int recent_usable_cpus() noexcept {
  constexpr std::int64_t kFreshForNs = 100'000'000;
  static std::atomic<int> count{0};
  static std::atomic<std::int64_t> read_at{0};
  const std::int64_t now = detail::now_ns();
  const int c = count.load(std::memory_order_relaxed);
  if (c > 0 && now - read_at.load(std::memory_order_relaxed) < kFreshForNs) return c;
  const int fresh = detail::usable_cpus();
  read_at.store(now, std::memory_order_relaxed);
  count.store(fresh, std::memory_order_relaxed);
  return fresh;
}

void parallel_for(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                  std::ptrdiff_t grain, Interrupt* interrupt) noexcept {
  if (max_threads <= 1 || n_tasks <= grain) {  // serial: no pool, no thread, no allocation
    detail::run_serial(n_tasks, fn, ctx, grain);
    return;
  }
  detail::Pool::global().run(n_tasks, max_threads, fn, ctx, grain, interrupt);
}

void parallel_for(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                  std::ptrdiff_t grain) noexcept {
  parallel_for(n_tasks, max_threads, fn, ctx, grain, nullptr);
}

ParallelForFn parallel_for_entry() noexcept { return static_cast<ParallelForFn>(&parallel_for); }

}  // namespace hotloop
