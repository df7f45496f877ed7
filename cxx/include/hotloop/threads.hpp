// Build-time and run-time facts shared by every kernel family.
//
// No Python, no NumPy: this header is included by the C++ tests, the benchmarks and (through
// Cython) the extension modules alike.
#pragma once

#include <cstddef>
#include <type_traits>

#include "hotloop/detail/pool.hpp"

// Run-time SIMD dispatch. A function marked HOTLOOP_CLONES is compiled several times (AVX-512,
// AVX2, baseline x86-64) and the loader picks the best one for the CPU it runs on (GCC function
// multiversioning through an ifunc resolver). The binary therefore needs no -march=native and
// still runs on any x86-64. Only non-inline functions defined in cxx/src/*.cpp carry it.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(HOTLOOP_NO_MULTIVERSION)
#define HOTLOOP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define HOTLOOP_HAVE_CLONES 1
#else
#define HOTLOOP_CLONES
#define HOTLOOP_HAVE_CLONES 0
#endif

#if defined(__GNUC__)
#define HOTLOOP_INLINE inline __attribute__((always_inline))
#else
#define HOTLOOP_INLINE inline
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

namespace hotloop {

// Whether the translation unit that includes this header was compiled with OpenMP. Inline on
// purpose: each extension module answers for its own compile flags.
inline bool openmp_enabled() noexcept {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

// omp_get_max_threads() (honours OMP_NUM_THREADS), or 1 without OpenMP.
inline int openmp_max_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// omp_get_num_threads(): the threads of the current parallel region's team (1 outside one), or 1
// without OpenMP.
inline int openmp_team_size() noexcept {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// omp_get_thread_num(): this thread's number in the current team (0 outside a parallel region), or
// 0 without OpenMP.
inline int openmp_thread_num() noexcept {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Runs fn(ctx, begin, end) over the tasks [0, n_tasks) on up to max_threads threads: the calling
// thread and at most max_threads - 1 helpers of a process-wide pool. Returns when every task has
// run exactly once; everything fn wrote is then visible to the caller.
//
// Chunks: fn is called once per chunk [c * grain, min((c + 1) * grain, n_tasks)), c = 0, 1, ...
// whatever the number of threads, so per-chunk results (partial sums) do not depend on it. Which
// thread runs a chunk, and in what order, is unspecified.
//
// Choosing grain: make one chunk about kTargetChunkNanoseconds of work. The caller waits for a
// chunk a helper has claimed, so a chunk bounds that wait while the helper runs (if the helper's
// CPU is taken away mid-chunk the caller waits for the scheduler: smaller chunks make it rarer);
// and no helper is woken when all the work is one chunk (n_tasks <= grain), since the wake-up
// costs the caller a system call and the helper often arrives after the work is done.
//
// Threads: max_threads <= 1, or n_tasks <= grain, runs every chunk in order on the caller, with
// no pool, no thread and no allocation. Otherwise helpers are started on first need and kept
// parked; at most min(max_threads, max_pool_threads()) threads work on one call. A helper busy
// with another call (another thread's, or an enclosing parallel_for's) is not waited for: the
// call proceeds with the idle ones, or alone. Calls may nest and may come from many threads at
// once. In the child of fork() the first call starts a new pool: the parent's helpers are not
// waited for.
//
// Pass max_threads from the thread-count helper (Python's effective_n_threads, which reads
// omp_get_max_threads() and so honours OMP_NUM_THREADS and threadpoolctl); this function never
// reads or changes OpenMP's settings.
//
// fn must not throw: an exception leaving fn ends the process (std::terminate), on the caller's
// thread as on a helper's. ctx is passed through untouched; fn reads and writes through it.
void parallel_for(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                  std::ptrdiff_t grain) noexcept;

// The same, for kernels that poll `interrupt` (Ctrl-C): while the caller waits for its helpers'
// chunks it polls it too (every 20 ms), so that the owner's check runs and the helpers' kernels
// see the stop. Chunks not yet started when the stop is seen are still handed to fn, which
// should return at once (fn polls the same Interrupt). interrupt may be null.
void parallel_for(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                  std::ptrdiff_t grain, Interrupt* interrupt) noexcept;

// The same with a callable body(begin, end), e.g. a lambda capturing the kernel's arguments.
template <class Body>
void parallel_for(std::ptrdiff_t n_tasks, int max_threads, std::ptrdiff_t grain, Body&& body,
                  Interrupt* interrupt = nullptr) noexcept {
  parallel_for(n_tasks, max_threads, detail::call_body<std::remove_reference_t<Body>>,
               detail::body_context(body), grain, interrupt);
}

// One pool per process. hotloop's extension modules are separate shared objects, each with its
// own copy of every function it links; were each to link the pool, a process would hold one
// pool per module (threads that cannot see each other's work, and n_threads that no longer
// bounds the process). So only hotloop._threads (and the C ABI library) link threads.cpp; every
// other module links threads_client.cpp, whose parallel_for calls through a pointer installed
// when the module is imported: parallel_for_entry() of hotloop._threads, handed over in a
// PyCapsule (the way NumPy hands its C API to extensions). Before install_parallel_for() is
// called, a client's parallel_for runs serially: correct, never parallel.
using ParallelForFn = void (*)(std::ptrdiff_t n_tasks, int max_threads, TaskFn fn, void* ctx,
                               std::ptrdiff_t grain, Interrupt* interrupt) noexcept;

// The address of this binary's parallel_for (defined next to the pool, in threads.cpp).
ParallelForFn parallel_for_entry() noexcept;

// In a client module (threads_client.cpp): forward parallel_for to `fn` (the pool's entry).
void install_parallel_for(ParallelForFn fn) noexcept;

// The most threads (caller included) one parallel_for uses, whatever max_threads asks for: the
// CPUs this process may run on (its affinity mask, read when the pool is made), at most 256. More
// threads than CPUs would only take turns on them. Not a setting: it never changes OpenMP's.
int max_pool_threads() noexcept;

// CPUs this process may run on now (its affinity mask, at least 1), read again at most every
// 100 ms: the system call took as long as a whole rolling mean of 100 values, and a count a
// moment old only steers how many threads a call uses, never its result.
int recent_usable_cpus() noexcept;

// The work one chunk should be (see parallel_for), measured by cxx/bench/threads_benchmark on the
// 2-vCPU VM: waking a parked helper costs the caller ~5 us (futex system call), so a call of two
// chunks loses at most 5% if the helper never arrives; and the caller's final wait for a chunk a
// running helper claimed is at most one chunk. Woken helpers took 0.1-0.3 ms to arrive on the
// (busy) VM: work much under a millisecond mostly runs on the caller anyway.
inline constexpr long kTargetChunkNanoseconds = 50'000;

// The widest instruction set the multiversioned kernels use on this CPU:
// "avx512f", "avx2" or "baseline" ("baseline" also when built without multiversioning).
const char* simd_level() noexcept;

}  // namespace hotloop
