// Google Benchmark programs for the byte family: WebSocket masking against memcpy of the same
// size (the ceiling: masking reads and writes as many bytes as a copy does).
//
//   build/cxx/wsmask_benchmark --benchmark_min_time=0.05
//
// Sizes: the 64 KiB, 1 MiB and 16 MiB plus 256 KiB (where in-place masking must beat
// websockets by 1.5x) and 1 KiB (call-sized). Bytes processed count the payload once, so
// bytes_per_second compares directly with memcpy's.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "hotloop/wsmask.hpp"

namespace {

constexpr std::uint64_t kSeed = 20240602;
const std::int64_t kSizes[] = {1 << 10, 64 << 10, 256 << 10, 1 << 20, 16 << 20};
constexpr std::uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

std::vector<std::uint8_t> payload(std::size_t n) {
  std::mt19937_64 rng(kSeed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

void sizes(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : kSizes) b->Arg(n);
}

void WsMaskOutOfPlace(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto in = payload(n);
  std::vector<std::uint8_t> out(n);
  for (auto _ : state) {
    hotloop::ws_mask(in.data(), out.data(), n, kKey, 0);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(WsMaskOutOfPlace)->Apply(sizes);

void WsMaskInPlace(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto buf = payload(n);
  for (auto _ : state) {
    hotloop::ws_mask(buf.data(), buf.data(), n, kKey, 0);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(WsMaskInPlace)->Apply(sizes);

// Input one byte past an aligned address, as a frame's payload after its header usually is.
void WsMaskUnalignedInput(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto in = payload(n + 1);
  std::vector<std::uint8_t> out(n);
  for (auto _ : state) {
    hotloop::ws_mask(in.data() + 1, out.data(), n, kKey, 3);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(WsMaskUnalignedInput)->Apply(sizes);

void MemcpyCeiling(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto in = payload(n);
  std::vector<std::uint8_t> out(n);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), n);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(MemcpyCeiling)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
