// Native SIMD vectors (GCC vector extensions) and per-instruction-set function versions, for the
// kernels whose vector width must match the target's registers (julia.cpp, diffusion.cpp).
//
// Why not HOTLOOP_CLONES alone: target_clones compiles one body several times, so its vector
// types have one width for every clone. GCC 12 lowers a comparison of vectors wider than the
// target's registers to scalar code, and a shuffle across lanes loses its single-instruction
// form. HOTLOOP_ISA_VERSIONS instead defines one body per instruction set (GCC function
// multiversioning in C++: the loader picks the version for the CPU at run time, as with
// target_clones), each instantiating the kernel with the native width: 512 bits with AVX-512,
// 256 with AVX2, 128 with baseline x86-64 (SSE2). Arithmetic is the same IEEE operations in the
// same order on each width.
#pragma once

#include <cstring>
#include <type_traits>

#include "hotloop/threads.hpp"

namespace hotloop::detail {

template <class T, int Bits>
struct SimdOf {
  // T __attribute__((vector_size(Bits / 8))), and the integer vector of the same lane count
  // that comparisons of it return.
  typedef T type __attribute__((vector_size(Bits / 8)));
  using lane_int = std::conditional_t<sizeof(T) == 8, long long, int>;
  typedef lane_int mask __attribute__((vector_size(Bits / 8)));
  static constexpr int lanes = Bits / 8 / static_cast<int>(sizeof(T));
};

template <class V>
HOTLOOP_INLINE V load_vec(const void* p) noexcept {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class V>
HOTLOOP_INLINE void store_vec(void* p, V v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

// Every lane x, in one broadcast instruction: lane 0 set, then copied to every lane by a shuffle
// (pure data movement, so every x, -0 and NaN included, comes through unchanged). Filling the
// lanes one by one (v[k] = x), or the vector expression x - V{}, compiles with GCC 12 to one
// masked insert per lane when the code is inlined into an AVX-512 version.
template <class V, class T>
HOTLOOP_INLINE V broadcast(T x) noexcept {
  using I = typename SimdOf<T, static_cast<int>(sizeof(V) * 8)>::mask;
  V v{};
  v[0] = x;
  return __builtin_shuffle(v, I{});
}

// Whether eight doubles fill one register: the AVX-512 version of a HOTLOOP_CLONES function
// runs (the CPU has AVX-512F exactly when it does), or a single build for AVX-512. Elsewhere a
// vector of eight doubles is two or four registers, and GCC 12 keeps one that a loop carries in
// memory, moves it through general registers lane by lane and compares it lane by lane with
// branches (measured on the AVX2 version, n = 1e6: rolling_sum 3.4 ns per output against 0.8
// with AVX-512, windows of 2 to 6 values 6 to 30 ns). Code that carries such vectors through a
// loop runs only where this holds, or has a form for the narrower registers.
HOTLOOP_INLINE bool eight_wide() noexcept {
#if HOTLOOP_HAVE_CLONES
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  return avx512;
#elif defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}

}  // namespace hotloop::detail

// HOTLOOP_ISA_VERSIONS(SIGNATURE, BODY) defines the function SIGNATURE once per instruction set,
// each with the body BODY(bits), bits being the vector width to use (512, 256 or 128). Without
// multiversioning (another compiler, HOTLOOP_NO_MULTIVERSION) one version is compiled, for the
// widest vectors the compile flags allow.
// GCC dispatches between the versions only in calls made in the file that defines them (a caller
// in another file binds to the default version): define them in an anonymous namespace and call
// them from the family's entry point, in the same file. HOTLOOP_CLONES (target_clones) has no
// such limit: its function, template or not, may itself be the entry point.
#if HOTLOOP_HAVE_CLONES
#define HOTLOOP_ISA_VERSIONS(SIGNATURE, BODY)                \
  __attribute__((target("avx512f"))) SIGNATURE { BODY(512) } \
  __attribute__((target("avx2"))) SIGNATURE { BODY(256) }    \
  __attribute__((target("default"))) SIGNATURE { BODY(128) }
#elif defined(__AVX512F__)
#define HOTLOOP_ISA_VERSIONS(SIGNATURE, BODY) \
  SIGNATURE { BODY(512) }
#elif defined(__AVX__)
#define HOTLOOP_ISA_VERSIONS(SIGNATURE, BODY) \
  SIGNATURE { BODY(256) }
#else
#define HOTLOOP_ISA_VERSIONS(SIGNATURE, BODY) \
  SIGNATURE { BODY(128) }
#endif
