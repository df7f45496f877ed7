// Serial vs OpenMP vs hotloop::parallel_for in three calling patterns: back to back, 50 ms gaps
// (intermittent), and with another process spinning on one core (loaded). Not part of the
// showcase: the measurement behind the constants of cxx/src/threads.cpp.
//
//   g++ -O3 -std=c++17 -fopenmp -Icxx/include benchmarks/threads_patterns.cc cxx/src/threads.cpp
//     -pthread -o build/threads_patterns && build/threads_patterns [quick [julia_grain xor_grain]]
//
// Each mode runs in its own forked process (libgomp's spinning threads would otherwise steal
// the CPU from the next mode's measurement). Kernels: an XOR mask over 1 MiB and 16 MiB
// (memory-bound) and an escape-time loop over 200 x 200 points (compute-bound, uneven rows).
// Printed per kernel, mode and pattern: median and 95th percentile of the call time, their
// ratio to the serial mode's, and the process CPU time per call (spinning shows there).

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "hotloop/threads.hpp"

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode { kSerial, kOpenMP, kPool, kPoolNoBackOff };
const char* mode_name(Mode m) {
  return m == Mode::kSerial   ? "serial"
         : m == Mode::kOpenMP ? "openmp2"
         : m == Mode::kPool   ? "pool2"
                              : "pool2_nbo";
}

// --- kernels: body(begin, end) over tasks, and a grain for the pool --------------------------

struct XorMask {
  std::vector<std::uint64_t> buf;
  explicit XorMask(std::size_t bytes) : buf(bytes / 8, 0x0123456789abcdefULL) {}
  std::ptrdiff_t n_tasks() const { return static_cast<std::ptrdiff_t>(buf.size()); }
  void body(std::ptrdiff_t b, std::ptrdiff_t e) {
    std::uint64_t* p = buf.data();
    for (std::ptrdiff_t i = b; i < e; ++i) p[i] ^= 0x3d21fa373d21fa37ULL;
  }
};

struct Julia {
  static constexpr int kSide = 200, kMaxIter = 40;
  std::vector<int> out = std::vector<int>(kSide * kSide);
  std::ptrdiff_t n_tasks() const { return kSide; }  // rows
  void body(std::ptrdiff_t b, std::ptrdiff_t e) {
    for (std::ptrdiff_t r = b; r < e; ++r) {
      for (int c = 0; c < kSide; ++c) {
        double zr = -1.5 + 3.0 * c / kSide, zi = -1.5 + 3.0 * static_cast<double>(r) / kSide;
        int k = 0;
        while (k < kMaxIter && zr * zr + zi * zi <= 4.0) {
          const double t = zr * zr - zi * zi - 0.8;
          zi = 2.0 * zr * zi + 0.156;
          zr = t;
          ++k;
        }
        out[static_cast<std::size_t>(r * kSide + c)] = k;
      }
    }
  }
};

template <class K>
void call(K& k, Mode mode, std::ptrdiff_t grain) {
  const std::ptrdiff_t n = k.n_tasks();
  switch (mode) {
    case Mode::kSerial:
      k.body(0, n);
      break;
    case Mode::kOpenMP:
#pragma omp parallel for num_threads(2) schedule(static)
      for (std::ptrdiff_t c = 0; c < (n + grain - 1) / grain; ++c) {
        k.body(c * grain, std::min(n, (c + 1) * grain));
      }
      break;
    case Mode::kPool:
      hotloop::parallel_for(n, 2, grain, [&](std::ptrdiff_t b, std::ptrdiff_t e) { k.body(b, e); });
      break;
    case Mode::kPoolNoBackOff: {  // the same pool without its back-off (what the back-off buys)
      static hotloop::detail::Pool pool(2, false);
      pool.run(n, 2, grain, [&](std::ptrdiff_t b, std::ptrdiff_t e) { k.body(b, e); });
      break;
    }
  }
}

// --- patterns ---------------------------------------------------------------------------------

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Stats {
  double median_ms, p95_ms, cpu_ms_per_call;
};

