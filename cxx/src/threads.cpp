#include "hotloop/threads.hpp"

namespace hotloop {

const char* simd_level() noexcept {
#if HOTLOOP_HAVE_CLONES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "baseline";
}

}  // namespace hotloop
