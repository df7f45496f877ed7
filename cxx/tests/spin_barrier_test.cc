// The spinning barrier: every round, each thread sees what all the others wrote before it.

#include "hotloop/detail/spin_barrier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

void run_rounds(int threads, int rounds) {
  hotloop::detail::SpinBarrier barrier;
  std::vector<int> slot(static_cast<std::size_t>(threads), -1);
  std::atomic<int> errors{0};
  std::vector<std::thread> team;
  for (int t = 0; t < threads; ++t) {
    team.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        slot[static_cast<std::size_t>(t)] = r;  // a plain write, ordered by the barrier
        barrier.wait(threads);
        for (int u = 0; u < threads; ++u)
          if (slot[static_cast<std::size_t>(u)] != r) ++errors;
        barrier.wait(threads);  // nobody writes round r + 1 before everybody read round r
      }
    });
  }
  for (auto& th : team) th.join();
  EXPECT_EQ(errors.load(), 0) << threads << " threads";
}

TEST(SpinBarrier, EveryRoundSeesEveryWrite) {
  for (int threads : {1, 2, 3, 8}) run_rounds(threads, 2000);
}

// More threads than CPUs (this machine has few): the yield keeps them progressing.
TEST(SpinBarrier, OversubscribedStillProgresses) {
  run_rounds(static_cast<int>(std::thread::hardware_concurrency()) * 4 + 1, 200);
}

}  // namespace
