// Tests of hotloop::fib_recursive() and hotloop::fib_fast() against the iterative definition.

#include "hotloop/fib.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

// fib(0..93) by the plain loop: the reference.
std::vector<std::uint64_t> table() {
  std::vector<std::uint64_t> t(hotloop::kFibMaxN + 1);
  t[0] = 0;
  t[1] = 1;
  for (int i = 2; i <= hotloop::kFibMaxN; ++i) t[i] = t[i - 1] + t[i - 2];
  return t;
}

TEST(Fib, KnownValues) {
  EXPECT_EQ(hotloop::fib_fast(0), 0u);
  EXPECT_EQ(hotloop::fib_fast(1), 1u);
  EXPECT_EQ(hotloop::fib_fast(2), 1u);
  EXPECT_EQ(hotloop::fib_fast(10), 55u);
  EXPECT_EQ(hotloop::fib_fast(92), 7540113804746346429u);
  EXPECT_EQ(hotloop::fib_fast(93), 12200160415121876738u);
  EXPECT_EQ(hotloop::fib_recursive(32), 2178309u);
}

TEST(Fib, FastDoublingMatchesTheLoopEverywhere) {
  const auto t = table();
  for (int n = 0; n <= hotloop::kFibMaxN; ++n) {
    std::uint64_t next = 0;
    EXPECT_EQ(hotloop::fib_fast(n, &next), t[n]) << n;
    if (n < hotloop::kFibMaxN) {
      EXPECT_EQ(next, t[n + 1]) << n;
    }
  }
}

TEST(Fib, RecursionMatchesTheLoop) {
  const auto t = table();
  for (int n = 0; n <= 27; ++n) EXPECT_EQ(hotloop::fib_recursive(n), t[n]) << n;
}

TEST(Fib, LargestValueFitsAndTheNextDoesNot) {
  const auto t = table();
  // fib(94) = fib(93) + fib(92) would exceed 2**64 - 1.
  EXPECT_GT(t[93], UINT64_MAX - t[92]);
}

// Usable at compile time too.
static_assert(hotloop::fib_fast(50) == 12586269025u, "fib(50)");

}  // namespace
