// The thread pool behind hotloop::parallel_for (threads.hpp). Included by threads.hpp; kernels
// call parallel_for, not this class. The tests make their own pools (more helpers than this
// machine has CPUs, a closed gate) to reach cases the process-wide pool cannot.
//
// Model: oneTBB's arena. The calling thread runs the work itself; chunks of `grain` tasks are
// claimed from one atomic counter; helpers are woken without waiting for them, and a helper that
// arrives late finds every chunk claimed and goes back to sleep. The caller therefore waits only
// for chunks that a running helper has already claimed, never for a helper that has not started.
// Why not OpenMP's team: a parallel region's closing barrier waits for every thread of the team,
// including one whose virtual CPU is idle-parked or busy with another process (measured on a
// 2-vCPU VM: 3-25x slower than one thread for calls 50 ms apart, up to 240x with another process
// keeping a core busy); and libgomp's idle threads spin for milliseconds after each region.
//
// Threads: at most max_threads - 1 helpers, started lazily the first time a call wants them (a
// call that never wants a helper never starts a thread) and parked on a futex when idle. A helper
// busy with another call (another Python thread, or a nested parallel_for) is skipped: the caller
// runs with whoever is idle, alone if nobody is. This also makes nested calls safe: a waiting
// thread only ever waits for chunks that running threads have claimed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#include "hotloop/interrupt.hpp"

namespace hotloop {

// The work of parallel_for: fn(ctx, begin, end) processes tasks [begin, end). Plain (not
// noexcept) function type so that Cython's `noexcept nogil` functions convert to it; it must not
// throw all the same (see parallel_for).
using TaskFn = void (*)(void* ctx, std::ptrdiff_t begin, std::ptrdiff_t end);

namespace detail {

// The TaskFn that calls a callable body(begin, end) passed as ctx.
template <class Body>
void call_body(void* ctx, std::ptrdiff_t begin, std::ptrdiff_t end) {
  (*static_cast<Body*>(ctx))(begin, end);
}

template <class Body>
void* body_context(Body& body) noexcept {
  return const_cast<void*>(static_cast<const void*>(std::addressof(body)));
}

class Pool {
 public:
  // A pool for calls of up to `max_threads` threads (the caller and max_threads - 1 helpers),
  // clamped to [1, 256]. back_off: run calls serially for a while after parallel ones that lost
  // to a serial run (see threads.cpp); off only in tests of the mechanics, which would otherwise
  // depend on the machine's load.
  explicit Pool(int max_threads, bool back_off = true);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  // Stops and joins the helpers. No call may be running on this pool.
  ~Pool();

  // See hotloop::parallel_for.
  void run(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx, std::ptrdiff_t grain,
           Interrupt* interrupt = nullptr) noexcept;
  template <class Body>
  void run(std::ptrdiff_t n_tasks, int max_threads, std::ptrdiff_t grain, Body&& body) noexcept {
    run(n_tasks, max_threads, call_body<std::remove_reference_t<Body>>, body_context(body), grain);
  }

  // The process-wide pool, created on first use with max_pool_threads() threads. In the child of
  // a fork it is a new pool without helpers (the parent's helpers do not exist there).
  static Pool& global() noexcept;

  int max_threads() const noexcept { return n_slots_ + 1; }
  // Helper threads started so far (tests: none for serial calls).
  int helpers_started() const noexcept { return n_started_.load(std::memory_order_acquire); }

  // Tests only: while closed, woken helpers stop before taking any chunk, as a helper whose
  // virtual CPU never gets scheduled would. Calls must still complete, on their callers alone.
  void set_gate_for_testing(bool open) noexcept { gate_open_.store(open); }
  // Tests only: calls left to run serially after calls that lost to a serial run (see .cpp), and
  // a call's verdict as if one had just finished.
  int serial_calls_left_for_testing() const noexcept { return backoff_calls_.load(); }
  void judge_for_testing(bool lost) noexcept { judge(lost); }

  struct Job;
  struct Slot;

 private:
  void helper_main(Slot& slot) noexcept;
  Job* wait_for_job(Slot& slot) noexcept;
  int start_helpers(int wanted, Job* job) noexcept;
  void judge(bool lost) noexcept;

  const int n_slots_;
  const bool back_off_;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<int> n_started_{0};
  std::mutex start_mutex_;  // only try_lock'ed on the call path: a caller never blocks on it
  bool start_failed_ = false;
  std::atomic<bool> gate_open_{true};
  std::atomic<int> strikes_{0};        // recent calls that were slower than serial (see .cpp)
  std::atomic<bool> suspect_{false};   // the last call judged lost to a serial run
  std::atomic<int> backoff_calls_{0};  // calls left to run serially

 public:
  Pool* next_orphan_ = nullptr;  // pools left behind by fork (kept reachable, never used)
};

}  // namespace detail
}  // namespace hotloop
