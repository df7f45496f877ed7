#include "hotloop/fib.hpp"

namespace hotloop {

// Out of line on purpose: the Python wrapper, the C ABI and the benchmarks all call this one
// definition, so they time the same machine code.
std::uint64_t fib_recursive(int n) noexcept {
  return n < 2 ? static_cast<std::uint64_t>(n) : fib_recursive(n - 1) + fib_recursive(n - 2);
}

}  // namespace hotloop
