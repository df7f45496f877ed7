// Shared pieces of the Google Benchmark programs: the fixed-seed input series and the counters.
//
// Every statistics benchmark reads the same fixed-seed series (100 + N(0, 1), a price-like level,
// so the shifted sums are exercised as in real use) and reports items (input values) per second,
// from which ns/element = 1e9 / items_per_second.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace hotloop::bench {

constexpr std::uint64_t kSeed = 20240601;
constexpr std::int64_t kMaxSize = 1000000;

// kMaxSize values of 100 + N(0, 1), generated once per element type.
template <class T>
const std::vector<T>& series() {
  static const std::vector<T> x = [] {
    std::mt19937_64 rng(kSeed);
    std::normal_distribution<double> dist(100.0, 1.0);
    std::vector<T> v(static_cast<std::size_t>(kMaxSize));
    for (T& e : v) e = static_cast<T>(dist(rng));
    return v;
  }();
  return x;
}

template <class T>
const char* dtype_name() {
  return sizeof(T) == 8 ? "Float64" : "Float32";
}

inline void set_counters(benchmark::State& state, std::int64_t n, std::int64_t bytes_per_item) {
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * bytes_per_item);
}

}  // namespace hotloop::bench
