// Google Benchmark programs for DeviceApps record streams: the message codec, and writing and
// reading files (compression included).
//
//   build/cxx/deviceapps_benchmark --benchmark_min_time=0.2
//
// Records are generated once with a fixed seed as the showcase's generator makes them: a 32-hex
// id, a 4-letter type, lat/lon, 0-50 app ids in [1, 10000). Items are records; bytes are the
// framed, uncompressed record bytes (8-byte header + message), about 142 per record.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "hotloop/deviceapps.hpp"

namespace {

constexpr std::uint64_t kSeed = 20240607;
constexpr std::size_t kRecords = 100000;

struct Data {
  std::vector<std::string> ids, types;
  std::vector<std::vector<std::uint32_t>> apps;
  std::vector<double> lat, lon;
  std::vector<hotloop::DeviceAppsMessage> msgs;
  std::vector<std::uint8_t> encoded;  // the messages back to back
  std::vector<std::size_t> ends;
  std::size_t framed_bytes = 0;
};

const Data& data() {
  static const Data d = [] {
    Data d;
    std::mt19937_64 rng(kSeed);
    const char* types[] = {"idfa", "gaid", "adid", "dvid"};
    std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180);
    for (std::size_t i = 0; i < kRecords; ++i) {
      char id[33];
      std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                    static_cast<unsigned long long>(rng()));
      d.ids.emplace_back(id);
      d.types.emplace_back(types[rng() % 4]);
      std::vector<std::uint32_t> a(rng() % 51);
      for (auto& v : a) v = static_cast<std::uint32_t>(1 + rng() % 9999);
      d.apps.push_back(std::move(a));
      d.lat.push_back(lat(rng));
      d.lon.push_back(lon(rng));
    }
    for (std::size_t i = 0; i < kRecords; ++i) {
      hotloop::DeviceAppsMessage m;
      m.has_device = m.has_id = m.has_type = m.has_lat = m.has_lon = true;
      m.id = reinterpret_cast<const std::uint8_t*>(d.ids[i].data());
      m.id_size = d.ids[i].size();
      m.type = reinterpret_cast<const std::uint8_t*>(d.types[i].data());
      m.type_size = d.types[i].size();
      m.apps = d.apps[i].data();
      m.n_apps = d.apps[i].size();
      m.lat = d.lat[i];
      m.lon = d.lon[i];
      d.msgs.push_back(m);
      const std::size_t n = hotloop::encoded_size(m);
      const std::size_t at = d.encoded.size();
      d.encoded.resize(at + n);
      hotloop::encode(m, d.encoded.data() + at);
      d.ends.push_back(d.encoded.size());
      d.framed_bytes += hotloop::kRecordHeaderSize + n;
    }
    return d;
  }();
  return d;
}

void counters(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kRecords));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(data().framed_bytes));
}

void DeviceAppsEncode(benchmark::State& state) {
  const Data& d = data();
  std::vector<std::uint8_t> out(d.encoded.size());
  for (auto _ : state) {
    std::uint8_t* p = out.data();
    for (const auto& m : d.msgs) p = hotloop::encode(m, p);
    benchmark::DoNotOptimize(p);
  }
  counters(state);
}
BENCHMARK(DeviceAppsEncode);

void DeviceAppsDecode(benchmark::State& state) {
  const Data& d = data();
  std::vector<std::uint32_t> apps(hotloop::kMaxMessageSize + 1);
  for (auto _ : state) {
    std::size_t begin = 0, n_apps = 0;
    for (std::size_t end : d.ends) {
      hotloop::DeviceAppsMessage m;
      hotloop::DecodeError e;
      hotloop::decode(d.encoded.data() + begin, end - begin, &m, apps.data(), &e);
      n_apps += m.n_apps;
      begin = end;
    }
    benchmark::DoNotOptimize(n_apps);
  }
  counters(state);
}
BENCHMARK(DeviceAppsDecode);

std::string temp_path() {
  return "/tmp/hotloop-deviceapps-bench-" + std::to_string(::getpid()) + ".gz";
}

void write_all(const std::string& path, int level, int threads) {
  hotloop::DeviceAppsWriter w(level, threads, hotloop::kDefaultBlockSize);
  if (w.open(path.c_str()) != 0) std::abort();
  for (const auto& m : data().msgs)
    if (w.add(m) == hotloop::AddStatus::block_full && w.flush_block() != 0) std::abort();
  if (w.commit() != 0) std::abort();
}

// Args: compression level, threads.
void DeviceAppsWrite(benchmark::State& state) {
  const std::string path = temp_path();
  for (auto _ : state) write_all(path, static_cast<int>(state.range(0)), state.range(1));
  ::unlink(path.c_str());
  counters(state);
}
BENCHMARK(DeviceAppsWrite)->Args({1, 1})->Args({6, 1})->Args({6, 2})->UseRealTime();

void DeviceAppsRead(benchmark::State& state) {
  const std::string path = temp_path();
  write_all(path, 6, 2);
  for (auto _ : state) {
    hotloop::DeviceAppsReader r;
    if (r.open(path.c_str()) != 0) std::abort();
    hotloop::RecordView rec;
    hotloop::DeviceAppsMessage m;
    std::size_t n = 0;
    while (r.next(&rec, true) == hotloop::ReadStatus::record) n += r.decode(rec, &m);
    if (n != kRecords) std::abort();
  }
  ::unlink(path.c_str());
  counters(state);
}
BENCHMARK(DeviceAppsRead);

}  // namespace

BENCHMARK_MAIN();
