"""FFI family: what a call costs through Cython, ctypes, cffi and pure Python, on the same kernel.

The lesson's question: when is calling compiled code through ctypes or cffi good enough? The
same C++ kernels are called
  * through hotloop's Cython wrappers (hotloop.fib, hotloop.std, hotloop.evolve),
  * through ctypes: hotloop.ffi's wrappers (argument checks in Python, then the call) and the
    raw ctypes function (ffi.lib, argtypes declared, arrays as ndpointer),
  * through cffi in ABI mode (ffi.dlopen of the same library, arrays via ffi.from_buffer),
  * and the same computation in pure Python (and NumPy where a user would use it),
for a tiny call (fib(1), the std of 4 numbers), where the call is all there is, and a large one
(one diffusion step on a 512 x 512 grid), where it vanishes. Speed-up = the other's time /
Cython's time; the medians are the per-call costs.
"""

from __future__ import annotations

import importlib.metadata
import math

import hotloop
import numpy as np
from hotloop import ffi

from benchmarks.harness import Case, Contender

SEED = 20240605


def python_fib(n: int) -> int:
    return n if n < 2 else python_fib(n - 1) + python_fib(n - 2)


def python_std(values: list[float]) -> float:
    m = sum(values) / len(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def python_evolve(grid: list[list[float]], D: float, dt: float) -> list[list[float]]:
    """The teaching material's pure-Python step on lists of lists (fixed edges)."""
    ny, nx = len(grid), len(grid[0])
    coef = D * dt
    out = [row[:] for row in grid]
    for i in range(1, ny - 1):
        up, row, down, new = grid[i - 1], grid[i], grid[i + 1], out[i]
        for j in range(1, nx - 1):
            lap = down[j] + up[j] + row[j + 1] + row[j - 1] - 4 * row[j]
            new[j] = row[j] + coef * lap
    return out


def numpy_evolve(grid: np.ndarray, out: np.ndarray, D: float, dt: float) -> np.ndarray:
    """The NumPy slicing version of the same step."""
    lap = grid[2:, 1:-1] + grid[:-2, 1:-1] + grid[1:-1, 2:] + grid[1:-1, :-2] - 4 * grid[1:-1, 1:-1]
    out[1:-1, 1:-1] = grid[1:-1, 1:-1] + (D * dt) * lap
    return out


def cffi_contenders(make):
    """cffi rows when cffi is installed: make(cf, lib) -> list of contenders."""
    try:
        cf, lib = ffi.open_cffi()
    except ImportError:
        return []
    return make(cf, lib, f"cffi {importlib.metadata.version('cffi')} ABI mode")


def fib_case() -> Case:
    anchors = [
        Contender("ctypes: hotloop.ffi.fib (checks + call)", ffi.fib),
        Contender("ctypes: raw ffi.lib.hotloop_fib", ffi.lib.hotloop_fib),
        *cffi_contenders(
            lambda cf, lib, name: [Contender(f"{name}: lib.hotloop_fib", lib.hotloop_fib)]
        ),
        Contender("pure-Python recursion", python_fib),
    ]
    return Case(
        "fib(1): one tiny call", lambda: 1, Contender("Cython: hotloop.fib", hotloop.fib), anchors
    )


def std_case() -> Case:
    def setup():
        x = np.random.default_rng(SEED).standard_normal(4)
        return x, x.tolist()

    def cffi_rows(cf, lib, name):
        def call(x):
            return lib.hotloop_std(cf.from_buffer("double[]", x), 4, 1, 0)

        return [Contender(f"{name}: from_buffer + call", call, args=lambda d: (d[0],))]

    anchors = [
        Contender("ctypes: hotloop.ffi.std (checks + call)", ffi.std, args=lambda d: (d[0],)),
        Contender(
            "ctypes: raw ffi.lib.hotloop_std (ndpointer)",
            ffi.lib.hotloop_std,
            args=lambda d: (d[0], 4, 1, 0),
        ),
        *cffi_contenders(cffi_rows),
        Contender("pure Python on a list", python_std, args=lambda d: (d[1],)),
        Contender("np.std(x)", np.std, args=lambda d: (d[0],)),
    ]
    return Case(
        "std of 4 numbers: one tiny call",
        setup,
        Contender("Cython: hotloop.std(x)", hotloop.std, args=lambda d: (d[0],)),
        anchors,
    )


def diffusion_case(n: int) -> Case:
    D, dt = 1.0, 0.1

    def setup():
        grid = np.random.default_rng(SEED).random((n, n))
        return grid, grid.copy(), grid.tolist()  # out starts as grid: same edges

    def cffi_rows(cf, lib, name):
        def call(grid, out):
            lib.hotloop_diffusion_step(
                cf.from_buffer("double[]", grid), cf.from_buffer("double[]", out), n, n, D, dt
            )
            return out

        return [Contender(f"{name}: from_buffer + call", call, args=lambda d: d[:2])]

    def raw_ctypes(grid, out):
        ffi.lib.hotloop_diffusion_step(grid, out, n, n, D, dt)
        return out

    anchors = [
        Contender(
            "ctypes: hotloop.ffi.evolve (checks + call)",
            ffi.evolve,
            {"D": D, "dt": dt},
            args=lambda d: d[:2],
        ),
        Contender("ctypes: raw ffi.lib.hotloop_diffusion_step", raw_ctypes, args=lambda d: d[:2]),
        *cffi_contenders(cffi_rows),
        Contender("NumPy slicing", numpy_evolve, {"D": D, "dt": dt}, args=lambda d: d[:2]),
        Contender(
            "pure Python (lists of lists)",
            python_evolve,
            {"D": D, "dt": dt},
            args=lambda d: (d[2],),
        ),
    ]
    return Case(
        f"one diffusion step {n}x{n}: a large call",
        setup,
        Contender(
            "Cython: hotloop.evolve", hotloop.evolve, {"D": D, "dt": dt}, args=lambda d: d[:2]
        ),
        anchors,
    )


def cases(scale: str) -> list[Case]:
    large = diffusion_case(64 if scale == "quick" else 512)
    # The default run keeps the two ends of the lesson: the tiny call and the large one.
    return [fib_case(), large] if scale == "default" else [fib_case(), std_case(), large]
