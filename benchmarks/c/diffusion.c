/* The "plain C version" of the 2-D diffusion step, as the teaching material writes it (one step
 * per call, the grid as a 2-D array), with the grid size a run-time parameter (C99 variably
 * modified array parameters: the same indexing as its fixed GRID_SIZE arrays).
 *
 * Built at run time by benchmarks/suites/diffusion.py and tests/test_diffusion.py:
 *     gcc -O3 -shared -fPIC diffusion.c -o libdiffusion.so
 * and called through ctypes, one call per step. */

void evolve(int ny, int nx, double in[ny][nx], double out[ny][nx], double D, double dt) {
  int i, j;
  double laplacian;
  for (i = 1; i < ny - 1; i++) {
    for (j = 1; j < nx - 1; j++) {
      laplacian = in[i + 1][j] + in[i - 1][j] + in[i][j + 1] + in[i][j - 1] - 4 * in[i][j];
      out[i][j] = in[i][j] + D * dt * laplacian;
    }
  }
}
