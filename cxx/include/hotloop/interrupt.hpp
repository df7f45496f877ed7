// Cooperative interruption of long kernels (Ctrl-C from Python).
//
// A kernel that may run for seconds calls poll() every ~0.1-1 ms of work and stops (returning
// early, its output incomplete) once poll() returns true. C++ knows nothing of Python's signals:
// the extension module passes a `check` function that takes the GIL and runs Python's signal
// handlers. Python runs those only on the main thread, and the GIL must not be taken by every
// worker, so check is called only on the thread that made the Interrupt (the Python caller), at
// most every `interval_ns`; the other threads read the flag it sets. parallel_for(..., Interrupt*)
// also polls while the caller waits for its helpers, so a helper's long chunk is stopped too.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace hotloop {

class Interrupt {
 public:
  // check(ctx) returns nonzero when the work should stop (e.g. a KeyboardInterrupt was raised);
  // it must not throw. An int, not a bool, so that a Cython `bint` function converts to it.
  using CheckFn = int (*)(void* ctx);

  // 50 ms: a Ctrl-C is seen within about 0.05 s, and a check (GIL round trip, ~1 us when no
  // other Python thread holds it) costs nothing measurable.
  static constexpr std::int64_t kDefaultIntervalNs = 50'000'000;

  explicit Interrupt(CheckFn check, void* ctx,
                     std::int64_t interval_ns = kDefaultIntervalNs) noexcept
      : check_(check),
        ctx_(ctx),
        interval_ns_(interval_ns),
        owner_(std::this_thread::get_id()),
        next_ns_(now_ns() + interval_ns) {}
  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  // True once the work should stop. Cheap (one relaxed load) except on the owner thread when a
  // check is due (a clock read, and every interval_ns the check itself).
  bool poll() noexcept {
    if (stop_.load(std::memory_order_relaxed)) return true;
    if (std::this_thread::get_id() != owner_) return false;
    const std::int64_t now = now_ns();
    if (now < next_ns_) return false;
    next_ns_ = now + interval_ns_;
    if (check_ != nullptr && check_(ctx_) != 0) {
      stop_.store(true, std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  // Whether poll() has ever said stop (read it after the kernel returned).
  bool stopped() const noexcept { return stop_.load(std::memory_order_relaxed); }

  // Stop from any thread (tests; a kernel that gives up for its own reasons).
  void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  CheckFn check_;
  void* ctx_;
  std::int64_t interval_ns_;
  std::thread::id owner_;
  std::int64_t next_ns_;  // only the owner reads and writes it
  std::atomic<bool> stop_{false};
};

// A kernel's cheap call site: poll only every `every` calls of tick() (a counter in a register).
class InterruptTicker {
 public:
  InterruptTicker(Interrupt* interrupt, unsigned every) noexcept
      : interrupt_(interrupt), every_(every), left_(every) {}
  // True when the kernel should stop now.
  bool tick() noexcept {
    if (interrupt_ == nullptr || --left_ != 0) return false;
    left_ = every_;
    return interrupt_->poll();
  }

 private:
  Interrupt* interrupt_;
  unsigned every_;
  unsigned left_;
};

}  // namespace hotloop
