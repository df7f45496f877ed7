// Google Benchmark programs for counter records: decoding (raw, gzip, lz4 from memory), counting
// into Counters, the whole CountJob on a file, and the key-file set difference.
//
//   build/cxx/records_benchmark --benchmark_min_time=0.2
//
// Records are generated once with a fixed seed: 1M random 64-bit ids, one in ten repeating an
// earlier one, shows 0-4, clicks 0/1 (5% ones). Items are records (keys for the key files); bytes
// are uncompressed bytes.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "hotloop/records.hpp"

namespace {

constexpr std::uint64_t kSeed = 20240607;
constexpr std::size_t kRecords = 1000000;

struct Data {
  std::vector<std::uint64_t> ids;
  std::vector<std::uint16_t> shows, clicks;
  std::vector<std::uint8_t> raw;  // packed 12-byte records
  std::string dir;
  std::string file(hotloop::Compression c) const {
    return dir + "/records_bench_" + std::to_string(static_cast<int>(c));
  }
};

const Data& data() {
  static const Data d = [] {
    Data d;
    std::mt19937_64 rng(kSeed);
    for (std::size_t i = 0; i < kRecords; ++i) {
      d.ids.push_back(i > 0 && rng() % 10 == 0 ? d.ids[rng() % i] : rng());
      d.shows.push_back(static_cast<std::uint16_t>(rng() % 5));
      d.clicks.push_back(static_cast<std::uint16_t>(rng() % 20 == 0));
    }
    d.raw.resize(kRecords * hotloop::kRecordSize64);
    for (std::size_t i = 0; i < kRecords; ++i) {
      std::uint8_t* p = &d.raw[i * 12];
      std::memcpy(p, &d.ids[i], 8);
      std::memcpy(p + 8, &d.shows[i], 2);
      std::memcpy(p + 10, &d.clicks[i], 2);
    }
    const char* tmp = std::getenv("TMPDIR");
    d.dir = tmp ? tmp : "/tmp";
    for (auto c :
         {hotloop::Compression::none, hotloop::Compression::gzip, hotloop::Compression::lz4}) {
      hotloop::CountsWriter w(8, c, -1);
      if (w.open(d.file(c).c_str()) != 0 ||
          w.write(d.ids.data(), d.shows.data(), d.clicks.data(), kRecords) != 0 || w.commit() != 0)
        std::abort();
    }
    return d;
  }();
  return d;
}

std::vector<std::uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
}

void set_counters(benchmark::State& state, std::size_t items, std::size_t bytes) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void RecordsDecode(benchmark::State& state, hotloop::Compression c) {
  const Data& d = data();
  const std::vector<std::uint8_t> file = slurp(d.file(c));
  std::vector<std::uint8_t> buf(1 << 20);
  for (auto _ : state) {
    hotloop::ByteStream s(12);
    s.open_memory(file.data(), file.size());
    std::ptrdiff_t r;
    while ((r = s.read(buf.data(), buf.size() - buf.size() % 12)) > 0) {
      benchmark::DoNotOptimize(buf.data());
    }
    if (r < 0) state.SkipWithError("decode failed");
  }
  set_counters(state, kRecords, d.raw.size());
}
BENCHMARK_CAPTURE(RecordsDecode, Raw, hotloop::Compression::none)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(RecordsDecode, Gzip, hotloop::Compression::gzip)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(RecordsDecode, Lz4, hotloop::Compression::lz4)->Unit(benchmark::kMillisecond);

void RecordsCountersAdd(benchmark::State& state) {
  const Data& d = data();
  for (auto _ : state) {
    hotloop::Counters c(8);
    c.add_records(d.raw.data(), kRecords);
    benchmark::DoNotOptimize(c.distinct());
  }
  set_counters(state, kRecords, d.raw.size());
}
BENCHMARK(RecordsCountersAdd)->Unit(benchmark::kMillisecond);

void RecordsCountJob(benchmark::State& state, hotloop::Compression c) {
  const Data& d = data();
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    hotloop::CountJob job(8, threads);
    if (job.add_file(d.file(c).c_str()) != 0) state.SkipWithError("open failed");
    while (!job.run(std::uint64_t{1} << 25)) {
    }
    hotloop::Counters out(8);
    if (job.failed() || job.finish(&out) != 0) state.SkipWithError("count failed");
    benchmark::DoNotOptimize(out.distinct());
  }
  set_counters(state, kRecords, d.raw.size());
}
BENCHMARK_CAPTURE(RecordsCountJob, Raw, hotloop::Compression::none)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(RecordsCountJob, Gzip, hotloop::Compression::gzip)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(RecordsCountJob, Lz4, hotloop::Compression::lz4)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void RecordsTargetsNegative(benchmark::State& state) {
  const Data& d = data();
  const std::string all = d.dir + "/records_bench_all.csv", in = d.dir + "/records_bench_in.csv",
                    out = d.dir + "/records_bench_out.csv";
  {
    std::ofstream fa(all), fi(in);
    fa << "id\n";
    fi << "id\n";
    for (std::size_t i = 0; i < kRecords; ++i) {
      fa << d.ids[i] << '\n';
      if (i < kRecords * 5 / 6) fi << d.ids[i] << '\n';
    }
  }
  for (auto _ : state) {
    hotloop::NegativeJob job(true, true);
    int which;
    if (job.open(all.c_str(), in.c_str(), out.c_str(), &which) != 0)
      state.SkipWithError("open failed");
    while (!job.run(std::uint64_t{1} << 25)) {
    }
    if (job.failed() || job.commit() != 0) state.SkipWithError("failed");
  }
  set_counters(state, kRecords + kRecords * 5 / 6, 0);
  std::remove(all.c_str());
  std::remove(in.c_str());
  std::remove(out.c_str());
}
BENCHMARK(RecordsTargetsNegative)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
