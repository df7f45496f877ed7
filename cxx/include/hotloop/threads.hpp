// Build-time and run-time facts shared by every kernel family.
//
// No Python, no NumPy: this header is included by the C++ tests, the benchmarks and (through
// Cython) the extension modules alike.
#pragma once

#include <cstddef>

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

// The widest instruction set the multiversioned kernels use on this CPU:
// "avx512f", "avx2" or "baseline" ("baseline" also when built without multiversioning).
const char* simd_level() noexcept;

}  // namespace hotloop
