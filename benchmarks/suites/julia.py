"""Escape-time fractals: hotloop.julia and mandelbrot_grid against numba, NumPy and pure Python.

The reference case is the teaching material's: a 1000 x 1000 grid from -1.8 to 1.8 built by
repeated addition, c = -0.62772 - 0.42193j, maxiter 300 (33,219,980 updates in all). Every
contender computes the same counts: the squared-modulus test ``z.real**2 + z.imag**2 < 4`` and
plain IEEE arithmetic (numba without fastmath), so the results agree point for point.
"""

from __future__ import annotations

import hotloop
import numpy as np
from hotloop.reference import calculate_z as python_calculate_z
from hotloop.reference import teaching_case

from benchmarks.harness import Case, Contender, Unavailable, at_least

MAXITER = 300


def numpy_calculate_z(maxiter: int, zs: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Vectorised NumPy: iterate all live points at once, dropping those that escaped."""
    output = np.zeros(zs.shape, dtype=np.int32)
    idx = np.arange(zs.size)
    z = zs.copy()
    c = cs.copy()
    for _ in range(maxiter):
        keep = z.real * z.real + z.imag * z.imag < 4
        idx, z, c = idx[keep], z[keep], c[keep]
        if idx.size == 0:
            break
        output[idx] += 1
        z = z * z + c
    return output


def numba_versions():
    """numba's @njit and @njit(parallel=True) calculate_z, and a parallel Mandelbrot grid."""
    try:
        from numba import njit, prange
    except ImportError as exc:  # pragma: no cover - numba is in requirements-dev.txt
        raise Unavailable(f"numba is not installed ({exc})") from None

    def calculate_z(maxiter, zs, cs):
        # The teaching material's loop, compiled twice below: prange runs as range when numba
        # compiles without parallel=True, so both versions are this same code.
        output = np.empty(len(zs), np.int32)
        for i in prange(len(zs)):
            n = 0
            z = zs[i]
            c = cs[i]
            while n < maxiter and z.real * z.real + z.imag * z.imag < 4:
                z = z * z + c
                n += 1
            output[i] = n
        return output

    serial = njit(cache=False)(calculate_z)
    parallel = njit(parallel=True, cache=False)(calculate_z)

    @njit(parallel=True, cache=False)
    def mandelbrot(width, height, x0, x1, y0, y1, maxiter):
        out = np.empty((height, width), np.int32)
        dx = (x1 - x0) / width
        dy = (y1 - y0) / height
        for r in prange(height):
            y = y1 - (r + 0.5) * dy
            for j in range(width):
                c = complex(x0 + (j + 0.5) * dx, y)
                z = 0j
                n = 0
                while n < maxiter and z.real * z.real + z.imag * z.imag < 4:
                    z = z * z + c
                    n += 1
                out[r, j] = n
        return out

    return serial, parallel, mandelbrot


def cases(scale: str) -> list[Case]:
    serial, parallel, mandelbrot = numba_versions()
    width = 60 if scale == "quick" else 1000
    img = 100 if scale == "quick" else 1000

    def setup():
        zs, cs = teaching_case(width)
        return {"zs": np.array(zs), "cs": np.array(cs), "zs_list": zs, "cs_list": cs}

    arrays = lambda d: (d["zs"], d["cs"], MAXITER)  # noqa: E731
    numba_args = lambda d: (MAXITER, d["zs"], d["cs"])  # noqa: E731
    reference = [
        Case(
            f"julia reference case {width}x{width}, maxiter {MAXITER}",
            setup,
            [
                Contender(
                    "hotloop.julia, 1 thread",
                    hotloop.julia,
                    {"n_threads": 1},
                    args=arrays,
                    key="1 thread",
                ),
                Contender(
                    "hotloop.julia, 2 threads",
                    hotloop.julia,
                    {"n_threads": 2},
                    args=arrays,
                    key="2 threads",
                ),
            ],
            [
                Contender(
                    "numba @njit(parallel=True) prange",
                    parallel,
                    args=numba_args,
                    require={"2 threads": at_least(4)},
                ),
                Contender(
                    "numba @njit (serial)",
                    serial,
                    args=numba_args,
                    require={"1 thread": at_least(2)},
                ),
                Contender("NumPy vectorised", numpy_calculate_z, args=numba_args),
            ],
        ),
    ]
    if scale == "default":  # pure Python takes 5.5 s a call at full size
        return reference
    reference[0].anchors.append(
        Contender(
            "pure Python calculate_z (lists)",
            python_calculate_z,
            args=lambda d: (MAXITER, d["zs_list"], d["cs_list"]),
        )
    )
    return [
        *reference,
        Case(
            f"mandelbrot_grid {img}x{img}, maxiter {MAXITER}",
            lambda: (img, img),
            [
                Contender(
                    "hotloop.mandelbrot_grid, 1 thread",
                    hotloop.mandelbrot_grid,
                    {"n_threads": 1},
                    key="1 thread",
                ),
                Contender(
                    "hotloop.mandelbrot_grid, 2 threads",
                    hotloop.mandelbrot_grid,
                    {"n_threads": 2},
                    key="2 threads",
                ),
            ],
            [
                Contender(
                    "numba @njit(parallel=True) grid",
                    mandelbrot,
                    args=lambda d: (d[0], d[1], -2.0, 1.0, -1.5, 1.5, MAXITER),
                ),
            ],
        ),
    ]
