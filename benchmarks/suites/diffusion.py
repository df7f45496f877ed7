"""The 2-D diffusion stencil: hotloop.diffuse against the plain C version, numba and NumPy.

The start grid is the teaching material's: zeros with the block [0.4N:0.5N, 0.4N:0.5N] = 0.005,
D = 1, dt = 0.1, fixed edges. The plain C version is the teaching material's C function
(benchmarks/c/diffusion.c), compiled here with ``gcc -O3`` into a temporary directory and called
through ctypes once per step, as the teaching material does. The numba versions run the whole
loop of steps inside one compiled function (the faster way to use numba), the parallel one with
``prange`` over the rows.
"""

from __future__ import annotations

import atexit
import ctypes
import shutil
import subprocess
import tempfile
from pathlib import Path

import hotloop
import numpy as np
from hotloop.reference import diffuse_roll

from benchmarks.harness import Accuracy, Case, Contender, Unavailable, at_least, at_most

C_SOURCE = Path(__file__).resolve().parent.parent / "c" / "diffusion.c"
D, DT = 1.0, 0.1


def start_grid(n: int) -> np.ndarray:
    grid = np.zeros((n, n))
    block = slice(int(n * 0.4), int(n * 0.5))
    grid[block, block] = 0.005
    return grid


def build_c_evolve():
    """The teaching material's C `evolve`, built with gcc -O3, as a ctypes function."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise Unavailable("no C compiler (gcc) for the plain C version")
    tmp = Path(tempfile.mkdtemp(prefix="hotloop-stencil-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    lib = tmp / "libdiffusion.so"
    subprocess.run([cc, "-O3", "-shared", "-fPIC", str(C_SOURCE), "-o", str(lib)], check=True)
    fn = ctypes.CDLL(str(lib)).evolve
    fn.restype = None
    fn.argtypes = [
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_double,
        ctypes.c_double,
    ]
    return fn


def c_runner(evolve):
    def run_c(grid: np.ndarray, steps: int) -> np.ndarray:
        """One ctypes call per step, swapping the two buffers (pointers taken once)."""
        a = grid.copy()
        b = grid.copy()
        ny, nx = grid.shape
        pa, pb = a.ctypes.data, b.ctypes.data
        for _ in range(steps):
            evolve(ny, nx, pa, pb, D, DT)
            pa, pb = pb, pa
        return a if pa == a.ctypes.data else b

    return run_c


def numpy_slicing(grid: np.ndarray, steps: int) -> np.ndarray:
    """NumPy slicing, preallocated buffers (the fixed-boundary update of the interior)."""
    a = grid.copy()
    b = grid.copy()
    coef = D * DT
    for _ in range(steps):
        b[1:-1, 1:-1] = a[1:-1, 1:-1] + coef * (
            a[2:, 1:-1] + a[:-2, 1:-1] + a[1:-1, 2:] + a[1:-1, :-2] - 4 * a[1:-1, 1:-1]
        )
        a, b = b, a
    return a


# The teaching material's np.roll version, with its D = 1 and dt = 0.1 as defaults.
numpy_roll = diffuse_roll


def numba_versions():
    try:
        from numba import njit, prange
    except ImportError as exc:  # pragma: no cover - numba is in requirements-dev.txt
        raise Unavailable(f"numba is not installed ({exc})") from None

    def evolve_steps(grid, steps):
        # One loop, compiled twice below: prange runs as range when numba compiles without
        # parallel=True, so the serial version is the same code on one thread.
        a = grid.copy()
        b = grid.copy()
        ny, nx = a.shape
        coef = D * DT
        for _ in range(steps):
            for i in prange(1, ny - 1):
                for j in range(1, nx - 1):
                    b[i, j] = a[i, j] + coef * (
                        a[i + 1, j] + a[i - 1, j] + a[i, j + 1] + a[i, j - 1] - 4 * a[i, j]
                    )
            a, b = b, a
        return a

    parallel = njit(parallel=True)(evolve_steps)
    serial = njit(evolve_steps)

    return serial, parallel


def dense_grid(n: int) -> np.ndarray:
    """A warm grid everywhere (uniform in [0, 1), fixed seed): no tile is cold, so none is
    skipped; what diffuse costs when the heat is everywhere."""
    return np.random.default_rng(7).random((n, n))


def diffuse_case(
    n: int,
    steps: int,
    anchors: list[Contender],
    require: bool,
    grid=start_grid,
    what: str = "fixed edges",
) -> Case:
    subjects = [
        Contender(
            f"hotloop.diffuse, {nt} thread{'s' if nt > 1 else ''}",
            hotloop.diffuse,
            {"n_threads": nt},
            key=f"{nt} thread{'s' if nt > 1 else ''}",
        )
        for nt in (1, 2)
    ]
    if not require:
        anchors = [Contender(a.label, a.fn, a.kwargs, args=a.args, note=a.note) for a in anchors]
    return Case(
        f"diffuse {n}x{n}, {steps} steps ({what})",
        lambda: (grid(n), steps),
        subjects,
        anchors,
    )


def cases(scale: str) -> list[Case | Accuracy]:
    serial, parallel = numba_versions()
    run_c = c_runner(build_c_evolve())
    n_small, n_large, steps = (64, 128, 20) if scale == "quick" else (512, 2048, 500)
    anchors = [
        Contender(
            "plain C (gcc -O3), ctypes, 1 call per step",
            run_c,
            require={"2 threads": at_least(2)},
        ),
        Contender(
            "numba @njit(parallel=True), prange rows",
            parallel,
            require={"2 threads": at_least(3)},
        ),
        Contender("numba @njit (serial)", serial),
        Contender("NumPy slicing", numpy_slicing, require={"2 threads": at_least(10)}),
    ]
    headline = diffuse_case(n_small, steps, anchors, require=True)
    against_c = Accuracy(
        f"diffusion {n_small}x{n_small}, {steps} steps, against the plain C version",
        lambda: (start_grid(n_small), steps),
        Contender("plain C (gcc -O3)", run_c),
        [
            Contender("hotloop.diffuse", hotloop.diffuse, require=at_most(0.0)),
            Contender("numba @njit(parallel=True)", parallel),
            Contender("NumPy slicing", numpy_slicing),
        ],
    )
    if scale == "default":
        return [headline, against_c]
    return [
        headline,
        # NumPy would take about 10 s per call here: left out to keep the showcase short.
        diffuse_case(n_large, steps, anchors[:3], require=False),
        # The teaching grid is cold outside the block, and diffuse skips cold tiles until the
        # heat reaches them: the same run on a grid that is warm everywhere.
        diffuse_case(
            n_small, steps, anchors[:3], require=False, grid=dense_grid, what="fixed, dense grid"
        ),
        Case(
            f"diffuse {n_small}x{n_small}, {steps} steps (periodic)",
            lambda: (start_grid(n_small), steps),
            [
                Contender(
                    "hotloop.diffuse periodic, 2 threads",
                    hotloop.diffuse,
                    {"n_threads": 2, "boundary": "periodic"},
                    key="2 threads",
                )
            ],
            [Contender("NumPy np.roll (teaching material)", numpy_roll)],
        ),
        against_c,
        Accuracy(
            f"diffusion {n_small}x{n_small}, {steps} steps, periodic, against NumPy np.roll",
            lambda: (start_grid(n_small), steps),
            Contender("NumPy np.roll (teaching material)", numpy_roll),
            [
                Contender(
                    "hotloop.diffuse periodic",
                    hotloop.diffuse,
                    {"boundary": "periodic"},
                    require=at_most(1e-12),
                ),
            ],
        ),
    ]
