"""hotloop: fast, accurate compute kernels for NumPy.

C++ kernels, Cython wrappers that release the GIL, OpenMP threads. Every kernel is checked
against an independent reference; see the README and benchmarks/RESULTS.md.
"""

from hotloop import deviceapps, records
from hotloop._diffusion import diffuse, evolve
from hotloop._errors import HotloopError
from hotloop._fib import fib, fib_fast
from hotloop._julia import julia, julia_grid, mandelbrot_grid
from hotloop._moments import RunningStats, mean, nanmean, nanstd, nanvar, std, var
from hotloop._rolling import (
    move_argmax,
    move_argmin,
    move_max,
    move_mean,
    move_median,
    move_min,
    move_rank,
    move_std,
    move_sum,
    move_var,
    rolling_argmax,
    rolling_argmin,
    rolling_count,
    rolling_max,
    rolling_mean,
    rolling_median,
    rolling_min,
    rolling_quantile,
    rolling_rank,
    rolling_std,
    rolling_sum,
    rolling_var,
)
from hotloop._threads import effective_n_threads, openmp_enabled, simd_level
from hotloop._wsmask import ws_mask

__version__ = "0.1.0"

__all__ = [
    "HotloopError",
    "RunningStats",
    "deviceapps",
    "diffuse",
    "effective_n_threads",
    "evolve",
    "fib",
    "fib_fast",
    "julia",
    "julia_grid",
    "mandelbrot_grid",
    "mean",
    "move_argmax",
    "move_argmin",
    "move_max",
    "move_mean",
    "move_median",
    "move_min",
    "move_rank",
    "move_std",
    "move_sum",
    "move_var",
    "nanmean",
    "nanstd",
    "nanvar",
    "openmp_enabled",
    "records",
    "rolling_argmax",
    "rolling_argmin",
    "rolling_count",
    "rolling_max",
    "rolling_mean",
    "rolling_median",
    "rolling_min",
    "rolling_quantile",
    "rolling_rank",
    "rolling_std",
    "rolling_sum",
    "rolling_var",
    "show_config",
    "simd_level",
    "std",
    "var",
    "ws_mask",
]


def show_config() -> dict:
    """Return (and print) how this hotloop was built and what it uses on this machine."""
    import numpy

    info = {
        "hotloop": __version__,
        "numpy": numpy.__version__,
        "openmp": openmp_enabled(),
        "threads (n_threads=None)": effective_n_threads(None),
        "simd": simd_level(),
    }
    for key, value in info.items():
        print(f"{key:>26}: {value}")
    return info