template <class K>
Stats measure(K& k, Mode mode, std::ptrdiff_t grain, int calls, int gap_ms) {
  for (int i = 0; i < 3; ++i) call(k, mode, grain);  // warm: pages, pool, OpenMP team
  std::vector<double> t;
  double cpu = 0;
  for (int i = 0; i < calls; ++i) {
    if (gap_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    const double c0 = cpu_seconds();
    const auto t0 = Clock::now();
    call(k, mode, grain);
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    // CPU until just before the next call: includes what the threads burn in the gap.
    if (gap_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms - 1));
    cpu += cpu_seconds() - c0;
    if (gap_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[std::min(t.size() - 1, t.size() * 95 / 100)], 1e3 * cpu / calls};
}

// Another process keeping one core busy, for the loaded pattern; bounded by alarm().
pid_t start_spinner() {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(120);
    for (volatile std::uint64_t i = 0;; i = i + 1) {
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return pid;
}

void stop_spinner(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

struct Case {
  std::string kernel, pattern;
};

// Runs every kernel and pattern in this process (one mode) and prints "kernel pattern med p95
// cpu" lines on stdout.
void run_mode(Mode mode, bool quick, std::ptrdiff_t julia_grain, std::ptrdiff_t xor_grain_bytes) {
  const int b2b = quick ? 60 : 300, gaps = quick ? 15 : 40;
  XorMask x1(1 << 20), x16(16 << 20);
  Julia j;
  auto all = [&](const char* pattern, int calls, int gap) {
    Stats s = measure(x1, mode, xor_grain_bytes / 8, calls, gap);
    std::printf("xor_1MiB %s %.4f %.4f %.4f\n", pattern, s.median_ms, s.p95_ms, s.cpu_ms_per_call);
    s = measure(x16, mode, xor_grain_bytes / 8, std::max(10, calls / 8), gap);
    std::printf("xor_16MiB %s %.4f %.4f %.4f\n", pattern, s.median_ms, s.p95_ms, s.cpu_ms_per_call);
    s = measure(j, mode, julia_grain, calls, gap);
    std::printf("julia_200 %s %.4f %.4f %.4f\n", pattern, s.median_ms, s.p95_ms, s.cpu_ms_per_call);
    std::fflush(stdout);
  };
  all("b2b", b2b, 0);
  all("gap50ms", gaps, 50);
  pid_t spinner = start_spinner();
  all("loaded_b2b", b2b, 0);
  all("loaded_gap50ms", gaps, 50);
  stop_spinner(spinner);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "quick") == 0;
  // Grains: a chunk of ~kTargetChunkNanoseconds on this machine at its fastest (julia: ~7 us a
  // row; xor: ~27 us a MiB while in cache, ~100 us a MiB from memory).
  const std::ptrdiff_t julia_grain = argc > 2 ? std::atol(argv[2]) : 8;
  const std::ptrdiff_t xor_grain = argc > 3 ? std::atol(argv[3]) : 2 << 20;
  std::map<std::string, std::map<std::string, Stats>> table;  // "kernel pattern" -> mode -> stats
  std::vector<std::string> order;
  for (Mode mode : {Mode::kSerial, Mode::kOpenMP, Mode::kPool, Mode::kPoolNoBackOff}) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      run_mode(mode, quick, julia_grain, xor_grain);
      std::fflush(stdout);
      _exit(0);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    char kernel[64], pattern[64];
    Stats s{};
    while (std::fscanf(in, "%63s %63s %lf %lf %lf", kernel, pattern, &s.median_ms, &s.p95_ms,
                       &s.cpu_ms_per_call) == 5) {
      const std::string key = std::string(kernel) + " " + pattern;
      if (table.find(key) == table.end()) order.push_back(key);
      table[key][mode_name(mode)] = s;
    }
    fclose(in);
    waitpid(pid, nullptr, 0);
  }
  double load[1] = {0};
  getloadavg(load, 1);
  std::printf("load average at the end: %.2f; julia grain %td rows, xor grain %td bytes\n", load[0],
              julia_grain, xor_grain);
  std::printf("%-26s %-8s %9s %9s %7s %7s %9s\n", "kernel pattern", "mode", "median_ms", "p95_ms",
              "x_med", "x_p95", "cpu_ms/call");
  for (const auto& key : order) {
    const Stats base = table[key]["serial"];
    for (Mode mode : {Mode::kSerial, Mode::kOpenMP, Mode::kPool, Mode::kPoolNoBackOff}) {
      const Stats s = table[key][mode_name(mode)];
      std::printf("%-26s %-8s %9.3f %9.3f %7.2f %7.2f %9.3f\n", key.c_str(), mode_name(mode),
                  s.median_ms, s.p95_ms, s.median_ms / base.median_ms, s.p95_ms / base.p95_ms,
                  s.cpu_ms_per_call);
    }
  }
  return 0;
}
