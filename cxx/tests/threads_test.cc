// parallel_for and its pool: every task exactly once in chunks of `grain` for any thread count,
// concurrent and nested callers, a caller that completes although its helpers never run, fork,
// and no thread at all for serial calls.

#include "hotloop/threads.hpp"

#include <gtest/gtest.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

using hotloop::detail::Pool;

// Counts how often each task ran and checks that every chunk is [c * grain, ...) of full length
// (the last one shorter).
struct Tally {
  Tally(std::ptrdiff_t n, std::ptrdiff_t g) : grain(g), hits(static_cast<std::size_t>(n)) {}
  void operator()(std::ptrdiff_t begin, std::ptrdiff_t end) {
    const auto n = static_cast<std::ptrdiff_t>(hits.size());
    if (begin % grain != 0 || end != std::min(begin + grain, n) || begin >= end) ++bad_chunks;
    for (std::ptrdiff_t i = begin; i < end; ++i) {
      hits[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
    }
  }
  // The number of tasks that did not run exactly once, plus malformed chunks.
  std::ptrdiff_t errors() const {
    std::ptrdiff_t e = bad_chunks.load();
    for (const auto& h : hits) e += h.load() != 1;
    return e;
  }
  std::ptrdiff_t grain;
  std::vector<std::atomic<int>> hits;
  std::atomic<std::ptrdiff_t> bad_chunks{0};
};

void tally_fn(void* ctx, std::ptrdiff_t begin, std::ptrdiff_t end) {
  (*static_cast<Tally*>(ctx))(begin, end);
}

constexpr int kThreadCounts[] = {1, 2, 3, 8, 64, 1000000000};
constexpr std::ptrdiff_t kSizes[] = {0, 1, 2, 7, 63, 64, 65, 1000, 100003};
constexpr std::ptrdiff_t kGrains[] = {1, 3, 64, 1000};

TEST(ParallelFor, EveryTaskExactlyOnce) {
  for (int threads : kThreadCounts) {
    for (std::ptrdiff_t n : kSizes) {
      for (std::ptrdiff_t grain : kGrains) {
        Tally t(n, grain);
        hotloop::parallel_for(n, threads, tally_fn, &t, grain);
        EXPECT_EQ(t.errors(), 0) << "threads=" << threads << " n=" << n << " grain=" << grain;
      }
    }
  }
  EXPECT_LE(Pool::global().helpers_started(), hotloop::max_pool_threads() - 1);
}

// A pool with more helpers than this machine has CPUs: the claiming races of many threads.
TEST(ParallelFor, EveryTaskExactlyOnceWithEightHelpers) {
  Pool pool(9, false);
  for (int threads : kThreadCounts) {
    for (std::ptrdiff_t n : kSizes) {
      for (std::ptrdiff_t grain : kGrains) {
        Tally t(n, grain);
        pool.run(n, threads, tally_fn, &t, grain);
        EXPECT_EQ(t.errors(), 0) << "threads=" << threads << " n=" << n << " grain=" << grain;
      }
    }
  }
  EXPECT_LE(pool.helpers_started(), 8);
}

TEST(ParallelFor, GrainBelowOneMeansOne) {
  for (std::ptrdiff_t grain : {0, -5}) {
    Tally t(100, 1);
    hotloop::parallel_for(100, 2, tally_fn, &t, grain);
    EXPECT_EQ(t.errors(), 0) << grain;
  }
}

TEST(ParallelFor, LambdaBody) {
  std::vector<double> out(10000);
  hotloop::parallel_for(10000, 2, 100, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t i = b; i < e; ++i) out[static_cast<std::size_t>(i)] = 0.5 * i;
  });
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], 0.5 * i);
}

TEST(ParallelFor, SerialCallsStartNoThread) {
  const int before = Pool::global().helpers_started();  // 0 unless another test ran first
  Tally a(100000, 10);
  hotloop::parallel_for(100000, 1, tally_fn, &a, 10);  // one thread asked for
  Tally b(1000, 1000);
  hotloop::parallel_for(1000, 8, tally_fn, &b, 1000);  // one chunk: below the threshold
  Tally c(0, 1);
  hotloop::parallel_for(0, 8, tally_fn, &c, 1);
  EXPECT_EQ(a.errors() + b.errors() + c.errors(), 0);
  EXPECT_EQ(Pool::global().helpers_started(), before);

  Pool pool(4, false);
  pool.run(100000, 1, tally_fn, &a, 10);
  pool.run(1000, 4, tally_fn, &b, 1000);
  EXPECT_EQ(pool.helpers_started(), 0);
  Tally d(1000, 10);
  pool.run(1000, 3, tally_fn, &d, 10);  // two threads wanted: at most two helpers started
  EXPECT_EQ(d.errors(), 0);
  EXPECT_GE(pool.helpers_started(), 1);
  EXPECT_LE(pool.helpers_started(), 2);
}

