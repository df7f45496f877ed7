// A barrier for the threads of one parallel region that waits by spinning, not by sleeping.
//
// Why not OpenMP's barrier: libgomp's waiting threads spin for a while and then sleep in the
// kernel; waking one costs a system call, and on a virtual machine whose idle virtual CPU the
// host has descheduled, milliseconds. diffuse meets at a barrier after every block (~0.1 ms of
// work on 512 x 512): measured on a 2-vCPU VM, its 2-thread runs came out bimodal, 19 or 33-45
// ms, with the default wait policy, and 18-21 ms when the threads never sleep
// (GOMP_SPINCOUNT=1e8). This barrier spins (with the CPU's pause hint), and yields the CPU to
// the OS scheduler after a few thousand rounds, so that more threads than CPUs still progress.
//
// Use: one object shared by the team; every thread calls wait(team_size) the same number of
// times. team_size must be the number of threads actually in the team (omp_get_num_threads()),
// not the number requested.
#pragma once

#include <atomic>
#include <thread>

namespace hotloop::detail {

class SpinBarrier {
 public:
  SpinBarrier() noexcept = default;
  SpinBarrier(const SpinBarrier&) = delete;
  SpinBarrier& operator=(const SpinBarrier&) = delete;

  // Returns once all `team_size` threads have called it (this round). Everything a thread wrote
  // before its call is visible to every thread after theirs.
  void wait(int team_size) noexcept {
    if (team_size <= 1) return;
    const unsigned round = round_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == team_size) {
      arrived_.store(0, std::memory_order_relaxed);
      round_.store(round + 1, std::memory_order_release);  // frees the others
      return;
    }
    for (unsigned spins = 0; round_.load(std::memory_order_acquire) == round; ++spins) {
      if (spins < kSpinsBeforeYield) {
        pause();
      } else {
        std::this_thread::yield();
      }
    }
  }

 private:
  static constexpr unsigned kSpinsBeforeYield = 4096;

  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::atomic<int> arrived_{0};
  std::atomic<unsigned> round_{0};
};

}  // namespace hotloop::detail
