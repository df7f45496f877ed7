/* The C ABI used from C (C99, no C++ compiler involved): the header must be valid C and the
 * library must link into a C program. Exit status 0 on success. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hotloop_c.h"

static int failures = 0;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

int main(void) {
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  uint8_t data[7] = {0, 1, 2, 3, 4, 5, 6};
  uint8_t out[7];
  double x[4] = {1.0, 2.0, 3.0, 4.0};
  double roll[4];
  double grid[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  double next[9] = {0};
  double z[4] = {0.0, 0.0, 3.0, 0.0};
  double c[2] = {0.0, 0.0};
  int32_t counts[2];
  size_t i;

  CHECK(hotloop_abi_version() == HOTLOOP_C_ABI_VERSION);
  CHECK(strlen(hotloop_simd_level()) > 0);
  CHECK(hotloop_fib(20) == 6765u);
  CHECK(hotloop_fib_fast(HOTLOOP_FIB_MAX_N) == 12200160415121876738u);
  CHECK(hotloop_fib(-1) == UINT64_MAX);
  CHECK(hotloop_ws_mask(data, out, 7, key, 1) == HOTLOOP_OK);
  for (i = 0; i < 7; ++i) CHECK(out[i] == (uint8_t)(data[i] ^ key[(i + 1) % 4]));
  CHECK(hotloop_ws_mask(data, data + 1, 3, key, 0) == -HOTLOOP_EINVAL);
  CHECK(hotloop_mean(x, 4, 1) == 2.5);
  CHECK(hotloop_var(x, 4, 1, 0) == 1.25);
  CHECK(fabs(hotloop_std(x, 4, 1, 1) - sqrt(5.0 / 3.0)) < 1e-15);
  CHECK(isnan(hotloop_std(x, 0, 1, 0)));
  CHECK(hotloop_rolling_std(x, 4, 1, 2, 2, 0, roll, 1) == HOTLOOP_OK);
  CHECK(isnan(roll[0]) && roll[1] == 0.5 && roll[3] == 0.5);
  CHECK(hotloop_diffusion_step(grid, next, 3, 3, 1.0, 0.1) == HOTLOOP_OK);
  CHECK(fabs(next[4] - 0.6) < 1e-15 && next[0] == 0.0);
  CHECK(hotloop_julia(z, c, 0, counts, 2, 10) == HOTLOOP_OK);
  CHECK(counts[0] == 10 && counts[1] == 0);
  if (failures == 0) printf("ffi_smoke: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
