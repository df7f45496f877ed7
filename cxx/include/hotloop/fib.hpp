// Fibonacci numbers: the naive recursion (a benchmark of call overhead, as in the teaching
// material's "fib 32/33/35" table) and O(log n) fast doubling.
//
// fib(0) = 0, fib(1) = 1, fib(n) = fib(n - 1) + fib(n - 2). fib(93) = 12200160415121876738 is the
// largest that fits in 64 bits (fib(94) > 2**64); the callers check n against kFibMaxN.
#pragma once

#include <cstdint>

namespace hotloop {

// Largest n whose Fibonacci number fits in std::uint64_t.
inline constexpr int kFibMaxN = 93;

// The recursive definition, as written in the textbook: about 1.6**n calls, so fib(35) makes
// about 3e7 calls and fib(93) would run for centuries. It is kept exponential on purpose (a
// benchmark of call cost): no memoisation, no closed form; the compiler may still turn one of
// the two calls into a loop, as it would for any user's code.
// Precondition: 0 <= n <= kFibMaxN (checked by the caller). Never throws.
std::uint64_t fib_recursive(int n) noexcept;

// Fast doubling: fib(2k) = fib(k) * (2 fib(k+1) - fib(k)), fib(2k+1) = fib(k)^2 + fib(k+1)^2,
// over the bits of n from the top: about log2(n) steps. Sets *next to fib(n + 1) modulo 2**64
// when next is not null (exact for n < kFibMaxN). Precondition: 0 <= n <= kFibMaxN.
// Unsigned arithmetic: intermediate values that are never used may wrap, which is defined.
constexpr std::uint64_t fib_fast(int n, std::uint64_t* next = nullptr) noexcept {
  std::uint64_t a = 0, b = 1;  // fib(k), fib(k + 1) for the prefix k of n's bits read so far
  int top = 0;
  while ((n >> top) > 1) ++top;
  for (int bit = top; bit >= 0; --bit) {
    const std::uint64_t c = a * (2 * b - a);  // fib(2k)
    const std::uint64_t d = a * a + b * b;    // fib(2k + 1)
    if ((n >> bit) & 1) {
      a = d;
      b = c + d;
    } else {
      a = c;
      b = d;
    }
  }
  if (next) *next = b;
  return a;
}

}  // namespace hotloop