TEST(ParallelFor, ConcurrentCallers) {
  Pool pool(4, false);
  std::atomic<int> errors{0};
  std::vector<std::thread> callers;
  for (int k = 0; k < 4; ++k) {
    callers.emplace_back([&, k] {
      for (int r = 0; r < 100; ++r) {
        const std::ptrdiff_t n = 500 + 97 * k + r;
        Tally a(n, 7), b(n, 13);
        hotloop::parallel_for(n, 2 + k, tally_fn, &a, 7);
        pool.run(n, 2 + k, tally_fn, &b, 13);
        errors += static_cast<int>(a.errors() + b.errors());
      }
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(errors.load(), 0);
}

TEST(ParallelFor, NestedCalls) {
  constexpr std::ptrdiff_t kOuter = 40, kInner = 300;
  std::vector<std::atomic<int>> hits(kOuter * kInner);
  hotloop::parallel_for(kOuter, 8, 1, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t o = b; o < e; ++o) {
      hotloop::parallel_for(kInner, 8, 11, [&](std::ptrdiff_t ib, std::ptrdiff_t ie) {
        for (std::ptrdiff_t i = ib; i < ie; ++i) hits[static_cast<std::size_t>(o * kInner + i)]++;
      });
    }
  });
  for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
}

// Woken helpers that never get to run (the gate stands for a virtual CPU the host does not
// schedule): the caller does every chunk itself and returns; the helpers, let go afterwards, find
// nothing left.
TEST(ParallelFor, CallerFinishesWhenHelpersNeverRun) {
  Pool pool(4, false);
  Tally warm(10000, 10);
  pool.run(10000, 4, tally_fn, &warm, 10);  // starts the helpers
  ASSERT_EQ(warm.errors(), 0);
  ASSERT_EQ(pool.helpers_started(), 3);

  pool.set_gate_for_testing(false);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> foreign{0};
  Tally t(100000, 10);
  pool.run(100000, 4, 10, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    if (std::this_thread::get_id() != caller) ++foreign;
    t(b, e);
  });
  EXPECT_EQ(t.errors(), 0);
  EXPECT_EQ(foreign.load(), 0);

  // While the helpers still hold that call's job, a new call runs alone.
  Tally u(1000, 10);
  pool.run(1000, 4, tally_fn, &u, 10);
  EXPECT_EQ(u.errors(), 0);

  pool.set_gate_for_testing(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(t.errors(), 0);  // the late helpers ran nothing
  Tally v(10000, 10);
  pool.run(10000, 4, tally_fn, &v, 10);
  EXPECT_EQ(v.errors(), 0);
}

// Every helper busy with a call that cannot finish yet: another caller is not blocked by it.
TEST(ParallelFor, BusyPoolDoesNotBlockAnotherCaller) {
  Pool pool(2, false);
  std::atomic<int> entered{0};
  std::atomic<bool> go{false};
  std::thread blocked([&] {
    pool.run(2, 2, 1, [&](std::ptrdiff_t, std::ptrdiff_t) {
      ++entered;
      while (!go.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    });
  });
  while (entered.load() < 2) std::this_thread::sleep_for(std::chrono::microseconds(100));
  Tally t(10000, 10);
  pool.run(10000, 2, tally_fn, &t, 10);  // the only helper is stuck in the other call
  EXPECT_EQ(t.errors(), 0);
  go = true;
  blocked.join();
}

std::uint64_t checksum(int threads) {
  constexpr std::ptrdiff_t kN = 1 << 16;
  std::vector<std::int64_t> out(kN);
  hotloop::parallel_for(kN, threads, 256, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t i = b; i < e; ++i) out[static_cast<std::size_t>(i)] = i * i % 1009;
  });
  std::uint64_t s = 0;  // wraps: a hash
  for (std::int64_t v : out) s = s * 31 + static_cast<std::uint64_t>(v);
  return s;
}

// The parent's helpers do not exist in a forked child: its calls must not wait for them, and
// give the same results.
TEST(ParallelFor, WorksInForkedChild) {
  const std::uint64_t expected = checksum(1);
  ASSERT_EQ(checksum(2), expected);
  ASSERT_GE(Pool::global().helpers_started(), 1);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);  // a hang ends the child with SIGALRM
    int code = 0;
    if (Pool::global().helpers_started() != 0) code |= 1;  // a new pool
    if (checksum(2) != expected) code |= 2;
    if (checksum(8) != expected) code |= 4;
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(checksum(2), expected);  // and the parent's pool still works
}

// Runs calls until `in_a_row` of them in a row were slow: their helper held a chunk for 20 ms, like
// a helper whose CPU was taken by another process (a call the helper joins too late is not slow).
void slow_calls(Pool& pool, int in_a_row) {
  const auto caller = std::this_thread::get_id();
  pool.run(4, 2, 1, [&](std::ptrdiff_t, std::ptrdiff_t) {});  // starts the helper
  for (int slow = 0; slow < in_a_row;) {
    std::atomic<bool> helper_slept{false};
    pool.run(1000, 2, 1, [&](std::ptrdiff_t, std::ptrdiff_t) {
      if (std::this_thread::get_id() != caller && !helper_slept.exchange(true)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    slow = helper_slept.load() ? slow + 1 : 0;
  }
}

// Two calls in a row that lost to a serial run make the next calls serial: no helper takes part.
TEST(ParallelFor, BacksOffAfterTwoCallsSlowerThanSerial) {
  Pool pool(2);
  const auto caller = std::this_thread::get_id();
  slow_calls(pool, 2);
  EXPECT_GT(pool.serial_calls_left_for_testing(), 0);
  std::atomic<int> foreign{0};
  for (int call = 0; call < 16; ++call) {
    Tally t(10000, 10);
    pool.run(10000, 2, 10, [&](std::ptrdiff_t b, std::ptrdiff_t e) {
      if (std::this_thread::get_id() != caller) ++foreign;
      t(b, e);
    });
    EXPECT_EQ(t.errors(), 0);
  }
  EXPECT_EQ(foreign.load(), 0);
}

// One slow call alone (a stall a serial run would share) leaves the pool parallel; the second in a
// row backs off, and a call that paid off in between clears the first.
TEST(ParallelFor, OneLossAloneDoesNotBackOff) {
  Pool pool(2);
  pool.judge_for_testing(true);
  EXPECT_EQ(pool.serial_calls_left_for_testing(), 0);
  pool.judge_for_testing(false);
  pool.judge_for_testing(true);
  EXPECT_EQ(pool.serial_calls_left_for_testing(), 0);
  pool.judge_for_testing(true);
  EXPECT_GT(pool.serial_calls_left_for_testing(), 0);
}

TEST(ParallelFor, MaxPoolThreadsIsCapped) {
  const int cap = hotloop::max_pool_threads();
  EXPECT_GE(cap, 1);
  EXPECT_LE(cap, 256);
  EXPECT_LE(static_cast<unsigned>(cap), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(Pool(1000000000).max_threads(), 256);
  EXPECT_EQ(Pool(0).max_threads(), 1);
}

}  // namespace

// An Interrupt checks on its owner thread only, at most every interval, and its stop is seen by
// every thread.
TEST(Interrupt, ChecksOnTheOwnerOnlyAndStopsEveryone) {
  struct Ctx {
    std::atomic<int> checks{0};
    std::thread::id owner = std::this_thread::get_id();
    std::atomic<int> foreign{0};
  } ctx;
  auto check = [](void* p) -> int {
    auto* c = static_cast<Ctx*>(p);
    if (std::this_thread::get_id() != c->owner) ++c->foreign;
    return ++c->checks >= 3;
  };
  hotloop::Interrupt intr(check, &ctx, 0);
  std::thread other([&] {
    for (int i = 0; i < 1000; ++i) intr.poll();  // never checks, never stops by itself
  });
  other.join();
  EXPECT_EQ(ctx.checks.load(), 0);
  EXPECT_FALSE(intr.stopped());
  EXPECT_FALSE(intr.poll());
  EXPECT_FALSE(intr.poll());
  EXPECT_TRUE(intr.poll());
  EXPECT_TRUE(intr.stopped());
  std::atomic<bool> seen{false};
  std::thread late([&] { seen = intr.poll(); });
  late.join();
  EXPECT_TRUE(seen.load());
  EXPECT_EQ(ctx.foreign.load(), 0);
}

// A helper stuck in a long chunk is stopped through the caller's polling while it waits: the
// caller's own chunks are done, and only the Interrupt can end the helper's.
TEST(Interrupt, CallerWaitingForAHelperPollsAndStopsIt) {
  if (hotloop::max_pool_threads() < 2) GTEST_SKIP() << "needs 2 CPUs";
  const auto start = std::chrono::steady_clock::now();
  auto check = [](void* p) -> int {
    const auto t0 = *static_cast<std::chrono::steady_clock::time_point*>(p);
    return std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(100);
  };
  hotloop::Interrupt intr(check, const_cast<std::chrono::steady_clock::time_point*>(&start),
                          1'000'000);
  const auto caller = std::this_thread::get_id();
  std::atomic<int> helper_chunks{0};
  hotloop::parallel_for(
      2, 2, 1,
      [&](std::ptrdiff_t, std::ptrdiff_t) {
        if (std::this_thread::get_id() == caller) return;  // the caller's chunk: instant
        ++helper_chunks;
        while (!intr.poll()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      },
      &intr);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(intr.stopped() || helper_chunks.load() == 0);
  EXPECT_LT(took, std::chrono::seconds(5));
}
